"""The whole journey in real browsers on real processes (Daphne, Celery worker, beat):
a journalist goes live in Chromium with a fake microphone → segments stored → beat batches →
a draft appears in the studio → (a) an auto-publishing event's reader sees the post without
reloading; (b) in a moderated event an editor publishes it from the admin queue and the reader
sees it. Once with the offline recognizer and drafter, once with the Deepgram and Mavera
emulators standing in for the real services."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from events.models import Event
from publishing.models import Batch, Post
from tests.support.audio import speech_wav
from tests.support.browser import launch, log_in
from tests.support.emulators.deepgram import EmulatorThread
from tests.support.emulators.mavera import MaveraEmulator
from tests.support.factories import live_event
from tests.support.processes import Process, empty_broker_queue, start_beat, start_daphne, start_worker, wait_until
from transcription.models import Segment, StreamSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SENTENCES = [
    "The keynote begins with the weather and the river.",
    "We will meet the team at the station tomorrow morning.",
    "The new bridge opens to the public next summer.",
]
SOON = 90_000  # ms: a functional bound for a busy two-core machine, not a speed claim


@dataclass
class Stack:
    base_url: str
    provider_label: str
    processes: list[Process]
    mavera: MaveraEmulator | None = None


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Browser]:
    microphone = speech_wav(tmp_path_factory.mktemp("mic") / "microphone.wav", SENTENCES)
    with sync_playwright() as playwright:
        browser = launch(playwright, microphone=microphone)
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=["offline", "emulators"])
def stack(request, django_db_setup) -> Iterator[Stack]:
    empty_broker_queue()
    # Each batch is a few seconds of speech: short drafts must still auto-publish here.
    env = {"BATCH_TICK_SECONDS": "1", "HOLD_DRAFTS_UNDER_WORDS": "1", "BATCH_MIN_WORDS": "1"}
    deepgram = mavera = None
    if request.param == "emulators":
        deepgram = EmulatorThread()
        emulator = deepgram.__enter__()
        mavera = MaveraEmulator()
        env |= {
            "DEEPGRAM_API_KEY": emulator.script.api_key,
            "DEEPGRAM_URL": emulator.url,
            "MAVERA_API_KEY": "mvra_e2e_test_key",
            "MAVERA_BASE_URL": mavera.start(),
        }
    daphne, port = start_daphne(**env)
    processes = [daphne, start_worker(**env), start_beat(**env)]
    label = "Deepgram" if deepgram else "Offline recognizer"
    yield Stack(f"http://127.0.0.1:{port}", label, processes, mavera)
    for process in processes:
        process.stop()
    if deepgram is not None:
        deepgram.__exit__(None, None, None)
    if mavera is not None:
        mavera.stop()
    for process in processes:
        process.assert_no_traceback()


def make_event(journalist, *, auto_publish: bool) -> Event:
    return live_event(
        journalist, title="City keynote", slug="city-keynote", batch_interval_seconds=5, auto_publish=auto_publish
    )


def open_reader(browser: Browser, stack: Stack, event: Event) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{stack.base_url}/events/{event.slug}/")
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=SOON)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def go_live(browser: Browser, stack: Stack, event: Event) -> Page:
    context = browser.new_context(permissions=["microphone"])
    page = log_in(context, stack.base_url, "jo", "jo-password-123")
    page.goto(f"{stack.base_url}/studio/{event.slug}/")
    expect(page.locator("#provider")).to_have_text(stack.provider_label)
    page.click("#go-live")
    expect(page.locator("#state")).to_have_text("live", timeout=SOON)
    return page


def first_draft(studio: Page) -> tuple[int, str]:
    """The first draft the studio shows: its post id and its text."""
    draft = studio.locator("#drafts li").last  # newest first, so the first draft is last
    expect(draft).to_be_visible(timeout=SOON)
    return int(draft.get_attribute("data-post") or 0), draft.locator(".draft-body").inner_text()


def opening_words(text: str, count: int = 6) -> str:
    return " ".join(text.split()[:count])


def stop_and_settle(studio: Page, event: Event, processes: list[Process] = ()) -> list[Segment]:
    """Stop the stream, then wait until every stored segment is batched and every batch drafted."""
    studio.click("#stop")
    expect(studio.locator("#state")).to_have_text("stopped", timeout=SOON)
    wait_until(
        lambda: not Segment.objects.unbatched().filter(event=event).exists()
        and not Batch.objects.filter(event=event).exclude(status=Batch.Status.DRAFTED).exists(),
        SOON / 1000,
        *processes,
        what="every segment batched and every batch drafted after the stream stopped",
    )
    return list(Segment.objects.filter(event=event).order_by("sequence"))


def assert_studio_matches_storage(studio: Page, segments: list[Segment], stack: Stack) -> None:
    shown = [text.strip() for text in studio.locator("#transcript .final").all_inner_texts()]
    assert shown and shown == [segment.text for segment in segments]
    ids = studio.locator("#transcript .final").evaluate_all("els => els.map(e => +e.dataset.segment)")
    assert ids == [segment.pk for segment in segments]
    session = StreamSession.objects.get(event=segments[0].event)
    assert session.status == StreamSession.Status.ENDED and session.dropped_audio_seconds == 0
    assert session.provider == ("deepgram" if stack.mavera else "offline")


def assert_one_post_per_batch(event: Event, stack: Stack) -> None:
    batches = list(Batch.objects.filter(event=event))
    assert batches and Post.objects.filter(event=event).count() == len(batches)
    assert Post.objects.filter(event=event, batch__isnull=True).count() == 0
    expected = "mavera" if stack.mavera else "offline"
    assert {batch.provider for batch in batches} == {expected}


def shown_post_ids(reader: Page) -> list[int]:
    return reader.eval_on_selector_all("#posts article.post", "els => els.map(e => +e.dataset.id)")


def test_auto_publishing_event_reaches_the_reader_without_reload(browser, stack, journalist):
    event = make_event(journalist, auto_publish=True)
    reader = open_reader(browser, stack, event)
    studio = go_live(browser, stack, event)
    expect(studio.locator("#transcript .final").first).to_be_visible(timeout=SOON)
    # The countdown starts at the batcher's first beat for the event: on a timeout, the processes' logs say why.
    wait_until(
        lambda: Event.objects.filter(pk=event.pk, last_batched_at__isnull=False).exists(),
        SOON / 1000,
        *stack.processes,
        what="the batcher's first beat for the event",
    )
    expect(studio.locator("#countdown")).to_have_text(re.compile(r"in \d+:\d\d|due now"), timeout=SOON)

    post_id, text = first_draft(studio)
    arrived = reader.locator(f"#post-{post_id}")
    expect(arrived).to_contain_text(opening_words(text), timeout=SOON)
    expect(arrived).to_contain_text("AI-assisted")

    segments = stop_and_settle(studio, event, stack.processes)
    assert_studio_matches_storage(studio, segments, stack)
    assert_one_post_per_batch(event, stack)
    published = list(Post.objects.filter(event=event, status=Post.Status.PUBLISHED).values_list("pk", flat=True))
    expect(reader.locator("#posts article.post")).to_have_count(len(published), timeout=SOON)
    assert sorted(shown_post_ids(reader)) == sorted(published)
    assert reader.evaluate("window.__sameDocument") is True
    if stack.mavera is not None:
        assert stack.mavera.posts(200), "the worker never called the Mavera emulator"
        assert all(call.authorization == "Bearer mvra_e2e_test_key" for call in stack.mavera.posts())


def test_moderated_event_is_published_by_an_editor_in_admin(browser, stack, journalist, editor):
    event = make_event(journalist, auto_publish=False)
    reader = open_reader(browser, stack, event)
    studio = go_live(browser, stack, event)
    post_id, text = first_draft(studio)
    expect(reader.locator("#posts article.post")).to_have_count(0)  # a draft is not news yet

    admin = log_in(browser.new_context(), stack.base_url, "ed", "ed-password-123", admin=True)
    admin.goto(f"{stack.base_url}/admin/publishing/post/queue/{event.pk}/")
    item = admin.locator(f"#post-{post_id}")
    expect(item.locator("textarea[name=body]")).to_have_value(re.compile(re.escape(opening_words(text))))
    expect(item).to_contain_text("Source transcript")
    item.locator("button[value=publish]").click()
    expect(admin.locator(".messagelist")).to_contain_text(f"Post {post_id}: publish done")

    arrived = reader.locator(f"#post-{post_id}")
    expect(arrived).to_contain_text(opening_words(text), timeout=SOON)
    segments = stop_and_settle(studio, event, stack.processes)
    assert_studio_matches_storage(studio, segments, stack)
    assert_one_post_per_batch(event, stack)
    assert shown_post_ids(reader) == [post_id]  # only what the editor published
    assert Post.objects.get(pk=post_id).actions.filter(action="published", user=editor).exists()
    assert reader.evaluate("window.__sameDocument") is True


def test_an_editor_ends_the_event_in_its_form_while_the_journalist_streams(browser, stack, journalist, editor):
    event = make_event(journalist, auto_publish=True)
    reader = open_reader(browser, stack, event)
    studio = go_live(browser, stack, event)
    expect(studio.locator("#transcript .final").first).to_be_visible(timeout=SOON)

    admin = log_in(browser.new_context(), stack.base_url, "ed", "ed-password-123", admin=True)
    admin.goto(f"{stack.base_url}/admin/events/event/{event.pk}/change/")
    admin.select_option("#id_status", "ended")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("ended")

    # The journalist is told in words, the stream is finished, and the studio cannot go live again.
    expect(studio.locator("#state")).to_have_text("event ended", timeout=SOON)
    expect(studio.locator("#message")).to_contain_text("This event has ended")
    expect(studio.locator("#go-live")).to_be_disabled()
    wait_until(
        lambda: not StreamSession.objects.filter(event=event, status__in=["live", "paused"]).exists()
        and not Segment.objects.unbatched().filter(event=event).exists()
        and not Batch.objects.filter(event=event).exclude(status=Batch.Status.DRAFTED).exists(),
        SOON / 1000,
        *stack.processes,
        what="the stream finished, its last words batched and drafted",
    )
    assert Batch.objects.filter(event=event, is_final=True).count() == 1
    event.refresh_from_db()
    assert event.status == Event.Status.ENDED and event.ends_at is not None

    # The reader's open page says so without a reload; the page's JSON-LD has the coverage's end.
    expect(reader.locator("#event-ended")).to_be_visible(timeout=SOON)
    expect(reader.locator("#event-ended")).to_contain_text("Ended at")
    expect(reader.locator("#event-badge")).to_have_text("Ended")
    assert reader.evaluate("window.__sameDocument") is True
    fresh = browser.new_context().new_page()
    fresh.goto(f"{stack.base_url}/events/{event.slug}/")
    jsonld = json.loads(fresh.locator("script[type='application/ld+json']").first.inner_text())
    assert jsonld["coverageEndTime"] == event.ends_at.isoformat()
