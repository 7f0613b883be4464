"""Covering a talk from its livestream, end to end: a live HLS stream made by ffmpeg from the test recording and
served on loopback, a real Daphne, and `manage.py follow_streams` as its own process with the offline recognizer.
The studio's follow socket gets the follow's states and its transcript; segments are stored and the audio
archived as the microphone's are; a dropped source is retried and said so; Stop and a follower's restart work."""

import re
import sys

import httpx
import pytest
from django.conf import settings

from events.models import Event
from tests.support.audio import REAL_RECORDING
from tests.support.emulators.studio import session_cookie
from tests.support.netclients import Socket, StudioSocket
from tests.support.processes import Process, child_env, start_daphne, wait_until
from tests.support.streams import FileServer, LiveHls
from transcription.archive.audio import archived_frames
from transcription.models import Segment, StreamFollow, StreamSession

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]

# Quick to notice a drop and to retry; loopback allowed (the test's stream is on 127.0.0.1).
FOLLOW_ENV = {
    "STREAM_FOLLOW_ALLOW_PRIVATE": "true",
    "STREAM_FOLLOW_STALL_SECONDS": "15",
    "STREAM_FOLLOW_BACKOFF_SECONDS": "0.5",
    "STREAM_FOLLOW_CLAIM_SECONDS": "6",
    "STREAM_FOLLOW_POLL_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hls")
    with LiveHls(REAL_RECORDING, folder), FileServer(folder) as server:
        yield server


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    """The audio archive of this module's processes, and of the test reading it."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _archive_in_media_root(settings, media_root):
    settings.MEDIA_ROOT = media_root


@pytest.fixture(scope="module")
def daphne(django_db_setup, media_root):
    process, port = start_daphne(**FOLLOW_ENV, MEDIA_ROOT=str(media_root))
    yield process, f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


def start_follower(name: str) -> Process:
    env = child_env(**FOLLOW_ENV, MEDIA_ROOT=str(settings.MEDIA_ROOT))
    return Process(name, [sys.executable, "manage.py", "follow_streams", "--name", name], env)


@pytest.fixture
def follower(_archive_in_media_root):
    process = start_follower("follower-a")
    yield process
    process.stop()
    process.assert_no_traceback()


class Studio:
    """The studio page's requests, over HTTP to the real Daphne, as the journalist."""

    def __init__(self, base: str, slug: str, journalist):
        self.base, self.slug = base, slug
        self.cookie = session_cookie(journalist)
        self.http = httpx.Client(base_url=base, cookies={settings.SESSION_COOKIE_NAME: self.cookie}, timeout=90)
        page = self.http.get(f"/studio/{slug}/")
        assert 'id="follow-form"' in page.text
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]

    def post(self, path: str, **data) -> httpx.Response:
        return self.http.post(f"/studio/{self.slug}/{path}", data={"csrfmiddlewaretoken": self.token, **data})

    def socket(self) -> Socket:
        ws = self.base.replace("http://", "ws://") + f"/ws/studio/{self.slug}/follow/"
        return Socket(ws, origin=self.base, cookie=self.cookie)


def after(socket: Socket, predicate):
    """A predicate for the messages that arrive from now on."""
    before = {id(message) for message in socket.messages}
    return lambda message: id(message) not in before and predicate(message)


def follow_is(status: str):
    return lambda message: message["type"] == "follow" and message["status"] == status


def is_final(message: dict) -> bool:
    return message["type"] == "transcript" and message["is_final"]


