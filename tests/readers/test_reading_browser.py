"""How a reader reads an event's page, in real Chromium on a real Daphne: key events only and oldest first stay
live (a post marked key later joins the key view in its place; oldest first, new posts join the end without
moving the page), the choice is remembered in the browser, and the toolbar's links work without JavaScript."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from publishing.models import Post
from readers import changes
from tests.support import factories

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

ARRIVES = 15_000  # ms: a functional bound, far above what a live update takes


@pytest.fixture
def contexts(browser):
    opened = []

    def open_context(**options):
        context = browser.new_context(**options)
        problems: list[str] = []
        context.on("weberror", lambda error: problems.append(str(error.error)))
        context.problems = problems
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        assert not context.problems, context.problems
        context.close()


def posts_at(event, *specs: tuple[str, bool], minutes_ago: int = 60) -> list[Post]:
    """Published posts a minute apart, oldest first: (headline, key event)."""
    start = timezone.now() - timedelta(minutes=minutes_ago)
    made = []
    for n, (headline, key) in enumerate(specs):
        post = factories.published_post(event, f"{headline}: the text.", headline=headline)
        Post.objects.filter(pk=post.pk).update(published_at=start + timedelta(minutes=n), key_event=key)
        made.append(post)
    changes.forget_state(event.slug)
    return made


def live(context, url: str):
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    page.evaluate("window.__sameDocument = true")
    return page


def listed(page) -> list[int]:
    return [int(i) for i in page.locator("#posts article.post").evaluate_all("els => els.map(e => e.dataset.id)")]


def test_key_view_stays_live_as_posts_are_published_marked_and_unmarked(contexts, daphne, event, editor):
    first, aside, second = posts_at(event, ("Opening", True), ("Aside", False), ("Launch", True))
    page = live(contexts(), f"{daphne}/events/{event.slug}/?view=key")
    assert listed(page) == [second.pk, first.pk]
    expect(page.locator("#reading a[aria-current]")).to_have_text(["Key events", "Newest first"])

    chatter = factories.published_post(event, "Not a key event.", editor=editor)
    news = factories.published_post(event, "The prize goes to Ada.", headline="Winner", editor=editor)
    news.set_key_event(editor, True)
    expect(page.locator(f"#post-{news.pk}")).to_be_visible(timeout=ARRIVES)
    assert listed(page) == [news.pk, second.pk, first.pk]  # the plain post never joined
    assert page.locator(f"#post-{chatter.pk}").count() == 0

    Post.objects.get(pk=aside.pk).set_key_event(editor, True)  # an older post marked later: in its place
    expect(page.locator(f"#post-{aside.pk}")).to_have_count(1, timeout=ARRIVES)
    assert listed(page) == [news.pk, second.pk, aside.pk, first.pk]
    Post.objects.get(pk=second.pk).set_key_event(editor, False)
    expect(page.locator(f"#post-{second.pk}")).to_have_count(0, timeout=ARRIVES)
    assert listed(page) == [news.pk, aside.pk, first.pk]
    assert page.evaluate("window.__sameDocument") is True


def test_oldest_first_appends_new_posts_below_without_moving_the_page(contexts, daphne, event, editor):
    made = posts_at(event, *[(f"Update {n}", n == 2) for n in range(6)])
    page = live(contexts(viewport={"width": 800, "height": 500}), f"{daphne}/events/{event.slug}/?order=oldest")
    assert listed(page) == [post.pk for post in made]
    page.evaluate("window.scrollTo(0, 400)")
    page.wait_for_function("window.scrollY === 400")
    anchor = page.locator(f"#post-{made[2].pk}").evaluate("el => el.getBoundingClientRect().top")

    fresh = factories.published_post(event, "The last session starts.", headline="Last session", editor=editor)
    arrived = page.locator(f"#post-{fresh.pk}")
    expect(arrived).to_have_count(1, timeout=ARRIVES)
    expect(arrived).not_to_be_hidden()
    assert listed(page) == [post.pk for post in made] + [fresh.pk]
    assert page.evaluate("window.scrollY") == 400
    assert page.locator(f"#post-{made[2].pk}").evaluate("el => el.getBoundingClientRect().top") == anchor
    expect(page.locator("#new-banner")).to_be_hidden()
    expect(page.locator("#announcer")).to_have_text("New update at the end of the page")
    assert page.evaluate("window.__sameDocument") is True


def test_oldest_first_with_later_pages_holds_new_posts_until_the_reader_gets_there(contexts, daphne, event, editor):
    made = posts_at(event, *[(f"Update {n}", False) for n in range(changes.PAGE_SIZE + 2)])
    page = live(contexts(), f"{daphne}/events/{event.slug}/?order=oldest")
    assert listed(page) == [post.pk for post in made[: changes.PAGE_SIZE]]
    fresh = factories.published_post(event, "Published while the reader is at the start.", editor=editor)
    expect(page.locator("#event")).to_have_attribute("data-cursor", str(changes.fresh_state(event.slug).change_seq))
    assert page.locator(f"#post-{fresh.pk}").count() == 0  # not before the posts between

    page.keyboard.press("End")
    page.get_by_role("link", name="Load later posts").click()
    expect(page.locator(f"#post-{fresh.pk}")).to_have_count(1, timeout=ARRIVES)
    assert listed(page) == [post.pk for post in made] + [fresh.pk]
    expect(page.locator("#later")).to_have_count(0)


def test_the_reading_chosen_is_remembered_in_this_browser(contexts, daphne, event):
    posts_at(event, ("Opening", True), ("Aside", False))
    context = contexts()
    page = live(context, f"{daphne}/events/{event.slug}/")
    page.get_by_role("link", name="Key events").click()
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/?view=key")
    page.get_by_role("link", name="Oldest first").click()
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/?view=key&order=oldest")

    page.goto(f"{daphne}/events/{event.slug}/")  # an address that says nothing: the remembered reading
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/?view=key&order=oldest", timeout=ARRIVES)
    expect(page.locator("#reading a[aria-current]")).to_have_text(["Key events", "Oldest first"])
    page.goto(f"{daphne}/events/{event.slug}/?order=newest")  # an address that says how: as it says
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/?order=newest")

    other = contexts().new_page()  # another browser (profile) remembers nothing
    other.goto(f"{daphne}/events/{event.slug}/")
    expect(other.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    expect(other).to_have_url(f"{daphne}/events/{event.slug}/")

    page.get_by_role("link", name="All posts").click()
    page.get_by_role("link", name="Newest first").click()
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/")
    page.reload()
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    expect(page).to_have_url(f"{daphne}/events/{event.slug}/")


def test_the_toolbar_and_pages_work_without_javascript(contexts, daphne, event):
    made = posts_at(event, *[(f"Update {n}", n % 3 == 0) for n in range(changes.PAGE_SIZE + 3)])
    page = contexts(java_script_enabled=False).new_page()
    page.goto(f"{daphne}/events/{event.slug}/")
    page.get_by_role("link", name="Oldest first").click()
    assert listed(page) == [post.pk for post in made[: changes.PAGE_SIZE]]
    page.get_by_role("link", name="Load later posts").click()
    assert listed(page) == [post.pk for post in made[changes.PAGE_SIZE :]]
    page.get_by_role("link", name="Key events").click()
    assert listed(page) == [post.pk for post in made[::3]]  # key events, still oldest first
    page.get_by_role("link", name="Newest first").click()
    assert listed(page) == [post.pk for post in reversed(made[::3])]
