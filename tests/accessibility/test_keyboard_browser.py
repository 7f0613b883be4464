"""Keyboard only, in real Chromium on a real Daphne: on the reader page and the draft queue, Tab moves through the
controls in the page's order, each one shows where the focus is (:focus-visible), and they work from the keyboard."""

import time

import pytest
from playwright.sync_api import expect

from publishing.models import Post
from tests.support import factories
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 15_000  # ms

# What the focused element looks like and where it is; "before" compares it with the one focused before it.
FOCUSED = """previous => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    name: (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 60),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    shown: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight,
    after: !previous || !!(previous.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING),
  };
}"""


def tab_until(page, wanted, *, most: int) -> list[dict]:
    """Press Tab until the focused element answers `wanted`; every stop on the way, as FOCUSED describes it."""
    stops = []
    previous = None
    for _ in range(most):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED, previous)
        stops.append(stop)
        previous = page.evaluate_handle("document.activeElement")
        if wanted(stop):
            return stops
    raise AssertionError(f"not reached in {most} presses of Tab: {[stop['name'] for stop in stops]}")


def assert_focus_shown_in_order(stops: list[dict]) -> None:
    hidden = [stop["name"] for stop in stops if not (stop["outline"] and stop["shown"])]
    assert not hidden, f"focus not visible on {hidden}"
    backwards = [stop["name"] for stop in stops if not stop["after"]]
    assert not backwards, f"Tab went back up the page to {backwards}"


def test_the_reader_page_by_keyboard(browser, daphne, event, editor):
    key = factories.published_post(event, "The keynote opens.", headline="Opening", editor=editor)
    key.set_key_event(editor, True)
    factories.published_post(event, "Questions from the floor.", headline="Questions", editor=editor)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{daphne}/events/{event.slug}/")
        expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=SOON)

        page.keyboard.press("Tab")
        first = page.evaluate(FOCUSED, None)
        assert first["name"] == "Skip to content" and first["outline"] and first["shown"], first
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        stops = tab_until(page, lambda stop: stop["name"] == "Key events" and stop["tag"] == "a", most=30)
        assert_focus_shown_in_order(stops)
        names = [stop["name"] for stop in stops]
        assert "Opening" in names and "Atom feed" in names  # the key events list, before the toolbar
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{daphne}/events/{event.slug}/?view=key")
        expect(page.locator("#posts article.post")).to_have_count(1)

        page.keyboard.press("Tab")
        stops = tab_until(page, lambda stop: stop["name"] == "Link to this update", most=30)
        assert_focus_shown_in_order(stops)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{daphne}/events/{event.slug}/#post-{key.pk}")
    finally:
        context.close()


def saved(post: Post, done, tries: int = 150) -> bool:
    """Whether the form's POST has reached the database: the page may show the value before it has."""
    for _ in range(tries):
        post.refresh_from_db()
        if done(post):
            return True
        time.sleep(0.1)
    return False


def test_the_draft_queue_by_keyboard(browser, daphne, event, editor):
    draft = Post.objects.create(event=event, body="Ada Lovelace opens the keynote.")
    context = browser.new_context()
    try:
        page = log_in(context, daphne, "ed", "ed-password-123", admin=True)
        page.goto(f"{daphne}/admin/publishing/post/queue/{event.pk}/")
        expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)

        item = f"#post-{draft.pk}"
        stops = tab_until(page, lambda stop: stop["name"] == "Text of the post", most=80)
        assert_focus_shown_in_order(stops)
        page.keyboard.press("Control+End")
        page.keyboard.type(" Applause follows.")
        stops = tab_until(page, lambda stop: stop["name"] == "Save edit", most=5)
        assert_focus_shown_in_order(stops)
        page.keyboard.press("Enter")
        expect(page.locator(f"{item} textarea[name=body]")).to_have_value(
            "Ada Lovelace opens the keynote. Applause follows.", timeout=SOON
        )
        assert saved(draft, lambda post: post.body == "Ada Lovelace opens the keynote. Applause follows.")

        # A fresh page: the edit's own live update must not re-render the item while Tab walks through it.
        page.reload()
        expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
        page.locator(f"{item} textarea[name=body]").focus()
        stops = tab_until(page, lambda stop: stop["name"] == "Approve and publish", most=30)
        assert_focus_shown_in_order(stops)
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        expect(page.locator(f"{item}")).to_have_count(0, timeout=SOON)  # published: out of the drafts waiting
        assert saved(draft, lambda post: post.status == Post.Status.PUBLISHED)
    finally:
        context.close()
