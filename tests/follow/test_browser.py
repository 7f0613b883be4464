"""The studio's *Follow stream* form in a real Chromium on a real Daphne, with a follower process and a live HLS
stream on loopback: the journalist pastes the address, presses Follow stream, reads the transcript as it comes,
and stops it; a refused address says why."""

import sys

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.support.audio import REAL_RECORDING
from tests.support.emulators.studio import session_cookie
from tests.support.processes import Process, child_env, start_daphne
from tests.support.streams import FileServer, LiveHls
from transcription.models import Segment, StreamFollow, StreamSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

FOLLOW_ENV = {
    "STREAM_FOLLOW_ALLOW_PRIVATE": "true",
    "STREAM_FOLLOW_STALL_SECONDS": "15",
    "STREAM_FOLLOW_POLL_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hls")
    with LiveHls(REAL_RECORDING, folder), FileServer(folder) as server:
        yield server


@pytest.fixture(scope="module")
def daphne(django_db_setup, media_root):
    process, port = start_daphne(**FOLLOW_ENV, MEDIA_ROOT=str(media_root))
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


@pytest.fixture
def follower(settings, media_root):
    settings.MEDIA_ROOT = media_root
    env = child_env(**FOLLOW_ENV, MEDIA_ROOT=str(media_root))
    process = Process("follower", [sys.executable, "manage.py", "follow_streams"], env)
    yield process
    process.stop()
    process.assert_no_traceback()


@pytest.fixture
def studio_page(browser, daphne, event, journalist):
    context = browser.new_context(base_url=daphne)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": daphne}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/studio/{event.slug}/")
    yield page
    assert errors == []
    context.close()


def test_a_journalist_follows_a_stream_from_the_studio_and_stops_it(studio_page, stream, follower):
    page = studio_page
    page.fill("#follow-url", f"{stream.url}/live.m3u8")
    page.click("#follow-start")
    expect(page.locator("#follow-state")).to_have_text("Following: live", timeout=90_000)
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#follow-start")).to_be_disabled()
    finals = page.locator("#transcript .final")
    expect(finals.first).to_be_visible(timeout=120_000)

    page.click("#follow-stop")
    expect(page.locator("#follow-state")).to_have_text("Following stopped", timeout=180_000)
    expect(page.locator("#state")).to_have_text("stopped")
    expect(page.locator("#follow-start")).to_be_enabled()
    session = StreamSession.objects.get()
    assert session.status == StreamSession.Status.ENDED
    shown = [int(v) for v in finals.evaluate_all("els => els.map(e => e.dataset.segment)")]
    assert shown == list(Segment.objects.filter(session=session).order_by("sequence").values_list("pk", flat=True))
    assert StreamFollow.objects.get().status == "stopped"


def test_a_refused_address_says_why_and_nothing_starts(studio_page):
    page = studio_page
    page.fill("#follow-url", "ftp://files.example.org/keynote.mp3")
    page.click("#follow-start")
    expect(page.locator("#follow-state")).to_contain_text("Addresses starting ftp: are not followed")
    expect(page.locator("#follow-state")).to_have_attribute("data-status", "refused")
    expect(page.locator("#follow-start")).to_be_enabled()
    assert not StreamFollow.objects.exists()
