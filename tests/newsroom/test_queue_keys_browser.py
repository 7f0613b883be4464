"""The editor's keys in the draft queue (issue 28), in real Chromium on a real Daphne: j and k move between drafts,
p publishes, a approves, e edits, r rejects, ? lists them in a dialog; keys do nothing while typing; the draft
the keys are on keeps focus when new drafts arrive, and after a decision reloads the page."""

import pytest
from playwright.sync_api import Page, expect

from publishing.models import Post
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 15_000  # ms; the embedded layer's poll hears the test process's changes within a second


def told_of_problem(message, problems: list[str]) -> None:
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(f"{message.text} at {message.location}")


def open_queue(browser, base_url: str, event, problems: list[str]) -> Page:
    context = browser.new_context()
    context.on("console", lambda message: told_of_problem(message, problems))
    context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))
    page = log_in(context, base_url, "ed", "ed-password-123", admin=True)
    page.goto(f"{base_url}/admin/publishing/post/queue/{event.pk}/")
    expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
    return page


def on(page: Page, post: Post) -> None:
    """The keys are on `post`: marked as current, and focused."""
    item = page.locator(f"#post-{post.pk}")
    expect(item).to_have_attribute("aria-current", "true", timeout=SOON)
    expect(item).to_be_focused(timeout=SOON)
    expect(page.locator(".queue-item[aria-current]")).to_have_count(1)


def test_the_editors_keys_move_decide_edit_and_list_themselves(browser, daphne, event, editor):
    drafts = [Post.objects.create(event=event, body=f"Draft number {n}.") for n in range(4)]
    newest, second, third, oldest = reversed(drafts)  # the queue lists the newest first
    problems: list[str] = []
    page = open_queue(browser, daphne, event, problems)

    page.keyboard.press("j")
    on(page, newest)
    page.keyboard.press("j")
    page.keyboard.press("j")
    on(page, third)
    page.keyboard.press("k")
    on(page, second)

    # ? lists the keys in a modal dialog; Escape closes it and the keys go on where they were.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keys in the draft queue")
    expect(dialog).to_be_visible()
    for key in "jkpaer?":
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    page.keyboard.press("j")  # nothing moves behind an open dialog
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    on(page, second)

    # A new draft arrives: the page swaps it in, and focus stays on the draft the keys are on.
    arrived = Post.objects.create(event=event, body="A draft that just arrived.")
    expect(page.locator(f"#post-{arrived.pk}")).to_have_count(1, timeout=SOON)
    on(page, second)
    page.evaluate("window.__sameDocument = true")

    # e edits: the draft's text, where keys are letters typed.
    page.keyboard.press("e")
    body = page.locator(f"#post-{second.pk} textarea[name=body]")
    expect(body).to_be_focused()
    page.keyboard.type(" jkpar")
    expect(body).to_have_value("Draft number 2. jkpar")
    assert page.evaluate("window.__sameDocument") is True  # p, a, r did nothing: no decision reloaded the page
    body.fill("Draft number 2.")
    page.locator(f"#post-{second.pk}").focus()

    # a approves; the page reloads with the keys on the same draft.
    with page.expect_navigation():
        page.keyboard.press("a")
    on(page, second)
    second.refresh_from_db()
    assert second.status == Post.Status.APPROVED

    # r rejects; the draft leaves the queue and the keys go on to the next one.
    with page.expect_navigation():
        page.keyboard.press("r")
    on(page, third)
    second.refresh_from_db()
    assert second.status == Post.Status.REJECTED

    # p publishes.
    with page.expect_navigation():
        page.keyboard.press("p")
    third.refresh_from_db()
    assert third.is_published
    on(page, oldest)

    # The keys' button opens the same list.
    page.get_by_role("button", name="Keys").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    assert Post.objects.get(pk=oldest.pk).status == Post.Status.DRAFT
    assert not problems, problems
