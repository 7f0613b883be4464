"""Journalists as authors (issue 28), in real Chromium on real processes (Daphne, a Celery worker) with the Deepgram
emulator: a journalist names the speaker, clicks a line of the transcript and presses Q; the quote waits in the
editor's queue, marked as checked by construction, with the audio of exactly its words; one click publishes it
and the reader page open in another browser context shows it, with its clip for readers. A journalist's own post
reaches the queue under their name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from publishing.models import Post
from tests.support.audio import SENTENCES, speech_wav
from tests.support.browser import launch, log_in
from tests.support.emulators.deepgram import EmulatorThread
from tests.support.emulators.studio import session_cookie
from tests.support.factories import live_event
from tests.support.processes import start_daphne, start_worker, wait_until
from transcription.models import SpeakerName

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 90_000  # ms: a functional bound for a busy two-core machine, not a speed claim


@pytest.fixture(scope="module")
def stack(django_db_setup) -> Iterator[str]:
    deepgram = EmulatorThread()
    emulator = deepgram.__enter__()
    env = {"DEEPGRAM_API_KEY": emulator.script.api_key, "DEEPGRAM_URL": emulator.url}
    daphne, port = start_daphne(**env)
    worker = start_worker(**env)
    yield f"http://127.0.0.1:{port}"
    for process in (daphne, worker):
        process.stop()
    deepgram.__exit__(None, None, None)
    for process in (daphne, worker):
        process.assert_no_traceback()


def watch_problems(context, problems: list[str]) -> None:
    context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))
    context.on(
        "console",
        lambda m: problems.append(m.text)
        if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
        else None,
    )


def test_a_flashed_quote_reaches_readers_after_the_editors_one_click(tmp_path, stack, journalist, editor):
    base = stack
    event = live_event(
        journalist, title="Flash keynote", slug="flash", diarize=True, readers_hear_quotes=True,
        batch_interval_seconds=3600,
    )  # fmt: skip
    microphone = speech_wav(tmp_path / "speech.wav", SENTENCES, rate=48000)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright, microphone=microphone)

        readers = browser.new_context(base_url=base)
        watch_problems(readers, problems)
        reader = readers.new_page()
        reader.goto(f"/events/{event.slug}/")

        desk = browser.new_context()
        watch_problems(desk, problems)
        queue = log_in(desk, base, "ed", "ed-password-123", admin=True)
        queue.goto(f"{base}/admin/publishing/post/queue/{event.pk}/")
        expect(queue.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)

        studio_context = browser.new_context(permissions=["microphone"], base_url=base)
        studio_context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": base}]
        )
        watch_problems(studio_context, problems)
        studio = studio_context.new_page()
        studio.goto(f"/studio/{event.slug}/")
        expect(studio.locator("#post-quote")).to_be_disabled()
        studio.click("#go-live")
        finals = studio.locator("#transcript .final")
        expect(finals).to_have_count(len(SENTENCES), timeout=SOON)

        # The speaker is named from the transcript, as journalists do.
        studio.once("dialog", lambda dialog: dialog.accept("Ada Lovelace"))
        studio.locator("#transcript .speaker").first.click()
        expect(studio.locator("#transcript .speaker").first).to_have_text("Ada Lovelace: ", timeout=SOON)
        wait_until(lambda: SpeakerName.objects.filter(name="Ada Lovelace").exists(), what="the speaker named")

        # One click chooses a line, Q posts it.
        line = finals.nth(1)
        line.locator(".words").click()
        expect(line).to_have_attribute("data-chosen", "")
        expect(studio.locator("#post-quote")).to_be_enabled()
        expect(studio.locator("#quote-status")).to_contain_text("Quote of Ada Lovelace, 1 line(s)")
        studio.screenshot(path="/tmp/studio-quote-chosen.png", full_page=True)
        studio.keyboard.press("q")
        expect(studio.locator("#quote-status")).to_have_text("Quote sent to the editors' queue.", timeout=SOON)
        quote = Post.objects.get(event=event, kind=Post.Kind.QUOTE)
        words = quote.traced_quotes[0]["quote"]
        assert quote.body == f"“{words}” — Ada Lovelace" and quote.checked
        assert words == line.locator(".words").inner_text()
        shown = studio.locator(f"#drafts li[data-post='{quote.pk}']")
        expect(shown).to_contain_text("Quote · by jo")
        expect(shown).to_have_attribute("data-state", "waiting")

        # Stopped: every word's audio is archived.
        studio.click("#stop")
        expect(studio.locator("#state")).to_have_text("stopped", timeout=SOON)

        # The editor's queue: marked, with a player of exactly its words.
        item = queue.locator(f"#post-{quote.pk}")
        expect(item.locator(".quote-by-construction")).to_contain_text("Quote, checked by construction", timeout=SOON)
        player = item.locator("audio.stretch-audio")
        expect(player).to_be_visible()
        queue.screenshot(path="/tmp/queue-quote.png", full_page=True)
        said = quote.traced_quotes[0]
        src = player.get_attribute("src")
        assert (
            src
            == f"/transcripts/sessions/{said['session']}/stretch.wav?start={said['start']:.3f}&end={said['end']:.3f}"
        )
        audio = queue.request.get(f"{base}{src}")
        assert audio.status == 200 and audio.headers["content-type"] == "audio/wav"
        assert abs(len(audio.body()) - 44 - 2 * 16000 * (said["end"] - said["start"])) <= 4

        # One click, and the open reader page shows it, with the speaker's own audio for readers.
        with queue.expect_navigation():
            item.get_by_role("button", name="Approve and publish").click()
        on_page = reader.locator(f"#post-{quote.pk}")
        expect(on_page).to_contain_text(f"“{words}”", timeout=SOON)
        expect(on_page).to_contain_text("— Ada Lovelace")
        expect(on_page.locator(".hear-quote")).to_have_count(1, timeout=SOON)  # its play button, after the quote
        expect(shown).to_have_attribute("data-state", "published", timeout=SOON)  # the journalist sees it went out

        # The journalist's own post reaches the queue under their name.
        expect(queue.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
        studio.fill("#post-body", "The hall is full: standing room only.")
        studio.click("#post-send")
        expect(studio.locator("#post-status")).to_have_text("Post sent to the editors' queue.", timeout=SOON)
        own = Post.objects.get(event=event, kind=Post.Kind.WRITTEN)
        assert own.author == journalist and not own.ai_assisted
        expect(studio.locator(f"#drafts li[data-post='{own.pk}']")).to_contain_text("Your post · by jo")
        mine = queue.locator(f"#post-{own.pk}")
        expect(mine).to_contain_text("hand-written by jo", timeout=SOON)
        expect(mine.locator("textarea[name=body]")).to_have_value("The hall is full: standing room only.")

        assert not problems, problems
        browser.close()
