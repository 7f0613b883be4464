"""Play the line in a real browser: an editor in admin, on a real Daphne, plays exactly a segment's audio."""

import pytest
from playwright.sync_api import sync_playwright

from tests.support import factories, framecoded
from tests.support.browser import launch, log_in
from tests.support.framecoded import RATE, STEP, pcm
from tests.support.processes import start_daphne

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# What Chromium itself decodes from the segment's audio: duration, rate and the frame codes at both ends.
DECODE = f"""async (audio) => {{
    const response = await fetch(audio.src);
    const data = await new OfflineAudioContext(1, 1, {RATE}).decodeAudioData(await response.arrayBuffer());
    const samples = data.getChannelData(0);
    const frame = (x) => Math.round(x * 32768 / {STEP});
    return {{duration: data.duration, rate: data.sampleRate, first: frame(samples[0]),
            last: frame(samples[samples.length - 1])}};
}}"""

PLAY = """(audio) => new Promise((resolve, reject) => {
    audio.addEventListener("ended", () => resolve(audio.duration));
    audio.addEventListener("error", () => reject(new Error("media error " + audio.error.code)));
    audio.play().catch(reject);
})"""


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def daphne(django_db_setup, media_root):
    process, port = start_daphne(MEDIA_ROOT=str(media_root))
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


@pytest.fixture
def segment(settings, media_root, event, journalist):
    settings.MEDIA_ROOT = media_root
    session = factories.stream_session(event, journalist)
    framecoded.archive_audio(session.pk, pcm(0, 200))
    return factories.segment(session, "We ratify the treaty today.", start=7.3, end=12.1)


def test_an_editor_plays_exactly_the_segments_audio_in_admin(daphne, segment, editor):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = log_in(browser.new_context(), daphne, editor.username, "ed-password-123", admin=True)
            page.goto(f"{daphne}/admin/transcription/segment/{segment.pk}/change/")
            player = page.locator(".field-play audio.segment-audio")
            player.wait_for()

            decoded = player.evaluate(DECODE)
            assert decoded["rate"] == RATE
            assert abs(decoded["duration"] - 4.8) < 0.01
            assert (decoded["first"], decoded["last"]) == (73, 120)  # 7.3 s to 12.1 s of stream time

            assert abs(player.evaluate(PLAY) - 4.8) < 0.01  # one play runs the stretch through to its end

            anonymous = browser.new_page()
            response = anonymous.goto(daphne + player.get_attribute("src"))
            assert response.status == 403
        finally:
            browser.close()
