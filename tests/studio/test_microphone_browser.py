"""The studio's microphone in a real Chromium on a real Daphne, with real speech as the microphone: raw sound by
default (no echo cancellation, noise suppression or automatic gain), which the offline recognizer hears about as
well as the file itself; a *noisy room* switch that asks for the processing and is remembered in the browser."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.support.audio import REAL_RECORDING
from tests.support.emulators.studio import session_cookie
from tests.support.processes import start_daphne
from tests.support.wer import whole_file_transcript, word_error_rate
from transcription.models import Segment, StreamSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

PROCESSING = ("echoCancellation", "noiseSuppression", "autoGainControl")
# The page's transcript against the whole-file decode, as word error rate. The recognizer's own streaming
# (utterances cut at pauses) costs about a fifth against it; a broken capture (wrong rate, lost frames) costs most.
PAGE_WORD_ERROR_RATE_AT_MOST = 0.35

# Records what the page asks getUserMedia for and what the track it gets reports (Playwright's init scripts
# run outside the page's Content-Security-Policy).
RECORD_MICROPHONE_REQUESTS = """
window.microphoneRequests = [];
const openMicrophone = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const media = await openMicrophone(constraints);
  window.microphoneRequests.push({ asked: constraints.audio, got: media.getAudioTracks()[0].getSettings() });
  return media;
};
"""


@pytest.fixture(scope="module")
def direct_transcript() -> str:
    transcript = whole_file_transcript(REAL_RECORDING)
    assert len(transcript.split()) > 50, transcript
    return transcript


@pytest.fixture(scope="module")
def microphone():
    return REAL_RECORDING


@pytest.fixture(scope="module")
def daphne(django_db_setup):
    process, port = start_daphne()
    yield process, f"http://127.0.0.1:{port}"
    process.stop()


def studio_page(browser, base_url: str, journalist, event):
    context = browser.new_context(permissions=["microphone"], base_url=base_url)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": base_url}])
    context.add_init_script(RECORD_MICROPHONE_REQUESTS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"/studio/{event.slug}/")
    return context, page, problems


def stream_the_recording(page) -> str:
    """Go live, let the fake microphone play the whole recording, stop; the stored transcript."""
    page.click("#go-live")
    expect(page.locator("#state")).to_have_text("live", timeout=15_000)
    # The recording lasts 28.3 s from the moment the microphone opens; then the fake device is silent.
    expect(page.locator("#elapsed")).to_have_text(re.compile(r"^0:(3[1-9]|[45]\d)$"), timeout=60_000)
    page.click("#stop")
    expect(page.locator("#state")).to_have_text("stopped", timeout=60_000)
    session = StreamSession.objects.get()
    assert session.status == StreamSession.Status.ENDED and session.dropped_audio_seconds == 0
    assert session.audio_seconds > 28
    return " ".join(Segment.objects.filter(session=session).order_by("sequence").values_list("text", flat=True))


def test_the_studio_captures_raw_sound_and_the_recognizer_hears_it_as_in_the_file(
    browser, daphne, event, journalist, direct_transcript
):
    process, base_url = daphne
    context, page, problems = studio_page(browser, base_url, journalist, event)
    expect(page.locator("#noisy-room")).not_to_be_checked()
    expect(page.get_by_label("Noisy room")).to_have_attribute("aria-describedby", "noisy-room-help")

    heard = stream_the_recording(page)

    [request] = page.evaluate("window.microphoneRequests")
    assert {name: request["asked"].get(name) for name in PROCESSING} == dict.fromkeys(PROCESSING, False), request
    assert {name: request["got"].get(name) for name in PROCESSING} == dict.fromkeys(PROCESSING, False), request
    error_rate = word_error_rate(direct_transcript, heard)
    assert error_rate <= PAGE_WORD_ERROR_RATE_AT_MOST, (error_rate, heard, direct_transcript)
    assert not problems, problems
    context.close()
    process.assert_no_traceback()


def test_the_noisy_room_switch_asks_for_processing_and_is_remembered(browser, daphne, event, journalist):
    process, base_url = daphne
    context, page, problems = studio_page(browser, base_url, journalist, event)
    page.check("#noisy-room")
    page.reload()
    expect(page.locator("#noisy-room")).to_be_checked()

    page.click("#go-live")
    expect(page.locator("#state")).to_have_text("live", timeout=15_000)
    expect(page.locator("#noisy-room")).to_be_disabled()  # applies from the next Go live, not mid-stream
    page.click("#stop")
    expect(page.locator("#state")).to_have_text("stopped", timeout=30_000)
    [processed] = page.evaluate("window.microphoneRequests")
    assert {name: processed["asked"].get(name) for name in PROCESSING} == dict.fromkeys(PROCESSING, True), processed
    assert {name: processed["got"].get(name) for name in PROCESSING} == dict.fromkeys(PROCESSING, True), processed

    page.uncheck("#noisy-room")
    page.reload()
    expect(page.locator("#noisy-room")).not_to_be_checked()
    page.click("#go-live")
    expect(page.locator("#state")).to_have_text("live", timeout=15_000)
    page.click("#stop")
    expect(page.locator("#state")).to_have_text("stopped", timeout=30_000)
    [raw] = page.evaluate("window.microphoneRequests")
    assert {name: raw["asked"].get(name) for name in PROCESSING} == dict.fromkeys(PROCESSING, False), raw
    assert not problems, problems
    context.close()
    process.assert_no_traceback()
