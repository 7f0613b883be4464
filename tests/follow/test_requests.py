"""Following a stream from the studio over HTTP: who may, which addresses, one stream per journalist and event
(microphone or follow), a scheduled event asked first, and Stop."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from events.models import Event
from tests.support import pseudo
from tests.support.factories import live_event, stream_session
from transcription import leases
from transcription.follow import follows
from transcription.models import StreamFollow, StreamSession

pytestmark = pytest.mark.django_db

STREAM = "http://127.0.0.1:8089/live.m3u8"


@pytest.fixture
def allow_private(settings):
    settings.STREAM_FOLLOW_ALLOW_PRIVATE = True


@pytest.fixture
def studio(journalist):
    client = Client()
    client.force_login(journalist)
    return client


def follow(client, event, url=STREAM, **extra):
    return client.post(f"/studio/{event.slug}/follow/", {"url": url, **extra})


def stop(client, event):
    return client.post(f"/studio/{event.slug}/follow/stop/")


def test_a_journalist_asks_to_follow_a_stream_and_a_follower_is_told(studio, event, journalist, allow_private):
    answer = follow(studio, event)
    assert answer.status_code == 201
    row = StreamFollow.objects.get()
    assert (row.event, row.journalist, row.url, row.status) == (event, journalist, STREAM, "starting")
    assert answer.json()["follow"] == {
        "type": "follow", "id": row.pk, "url": STREAM, "status": "starting", "label": "Starting", "detail": "",
        "attempts": 0, "session": None, "stopping": False,
    }  # fmt: skip


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.mp3", "data:,x", "gopher://example.org/"])
def test_other_schemes_are_refused_with_a_clear_error(studio, event, url, allow_private):
    answer = follow(studio, event, url)
    assert answer.status_code == 400
    assert f"Addresses starting {url.split(':')[0]}: are not followed" in answer.json()["error"]
    assert not StreamFollow.objects.exists()


def test_a_private_address_is_refused_unless_the_operator_allows_it(studio, event, settings):
    settings.STREAM_FOLLOW_ALLOW_PRIVATE = False
    for url in (STREAM, "http://10.1.2.3/live.m3u8", "http://169.254.169.254/latest/meta-data/", "http://localhost/"):
        answer = follow(studio, event, url)
        assert answer.status_code == 400
        assert "private, loopback or link-local network" in answer.json()["error"]
    assert not StreamFollow.objects.exists()


def test_the_address_is_bounded(studio, event, allow_private):
    answer = follow(studio, event, "http://127.0.0.1/" + "x" * 3000)
    assert answer.status_code == 400 and "at most 2048 characters" in answer.json()["error"]


def test_one_follow_at_a_time_per_journalist_and_event(studio, event, allow_private):
    assert follow(studio, event).status_code == 201
    answer = follow(studio, event, "http://127.0.0.1:8090/other.m3u8")
    assert answer.status_code == 400 and "already following" in answer.json()["error"]
    assert StreamFollow.objects.count() == 1


def test_a_journalist_streaming_the_microphone_cannot_follow_a_stream_too(studio, event, journalist, allow_private):
    assert leases.acquire(event.pk, journalist.pk, "the-microphone's-relay")
    answer = follow(studio, event)
    assert answer.status_code == 400 and "streaming your microphone" in answer.json()["error"]
    leases.release(event.pk, journalist.pk, "the-microphone's-relay")
    assert follow(studio, event).status_code == 201


def test_only_the_events_journalists_may_follow(client, event, other_journalist, editor, allow_private):
    assert follow(client, event).status_code == 302  # to the login page
    for user in (other_journalist, editor):
        client.force_login(user)
        assert follow(client, event).status_code == 403
        assert stop(client, event).status_code == 403
    assert client.get(f"/studio/{event.slug}/follow/").status_code == 405
    assert not StreamFollow.objects.exists()


def test_a_scheduled_event_asks_before_it_goes_live_with_the_stream(studio, journalist, allow_private):
    event = live_event(journalist, title="Later", slug="later")
    later = timezone.now() + timedelta(hours=1)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.SCHEDULED, starts_at=later)
    asked = follow(studio, event)
    assert asked.status_code == 409 and asked.json()["go_live_question"] == asked.json()["error"]
    assert not StreamFollow.objects.exists()
    assert follow(studio, event, go_live="1").status_code == 201
    assert Event.objects.get(pk=event.pk).status == Event.Status.LIVE


def test_an_ended_event_takes_no_stream(studio, event, allow_private):
    event.end()
    answer = follow(studio, event)
    assert answer.status_code == 400 and "has ended" in answer.json()["error"]


def test_stop_asks_the_follower_running_it(studio, event, allow_private):
    follow(studio, event)
    StreamFollow.objects.update(worker="follower-1", claimed_until=timezone.now() + timedelta(seconds=30))
    answer = stop(studio, event)
    assert answer.status_code == 200 and answer.json()["follow"]["stopping"] is True
    row = StreamFollow.objects.get()
    assert row.stop_requested and row.status == "starting"  # the follower ends it, storing its last words


def test_a_request_no_follower_has_taken_is_stopped_at_once(studio, event, allow_private):
    follow(studio, event)
    answer = stop(studio, event)
    assert answer.json()["follow"]["status"] == "stopped"
    assert StreamFollow.objects.get().ended_at is not None
    assert stop(studio, event).status_code == 409  # nothing left to stop


def test_a_follow_with_a_session_is_left_for_a_follower_to_end(studio, event, journalist, allow_private):
    """Its follower died: the next one resumes it only to end its session as Stop does (last words drafted)."""
    follow(studio, event)
    session = stream_session(event, journalist)
    StreamFollow.objects.update(session=session, worker="gone", claimed_until=timezone.now() - timedelta(seconds=1))
    assert stop(studio, event).json()["follow"]["stopping"] is True
    assert StreamFollow.objects.get().stop_requested
    assert StreamSession.objects.get(pk=session.pk).status == StreamSession.Status.LIVE


def test_the_database_keeps_one_active_follow_per_journalist_and_event(event, journalist):
    StreamFollow.objects.create(event=event, journalist=journalist, url=STREAM, status="live")
    StreamFollow.objects.create(event=event, journalist=journalist, url=STREAM, status="stopped")
    with pytest.raises(IntegrityError), transaction.atomic():
        StreamFollow.objects.create(event=event, journalist=journalist, url=STREAM, status="retrying")
    with pytest.raises(IntegrityError), transaction.atomic():
        StreamFollow.objects.create(event=event, journalist=journalist, url=STREAM, status="paused")


@pytest.fixture(scope="module")
def pseudo_german(tmp_path_factory):
    return pseudo.build(tmp_path_factory.mktemp("pseudo-locale"))


def test_what_the_follow_says_is_in_the_language_the_journalist_asked_in(
    studio, event, allow_private, settings, pseudo_german
):
    settings.LOCALE_PATHS = [pseudo_german, *settings.LOCALE_PATHS]
    answer = studio.post(f"/studio/{event.slug}/follow/", {"url": STREAM}, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert answer.status_code == 201 and StreamFollow.objects.get().language == "de"
    # A follower finds it orphaned (its follower stopped answering): the row says so in German.
    StreamFollow.objects.update(worker="gone", claimed_until=timezone.now() - timedelta(seconds=1))
    claimed = follows.claim(StreamFollow.objects.get().pk, "follower-2")
    assert claimed.detail == "⟦Its follower stopped answering; resuming…⟧"
    assert (claimed.status, claimed.worker) == ("retrying", "follower-2")
    assert follows.claim(claimed.pk, "follower-3") is None  # held: no other follower takes it
