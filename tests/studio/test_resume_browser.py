"""The studio page through a web process's graceful restart, in a real Chromium with real speech as the
microphone and the Deepgram emulator: the page hears 1012, reconnects as soon as the process is back,
sends again the audio it had no acknowledgement for, and the archive holds every frame the page sent
exactly once, at its stream time."""

import json
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from tests.support.audio import REAL_RECORDING
from tests.support.browser import launch
from tests.support.emulators.deepgram import EmulatorThread, Script
from tests.support.emulators.studio import session_cookie
from tests.support.processes import start_daphne
from transcription.archive.audio import iter_session_pcm
from transcription.models import StreamSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

# Records each studio socket's close code (Playwright's init scripts run outside the page's CSP).
RECORD_CLOSE_CODES = """
window.closeCodes = [];
const PageWebSocket = window.WebSocket;
window.WebSocket = class extends PageWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => window.closeCodes.push(event.code));
  }
};
"""


class SocketLog:
    """What the page sent on each studio socket: its start message and its audio frames, in order."""

    def __init__(self):
        self.sockets: list[dict] = []

    def opened(self, ws) -> None:
        if "/ws/studio/" not in ws.url:
            return
        sent = {"start": None, "frames": []}
        self.sockets.append(sent)

        def frame(payload) -> None:
            if isinstance(payload, bytes):
                sent["frames"].append(payload)
            elif '"start"' in payload:
                sent["start"] = json.loads(payload)

        ws.on("framesent", frame)

    def stream(self) -> bytes:
        """The audio the page sent, each frame at the stream time its socket's start put it; where two
        sockets carry the same stream time (audio sent again) their bytes must agree."""
        audio = bytearray()
        for sent in self.sockets:
            if sent["start"] is None:  # a try while the process was down
                continue
            at = round(sent["start"].get("stream_time", 0) * 32000 / 2) * 2
            data = b"".join(sent["frames"])
            overlap = audio[at : at + len(data)]
            assert overlap == data[: len(overlap)], "audio sent again differs from what was sent before"
            assert at <= len(audio), "the page left a gap in stream time"
            audio[at : at + len(data)] = data
        return bytes(audio)


def test_the_studio_resends_what_was_not_acknowledged_after_a_restart(event, journalist, media):
    with EmulatorThread(Script(api_key="dg-test-key", finish_seconds=1.0)) as deepgram:
        env = {"DEEPGRAM_API_KEY": deepgram.script.api_key, "DEEPGRAM_URL": deepgram.url, "MEDIA_ROOT": str(media)}
        daphne, port = start_daphne(**env)
        base_url = f"http://127.0.0.1:{port}"
        processes = [daphne]
        with sync_playwright() as playwright:
            browser = launch(playwright, microphone=REAL_RECORDING)
            context = browser.new_context(permissions=["microphone"], base_url=base_url)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": base_url}]
            )
            context.add_init_script(RECORD_CLOSE_CODES)
            page = context.new_page()
            log = SocketLog()
            page.on("websocket", log.opened)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            try:
                page.goto(f"/studio/{event.slug}/")
                page.click("#go-live")
                expect(page.locator("#state")).to_have_text("live", timeout=15_000)
                expect(page.locator("#elapsed")).to_have_text(re.compile(r"^0:0[6-9]$"), timeout=30_000)

                daphne.stop()  # SIGTERM: a deploy; the page hears 1012 and tries again at once
                assert daphne.popen.returncode == 0, daphne.output()[-3000:]
                expect(page.locator("#state")).to_have_text("reconnecting", timeout=15_000)
                daphne, _ = start_daphne(port, **env)
                processes.append(daphne)
                expect(page.locator("#state")).to_have_text("live", timeout=30_000)
                expect(page.locator("#elapsed")).to_have_text(re.compile(r"^0:(2[0-9]|3\d)$"), timeout=60_000)
                page.click("#stop")
                expect(page.locator("#state")).to_have_text("stopped", timeout=60_000)

                assert 1012 in page.evaluate("window.closeCodes"), page.evaluate("window.closeCodes")
                resumed = [s["start"] for s in log.sockets[1:] if s["start"] and s["start"].get("resend")]
                assert resumed, "the page sent again what was not acknowledged"
                sent = log.stream()
                session = StreamSession.objects.get()
                assert session.status == StreamSession.Status.ENDED and session.dropped_audio_seconds == 0
                archived = b"".join(iter_session_pcm(session.pk))
                assert len(archived) == len(sent), (len(archived) / 32000, len(sent) / 32000)
                assert archived == sent, "a frame the page sent is missing, shifted or archived twice"
                assert deepgram.received_bytes == len(sent), "the speech provider heard each frame once"
                assert not problems, problems
            finally:
                context.close()
                browser.close()
                daphne.stop()
        for process in processes:
            process.assert_no_traceback()
