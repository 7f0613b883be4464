"""A German journalist's studio in real Chromium on a real Daphne, the Deepgram emulator diarizing: the script labels
speakers in German ("Sprecher 0"), asks who they are in German, and labels a forgotten name in German again."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.support.audio import SENTENCES, speech_wav
from tests.support.emulators.deepgram import EmulatorThread
from tests.support.emulators.studio import session_cookie
from tests.support.processes import start_daphne
from transcription.models import SpeakerName

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOON = 60_000  # ms: a functional bound for a busy two-core machine, not a speed claim


@pytest.fixture(scope="module")
def microphone(tmp_path_factory):
    return speech_wav(tmp_path_factory.mktemp("mic") / "microphone.wav", SENTENCES[:2], rate=48000)


@pytest.fixture(scope="module")
def diarizing_daphne(django_db_setup):
    with EmulatorThread() as deepgram:
        process, port = start_daphne(DEEPGRAM_API_KEY=deepgram.script.api_key, DEEPGRAM_URL=deepgram.url)
        yield f"http://127.0.0.1:{port}"
        process.stop()
    process.assert_no_traceback()


@pytest.mark.usefixtures("fresh_roles")
def test_a_german_studio_labels_and_names_speakers_in_german(browser, diarizing_daphne, event, journalist):
    event.diarize = True
    event.save()
    context = browser.new_context(base_url=diarizing_daphne, permissions=["microphone"], locale="de-DE")
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": diarizing_daphne}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/studio/{event.slug}/")
    page.click("#go-live")
    label = page.locator("#transcript .speaker").first
    expect(label).to_have_text("Sprecher 0: ", timeout=SOON)

    questions: list[str] = []

    def answer(name: str):
        def reply(dialog) -> None:
            questions.append(dialog.message)
            dialog.accept(name)

        return reply

    page.once("dialog", answer("Ada Lovelace"))
    label.click()
    expect(label).to_have_text("Ada Lovelace: ", timeout=SOON)
    assert questions == ["Wer ist Sprecher 0? (leer lassen, um den Namen zu vergessen)"]
    page.once("dialog", answer(""))
    label.click()
    expect(label).to_have_text("Sprecher 0: ", timeout=SOON)
    assert not SpeakerName.objects.exists()
    page.click("#stop")
    expect(page.locator("#state")).to_have_attribute("data-state", "stopped", timeout=SOON)
    context.close()
    assert not errors, errors
