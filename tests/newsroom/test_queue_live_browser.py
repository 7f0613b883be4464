"""The draft queue, live, in real Chromium on a real Daphne: a new draft, a failed batch and paused drafting
appear without a reload, the tab's title counts the drafts waiting, what an editor is typing is left alone,
and another editor's queue shows who is editing which post."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from events.models import Event
from events.roles import EDITORS
from publishing.models import Batch, Post
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 15_000  # ms; the embedded layer's poll hears the test process's changes within a second


@pytest.fixture
def other_editor(django_user_model, roles):
    user = django_user_model.objects.create_user("eve", password="eve-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


def told_of_problem(message, problems: list[str]) -> None:
    """Console errors (a CSP violation, a failed request, a script's error), but for the favicon the site has not."""
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(f"{message.text} at {message.location}")


def open_queue(browser, base_url: str, username: str, event, problems: list[str]):
    context = browser.new_context()
    context.on("console", lambda message: told_of_problem(message, problems))
    context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))
    page = log_in(context, base_url, username, f"{username}-password-123", admin=True)
    page.goto(f"{base_url}/admin/publishing/post/queue/{event.pk}/")
    expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
    page.evaluate("window.__sameDocument = true")
    return page


def test_the_queue_shows_new_drafts_failures_and_pauses_without_reload_and_counts_them_in_the_title(
    browser, daphne, event, editor
):
    first = Post.objects.create(event=event, body="The keynote opens.")
    problems: list[str] = []
    page = open_queue(browser, daphne, "ed", event, problems)
    expect(page).to_have_title(re.compile(r"^\(1\) Draft queue · Keynote"))
    typing = page.locator(f"#post-{first.pk} textarea[name=body]")
    typing.fill("The keynote opens, half typed")

    second = Post.objects.create(event=event, body="Ada Lovelace takes the stage.")
    expect(page.locator(f"#post-{second.pk}")).to_contain_text("Source transcript", timeout=SOON)
    expect(page.locator(f"#post-{second.pk} textarea[name=body]")).to_have_value("Ada Lovelace takes the stage.")
    expect(page).to_have_title(re.compile(r"^\(2\) Draft queue · Keynote"), timeout=SOON)
    expect(typing).to_have_value("The keynote opens, half typed")  # the open form is left as it was
    assert typing.evaluate("el => el === document.activeElement")

    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="Mavera answered 503")
    expect(page.locator("#failed-batches")).to_contain_text("Mavera answered 503", timeout=SOON)
    Event.objects.filter(pk=event.pk).update(cap_pause={"cap": 10, "used": 12, "reserved": 0, "next_batch": 12})
    expect(page.locator("#credits")).to_contain_text("Drafting paused: Credit cap of 10 reached", timeout=SOON)

    second.reject(None)
    expect(page.locator(f"#post-{second.pk}")).to_have_count(0, timeout=SOON)
    expect(page).to_have_title(re.compile(r"^\(1\) Draft queue · Keynote"), timeout=SOON)
    assert page.evaluate("window.__sameDocument") is True
    assert not problems, problems


def test_another_editors_queue_shows_who_is_editing_a_post(browser, daphne, event, editor, other_editor):
    post = Post.objects.create(event=event, body="The keynote opens.")
    problems: list[str] = []
    eds = open_queue(browser, daphne, "ed", event, problems)
    eves = open_queue(browser, daphne, "eve", event, problems)
    presence = eves.locator(f"#post-{post.pk} .queue-presence")
    expect(presence).to_have_text("")

    eds.locator(f"#post-{post.pk} textarea[name=body]").click()
    expect(presence).to_have_text("ed is editing", timeout=SOON)
    expect(eds.locator(f"#post-{post.pk} .queue-presence")).to_have_text("")  # not shown to ed himself

    eds.locator(f"#post-{post.pk} textarea[name=body]").blur()  # left without a change
    expect(presence).to_have_text("", timeout=SOON)
    eds.locator(f"#post-{post.pk} textarea[name=body]").fill("The keynote opens late.")
    expect(presence).to_have_text("ed is editing", timeout=SOON)
    eds.close()  # the tab closed: the socket's end forgets him
    expect(presence).to_have_text("", timeout=SOON)
    assert eves.evaluate("window.__sameDocument") is True
    assert not problems, problems


def test_a_refused_edit_keeps_its_text_beside_theirs_while_the_queue_moves_on(
    browser, daphne, event, editor, other_editor
):
    post = Post.objects.create(event=event, body="The keynote opens.")
    problems: list[str] = []
    eves = open_queue(browser, daphne, "eve", event, problems)
    post.edit(editor, headline="", body="Ada Lovelace opens the keynote.")  # saved while Eve's form is open
    item = eves.locator(f"#post-{post.pk}")
    item.locator("textarea[name=body]").fill("The keynote opens late.")
    with eves.expect_navigation():
        item.locator("input[value='Save edit']").click()

    expect(eves.locator(".messagelist")).to_contain_text("Not saved: ed saved this post (revision 2)")
    expect(item.locator(".edit-conflict .theirs")).to_contain_text("Ada Lovelace opens the keynote.")
    expect(item.locator("textarea[name=body]")).to_have_value("The keynote opens late.")
    expect(eves.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
    eves.evaluate("window.__sameDocument = true")
    newer = Post.objects.create(event=event, body="Questions from the floor.")
    expect(eves.locator(f"#post-{newer.pk}")).to_have_count(1, timeout=SOON)
    expect(item.locator("textarea[name=body]")).to_have_value("The keynote opens late.")  # not swapped away
    assert eves.evaluate("window.__sameDocument") is True
    post.refresh_from_db()
    assert (post.body, post.revision) == ("Ada Lovelace opens the keynote.", 2)
    assert not [p for p in problems if "409" not in p], problems
