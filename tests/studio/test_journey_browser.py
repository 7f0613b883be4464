"""The studio as a journalist uses it (issue 17), in real Chromium with a fake microphone on real processes
(Daphne, Celery worker, beat): the mic check before going live, the states in words, the wake lock and the
close warning while live, a reload resumed in one click, Space to pause, every draft of the event with links a
journalist may open (the one made after Stop included) and the recap after Stop. The stream runs on the
embedded default (offline recognizer) and on the Deepgram emulator."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import Page, expect, sync_playwright

from events.models import Event
from publishing.models import Batch, Post
from tests.support.audio import SENTENCES, speech_wav
from tests.support.browser import launch
from tests.support.emulators.deepgram import EmulatorThread
from tests.support.emulators.studio import session_cookie
from tests.support.factories import live_event
from tests.support.processes import Process, start_beat, start_daphne, start_worker, wait_until
from transcription.models import Segment, StreamSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 90_000  # ms: a functional bound for a busy two-core machine, not a speed claim
RATE = 48000

# Playwright's init scripts run outside the page's Content-Security-Policy. They record what the page asks
# of the browser and every state it shows.
RECORD_THE_PAGE = """
window.wakeLockRequests = 0;
window.wakeLocks = [];
if (navigator.wakeLock) {
  const request = navigator.wakeLock.request.bind(navigator.wakeLock);
  navigator.wakeLock.request = async (type) => {
    window.wakeLockRequests += 1;
    const lock = await request(type);
    window.wakeLocks.push(lock);
    return lock;
  };
}
window.states = [];
window.checks = [];
document.addEventListener("DOMContentLoaded", () => {
  const watch = (id, into, read) => new MutationObserver(() => into.push(read(document.getElementById(id))))
    .observe(document.getElementById(id), { attributes: true, childList: true, characterData: true, subtree: true });
  watch("state", window.states, (e) => e.textContent);
  watch("mic-check", window.checks, (e) => e.dataset.check);
});
"""


def tone_wav(path: Path, parts: list[tuple[float, float]]) -> Path:
    """A 440 Hz tone in parts of (seconds, amplitude from 0 to 1); amplitude 1 clips."""
    pieces = []
    for seconds, amplitude in parts:
        t = np.arange(int(seconds * RATE)) / RATE
        pieces.append(
            np.clip(amplitude * 1.05 * np.sin(2 * np.pi * 440 * t), -1, 1)
            if amplitude >= 1
            else amplitude * np.sin(2 * np.pi * 440 * t)
        )
    samples = (np.concatenate(pieces) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples.tobytes())
    return path


@dataclass
class Stack:
    base_url: str
    provider_label: str
    processes: list[Process]


@pytest.fixture(scope="module", params=["embedded", "deepgram"])
def stack(request, django_db_setup) -> Iterator[Stack]:
    env = {"BATCH_TICK_SECONDS": "1", "BATCH_MIN_WORDS": "1"}
    deepgram = None
    if request.param == "deepgram":
        deepgram = EmulatorThread()
        emulator = deepgram.__enter__()
        env |= {"DEEPGRAM_API_KEY": emulator.script.api_key, "DEEPGRAM_URL": emulator.url}
    daphne, port = start_daphne(**env)
    processes = [daphne, start_worker(**env), start_beat(**env)]
    yield Stack(f"http://127.0.0.1:{port}", "Deepgram" if deepgram else "Offline recognizer", processes)
    for process in processes:
        process.stop()
    if deepgram is not None:
        deepgram.__exit__(None, None, None)
    for process in processes:
        process.assert_no_traceback()


def studio(browser, base_url: str, user, event: Event) -> tuple[Page, list[str]]:
    context = browser.new_context(
        permissions=["microphone"], base_url=base_url, viewport={"width": 1280, "height": 800}
    )
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": base_url}])
    context.add_init_script(RECORD_THE_PAGE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"/studio/{event.slug}/")
    return page, problems


def level(page: Page) -> float:
    return page.eval_on_selector("#level", "meter => meter.value")


def test_the_mic_check_names_the_device_warns_and_plays_a_test_back(tmp_path, event, journalist, django_db_setup):
    microphone = tone_wav(tmp_path / "checks.wav", [(3, 1.0), (3, 0.004), (4, 0.0)])
    daphne, port = start_daphne()
    with sync_playwright() as playwright:
        browser = launch(playwright, microphone=microphone)
        page, problems = studio(browser, f"http://127.0.0.1:{port}", journalist, event)
        assert level(page) == 0
        expect(page.locator("#mic option")).not_to_have_count(1)  # the devices, named once permission is granted
        assert "Fake Audio Input 1" in page.locator("#mic option").all_inner_texts()

        page.get_by_role("button", name="Test microphone (3 s)").click()  # opens the default microphone
        expect(page.locator("#mic-test")).to_have_attribute("data-played", "3.0", timeout=30_000)
        expect(page.locator("#mic-check")).to_have_attribute("data-check", "silent", timeout=30_000)
        expect(page.locator("#mic-check")).to_contain_text("No sound from Fake Default Audio Input")
        checks = [c for c in page.evaluate("window.checks") if c not in ("off", "good")]
        assert checks[:3] == ["clipping", "quiet", "silent"], page.evaluate("window.checks")
        expect(page.locator("#state")).to_have_text("not live")  # all of it before Go live
        assert not problems, problems
        browser.close()
    daphne.stop()
    daphne.assert_no_traceback()


def shown_drafts(page: Page) -> dict[int, dict]:
    return {
        item["id"]: item
        for item in page.eval_on_selector_all(
            "#drafts li",
            """items => items.map(li => ({
                id: +li.dataset.post, state: li.dataset.state, text: li.textContent,
                links: [...li.querySelectorAll('a')].map(a => a.getAttribute('href')),
                admin: li.querySelectorAll('a.admin-link').length }))""",
        )
    }


def test_a_journalist_checks_goes_live_resumes_a_reload_stops_and_gets_drafts_and_a_recap(tmp_path, stack, journalist):
    name = "deepgram" if stack.provider_label == "Deepgram" else "embedded"
    # No batch while live: the one draft is made from the words left at Stop.
    event = live_event(journalist, title="Studio keynote", slug=f"studio-{name}", batch_interval_seconds=3600)
    tone = tone_wav(tmp_path / "tone.wav", [(1.5, 0.3), (2.5, 0.0)])
    speech = speech_wav(tmp_path / "speech.wav", SENTENCES, rate=RATE)
    microphone = tmp_path / "microphone.wav"
    with wave.open(str(microphone), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for part in (tone, speech):
            with wave.open(str(part)) as source:
                out.writeframes(source.readframes(source.getnframes()))

    with sync_playwright() as playwright:
        browser = launch(playwright, microphone=microphone)
        page, problems = studio(browser, stack.base_url, journalist, event)
        expect(page.locator("#provider")).to_have_text(stack.provider_label)
        expect(page.locator("#state")).to_have_text("not live")
        expect(page.locator("#countdown")).to_be_hidden()

        # Every control named, and all of them on one 1280x800 screen.
        for role, label in [
            ("combobox", "Microphone"),
            ("button", "Test microphone (3 s)"),
            ("button", "Go live"),
            ("button", "Pause"),
            ("button", "Stop"),
            ("checkbox", "Noisy room"),
            ("meter", "Microphone level"),
        ]:
            control = page.get_by_role(role, name=label, exact=True)
            expect(control).to_have_count(1)
            box = control.bounding_box()
            assert box and box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280, (label, box)
        assert page.evaluate("document.documentElement.scrollTop") == 0
        expect(page.locator("#pause")).to_have_attribute("aria-keyshortcuts", "Space")
        expect(page.locator("#pause kbd")).to_have_text("Space")

        # Mic check: choosing the microphone opens it, the meter moves before Go live.
        page.select_option("#mic", label="Fake Audio Input 1")
        page.wait_for_function("() => document.getElementById('level').value > 0.05", timeout=15_000)
        expect(page.locator("#mic-check")).to_contain_text("Fake Audio Input 1")
        page.screenshot(path=f"/tmp/studio-{name}-before.png")
        expect(page.locator("#state")).to_have_text("not live")
        assert StreamSession.objects.count() == 0

        page.click("#go-live")
        expect(page.locator("#state")).to_have_text("live", timeout=SOON)
        expect(page.locator("#state")).to_have_class(re.compile(r"\bstate-live\b"))
        expect(page.locator("#state")).to_have_attribute("aria-live", "polite")
        expect(page.locator("#countdown")).to_be_visible()
        finals = page.locator("#transcript .final")
        expect(finals.first).to_be_visible(timeout=SOON)

        # Staying live: the screen wake lock, taken again when the browser dropped it while the tab was hidden.
        page.wait_for_function("() => window.wakeLockRequests >= 1")
        page.evaluate(
            """async () => { for (const lock of window.wakeLocks) await lock.release();
            document.dispatchEvent(new Event('visibilitychange')); }"""
        )
        page.wait_for_function("() => window.wakeLockRequests >= 2")

        # Space pauses and resumes when focus is not in a field.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Space")
        expect(page.locator("#state")).to_have_text("paused")
        expect(page.locator("#state")).to_have_class(re.compile(r"\bstate-paused\b"))
        page.keyboard.press("Space")
        expect(page.locator("#state")).to_have_text("live")
        expect(finals).to_have_count(len(SENTENCES), timeout=SOON)
        page.screenshot(path=f"/tmp/studio-{name}-live.png")

        # Closing or reloading asks first; kept, the stream goes on.
        with page.expect_event("dialog") as asked:
            page.evaluate("setTimeout(() => location.reload(), 0)")
        assert asked.value.type == "beforeunload"
        asked.value.dismiss()
        expect(page.locator("#state")).to_have_text("live")

        # Reloaded anyway: one click resumes the same session, its transcript shown again.
        page.on("dialog", lambda dialog: dialog.accept())
        shown_before = len(finals.all_inner_texts())
        page.reload()
        session = StreamSession.objects.get()
        resume = page.get_by_role("button", name=f"Resume stream (session {session.pk})")
        expect(resume).to_be_visible()
        expect(page.locator("#mic option:checked")).to_have_text("Fake Audio Input 1")  # the choice survives too
        expect(page.locator("#message")).to_contain_text(f"session {session.pk}")
        resume.click()
        expect(page.locator("#state")).to_have_text("live", timeout=SOON)
        expect(finals).to_have_count(shown_before, timeout=SOON)

        page.click("#stop")
        expect(page.locator("#state")).to_have_text("stopped", timeout=SOON)
        expect(page.locator("#state")).to_have_class(re.compile(r"\bstate-stopped\b"))
        expect(page.locator("#countdown")).to_be_hidden()
        states = page.evaluate("window.states")
        assert "offline" not in states and states[-2:] == ["stopping", "stopped"], states

        # The draft made after Stop shows, with a link the journalist may open and no admin link.
        wait_until(
            lambda: Post.objects.filter(event=event).exists()
            and not Batch.objects.filter(event=event).exclude(status=Batch.Status.DRAFTED).exists(),
            SOON / 1000,
            what="the words left at Stop batched and drafted",
        )
        posts = list(Post.objects.filter(event=event))
        expect(page.locator("#drafts li")).to_have_count(len(posts), timeout=SOON)
        drafts = shown_drafts(page)
        assert set(drafts) == {post.pk for post in posts}
        for post in posts:
            shown = drafts[post.pk]
            state = "published" if post.status == "published" else ("held" if post.hold_reason else "waiting")
            assert shown["state"] == state and shown["admin"] == 0, shown
            if post.hold_reason:
                assert post.hold_reason in shown["text"]
            [link] = shown["links"]
            expected = post.get_absolute_url() if state == "published" else f"/studio/{event.slug}/drafts/{post.pk}/"
            assert link == expected
            opened = page.request.get(link)
            assert opened.status == 200 and post.body.split()[0] in opened.text()

        # The recap: figures as stored, and links to the session's transcripts and the public page.
        session.refresh_from_db()
        segments = list(Segment.objects.filter(session=session))
        recap = page.locator("#recap")
        expect(recap).to_be_visible(timeout=SOON)
        expect(page.locator("#recap-drafting")).to_be_hidden(timeout=SOON)
        expect(page.locator("#recap-segments")).to_have_text(str(len(segments)))
        expect(page.locator("#recap-words")).to_have_text(str(sum(len(s.text.split()) for s in segments)))
        expect(page.locator("#recap-drafts")).to_have_text(str(len(posts)))
        expect(page.locator("#recap-published")).to_have_text(str(sum(p.status == "published" for p in posts)))
        expect(page.locator("#recap-dropped")).to_have_text(f"{session.dropped_audio_seconds:.1f} s")
        expect(page.locator("#recap-duration")).to_have_text(re.compile(r"^\d+:\d\d$"))
        for fmt in ("txt", "srt", "vtt"):
            href = page.locator(f"#recap-{fmt}").get_attribute("href")
            assert href == f"/transcripts/sessions/{session.pk}/transcript.{fmt}"
            assert page.request.get(href).status == 200
        assert page.locator("#recap-public").get_attribute("href") == f"/events/{event.slug}/"
        page.screenshot(path=f"/tmp/studio-{name}-after.png")

        assert session.status == StreamSession.Status.ENDED and session.reconnects >= 1
        assert StreamSession.objects.count() == 1
        assert not problems, problems
        browser.close()