def test_a_journalist_follows_a_livestream_the_page_gets_its_transcript_a_drop_is_retried_and_stop_ends_it(
    stream, daphne, follower, event, journalist
):
    web, base = daphne
    studio = Studio(base, event.slug, journalist)
    page = studio.socket()

    answer = studio.post("follow/", url=f"{stream.url}/live.m3u8")
    assert answer.status_code == 201, answer.text
    page.wait_for(follow_is("starting"))
    live = page.wait_for(follow_is("live"), timeout=90)
    page.wait_for(is_final, timeout=120)

    follow = StreamFollow.objects.get()
    session = StreamSession.objects.get()
    assert follow.session == session and live["session"] == session.pk
    assert (session.provider, session.journalist) == ("offline", journalist)
    assert session.status in ("live", "paused")  # paused while a retry waits, if the loaded machine starved ffmpeg
    stored = list(Segment.objects.filter(session=session).order_by("sequence"))
    assert stored, "the finals shown are stored"
    shown = [m for m in page.messages if is_final(m)]
    assert [(m["segment"], m["text"]) for m in shown] == [(s.pk, s.text) for s in stored[: len(shown)]]

    # One stream per journalist and event: the microphone is refused while the follow runs.
    microphone = StudioSocket(base, event.slug, cookie=studio.cookie)
    assert microphone.start()["code"] == "concurrent_stream"
    microphone.close()

    # The source drops: the follower retries with backoff and says so, then goes on when it is back.
    stream.drop()
    retrying = page.wait_for(after(page, follow_is("retrying")), timeout=90)
    assert retrying["attempts"] >= 1 and "The stream dropped" in retrying["detail"]
    assert re.search(r"Trying again in \d+ s \(attempt \d+ of 10\)", retrying["detail"]), retrying["detail"]
    assert StreamFollow.objects.get().status == "retrying"
    stream.restore()
    back = page.wait_for(after(page, follow_is("live")), timeout=120)
    assert (back["attempts"], back["detail"]) == (0, "")
    page.wait_for(after(page, is_final), timeout=120)
    assert StreamSession.objects.get().pk == session.pk, "the same session goes on after a drop"

    # Stop: the last words are stored, the session ends and its audio is archived.
    stopping = studio.post("follow/stop/")
    assert stopping.status_code == 200 and stopping.json()["follow"]["stopping"] is True
    page.wait_for(follow_is("stopped"), timeout=180)
    session.refresh_from_db()
    assert session.status == StreamSession.Status.ENDED and session.ended_at is not None
    assert session.audio_seconds > 2
    archived = archived_frames(session.pk) / 16000
    assert abs(archived - session.audio_seconds) < 0.5, "the followed audio is archived as the microphone's is"
    finals = {m["segment"] for m in page.messages if is_final(m)}
    assert finals == set(Segment.objects.filter(session=session).values_list("pk", flat=True))
    follow.refresh_from_db()
    assert (follow.status, follow.worker, follow.ended_at is not None) == ("stopped", "", True)
    page.close()

    # Following again starts a new session; the stream is taken back up where it is now.
    assert studio.post("follow/", url=f"{stream.url}/live.m3u8").status_code == 201
    wait_until(lambda: StreamFollow.objects.filter(status="live").exists(), 90, follower, web, what="a new follow")
    assert StreamSession.objects.count() == 2
    assert studio.post("follow/stop/").status_code == 200
    wait_until(lambda: StreamFollow.objects.filter(status="live").count() == 0, 180, follower, what="the stop")
    assert "Traceback" not in follower.output()


def test_a_follow_outlives_its_follower_and_resumes_its_session(stream, daphne, event, journalist):
    _web, base = daphne
    studio = Studio(base, event.slug, journalist)
    page = studio.socket()
    first = start_follower("follower-b")
    try:
        assert studio.post("follow/", url=f"{stream.url}/live.m3u8").status_code == 201
        page.wait_for(follow_is("live"), timeout=90)
        session = StreamFollow.objects.get().session
        assert session is not None

        # Stopped (a deploy): the follow is handed back, its session kept open, and the next follower resumes it.
        first.stop(timeout=120)  # its relay stores every final of the audio it had first
        assert first.popen.returncode == 0, first.output()
        handed = StreamFollow.objects.get()
        assert (handed.status, handed.worker, handed.detail) == ("retrying", "", "The follower restarted; resuming…")
        assert StreamSession.objects.get(pk=session.pk).status == StreamSession.Status.PAUSED
        second = start_follower("follower-c")
        try:
            page.wait_for(after(page, follow_is("live")), timeout=90)
            resumed = StreamFollow.objects.get()
            assert (resumed.worker, resumed.session_id) == ("follower-c", session.pk)
            assert StreamSession.objects.get(pk=session.pk).reconnects >= 1

            # Killed outright: its claim lapses and another follower takes the same session up.
            second.kill()
            third = start_follower("follower-d")
            try:
                orphaned = after(page, lambda m: follow_is("retrying")(m) and "stopped answering" in m["detail"])
                assert page.wait_for(orphaned, timeout=90)["detail"] == "Its follower stopped answering; resuming…"
                page.wait_for(after(page, follow_is("live")), timeout=90)
                assert StreamFollow.objects.get().worker == "follower-d"
                assert StreamFollow.objects.get().session_id == session.pk
                assert StreamSession.objects.count() == 1

                # The event ends: the follow stops and says why.
                Event.objects.get(pk=event.pk).end()
                ended = page.wait_for(follow_is("stopped"), timeout=180)
                assert ended["detail"] == "The event has ended."
                assert StreamSession.objects.get(pk=session.pk).status == StreamSession.Status.ENDED
            finally:
                third.stop()
                third.assert_no_traceback()
        finally:
            second.stop()
    finally:
        first.stop()
        first.assert_no_traceback()
        page.close()


@pytest.mark.scaleout
def test_over_redis_the_page_also_gets_what_is_never_stored(stream, daphne, follower, event, journalist):
    """With Redis the follower's relay reaches the page directly: interim results and the relay's status,
    besides the follow's states and the finals read from PostgreSQL."""
    _web, base = daphne
    studio = Studio(base, event.slug, journalist)
    page = studio.socket()
    assert studio.post("follow/", url=f"{stream.url}/live.m3u8").status_code == 201
    page.wait_for(follow_is("live"), timeout=90)
    status = page.wait_for(lambda m: m["type"] == "status", timeout=90)
    assert (status["provider"], status["state"]) == ("offline", "live")
    page.wait_for(lambda m: m["type"] == "transcript" and not m["is_final"], timeout=120)
    final = page.wait_for(is_final, timeout=120)
    assert Segment.objects.filter(pk=final["segment"], text=final["text"]).exists()
    assert studio.post("follow/stop/").status_code == 200
    page.wait_for(follow_is("stopped"), timeout=180)
    assert StreamSession.objects.get().status == StreamSession.Status.ENDED
    page.close()
