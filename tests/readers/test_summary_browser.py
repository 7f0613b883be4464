"""The story so far, its whole path, with real processes: published posts make it due, the Celery worker drafts it
(with the Mavera emulator, or offline), it waits in the editor's open queue (in real Chromium, arriving without a
reload), the editor publishes it there, and an open reader page receives it live, without a reload."""

import re

import pytest
from playwright.sync_api import expect

from publishing import summaries
from publishing.models import Summary
from tests.support import factories
from tests.support.axe import audit, blocking
from tests.support.browser import log_in
from tests.support.emulators.mavera import MaveraEmulator
from tests.support.processes import Process, empty_broker_queue, start_beat, start_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 30_000  # ms: a functional bound, far above a tick, a draft and a push
UPDATES = [
    ("Doors open", "The hall fills up as 900 delegates take their seats."),
    ("", "Ada Lovelace opens the keynote with a story about the analytical engine."),
    ("Pipeline drafts every thirty seconds", "She says the new pipeline drafts a post every thirty seconds."),
]
FABRICATED = "Attendance reaches 12,000 people."


@pytest.fixture
def processes():
    empty_broker_queue()
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()
    empty_broker_queue()


def told_of_problem(message, problems: list[str]) -> None:
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(f"{message.text} at {message.location}")


def watched(context, problems: list[str]):
    context.on("console", lambda message: told_of_problem(message, problems))
    context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))
    return context


@pytest.mark.parametrize("drafter", ["offline", "mavera"])
def test_drafted_held_published_by_an_editor_and_live_on_an_open_page(
    browser, daphne, event, editor, processes, drafter
):
    event.summary_every_posts = 3
    event.save()
    problems: list[str] = []
    with MaveraEmulator(summary_extra=FABRICATED) as mavera:
        env = {"BATCH_TICK_SECONDS": "0.5"}
        if drafter == "mavera":
            env |= {"MAVERA_API_KEY": "mvra_live_test", "MAVERA_BASE_URL": mavera.base_url}
        processes += [start_worker(**env), start_beat(**env)]

        reader = watched(browser.new_context(), problems).new_page()
        reader.goto(f"{daphne}/events/{event.slug}/")
        expect(reader.locator("#event[data-connected]")).to_have_count(1, timeout=SOON)
        reader.evaluate("window.__sameDocument = true")
        expect(reader.locator("#summary")).to_be_hidden()

        queue = log_in(watched(browser.new_context(), problems), daphne, "ed", "ed-password-123", admin=True)
        queue.goto(f"{daphne}/admin/publishing/post/queue/{event.pk}/")
        expect(queue.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
        queue.evaluate("window.__sameDocument = true")
        expect(queue.locator("#queue-summary")).to_contain_text("No summary published yet.")

        posts = [factories.published_post(event, body, headline=headline, editor=editor) for headline, body in UPDATES]
        draft = queue.locator("#queue-summary .summary-draft")
        expect(draft).to_contain_text("Waiting: version 1", timeout=SOON)
        summary = Summary.objects.get(event=event)
        assert summary.status == Summary.Status.DRAFT and summary.provider == drafter
        assert summary.source_post_ids == [post.pk for post in posts]
        expect(reader.locator("#summary")).to_be_hidden()  # drafted is not published
        assert queue.evaluate("window.__sameDocument") is True  # the draft arrived without a reload

        if drafter == "mavera":  # the emulator added a number nobody published: held, highlighted
            assert summary.points[-1] == FABRICATED and summary.is_held and mavera.posts()
            expect(draft.locator("mark.untraced-number")).to_have_text("12,000")
            expect(draft).to_contain_text("Held for an editor:")
            draft.get_by_label("Publish all the same: I checked the highlighted points").check()
        else:
            assert summary.checked and not summary.is_held
            expect(draft).to_contain_text("Quotes, numbers and names checked against the published posts")
        draft.get_by_role("button", name="Publish the story so far").click()

        points = reader.locator("#summary-points li")
        expect(reader.locator("#summary")).to_be_visible(timeout=SOON)
        summary.refresh_from_db()
        expect(points).to_have_text(summary.points)
        assert summary.status == Summary.Status.PUBLISHED and summary.published_by == editor
        expect(reader.locator("#summary-at")).to_have_attribute("datetime", summary.published_at.isoformat())
        # Written as the page's other times are (times.js): its full date in the title.
        expect(reader.locator("#summary-at")).to_have_attribute("title", re.compile(str(summary.published_at.year)))
        expect(reader.locator("#announcer")).to_have_text("The story so far has been updated.")
        assert reader.evaluate("window.__sameDocument") is True
        expect(queue.locator("#summary-current")).to_contain_text("Readers see · version 1", timeout=SOON)

    for process in processes:
        process.assert_no_traceback()
    assert not problems, problems


def test_the_summary_on_the_page_and_its_card_in_the_queue_have_no_serious_accessibility_failure(
    browser, daphne, event, editor
):
    for headline, body in UPDATES:
        factories.published_post(event, body, headline=headline, editor=editor)
    Summary.objects.filter(event=event).delete()  # what the publishes claimed: drafted here instead
    first = summaries.draft_summary(Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR).pk)
    summaries.publish(first.pk, event, editor)
    waiting = summaries.draft_summary(Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR).pk)
    summaries.edit(waiting.pk, event, editor, "\n".join([*waiting.points[1:], FABRICATED]))  # changed, held

    context = browser.new_context(base_url=daphne, bypass_csp=True)
    failures = {}
    page = context.new_page()
    page.goto(f"/events/{event.slug}/")
    expect(page.locator("#summary-points li")).to_have_count(len(first.points))
    failures["reader page"] = blocking(audit(page))
    queue = log_in(context, daphne, "ed", "ed-password-123", admin=True)
    queue.goto(f"/admin/publishing/post/queue/{event.pk}/")
    card = queue.locator("#queue-summary")
    expect(card.locator("mark.untraced-number")).to_have_text("12,000")
    card.locator(".summary-edit summary").click()  # the edit form open, as an editor has it
    failures["queue's card"] = blocking(audit(queue))
    context.close()
    assert not any(failures.values()), failures
