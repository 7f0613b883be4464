"""Reader editions in real Chromium on a real Daphne: the language links switch editions without JavaScript, the
choice is remembered in the browser (a page opened plainly goes to it, keeping the reading), and a page in an edition
is pushed the translated post live over its socket."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from events.roles import create_roles
from publishing.models import PostTranslation
from tests.support import factories

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARRIVES = 15_000  # ms: a functional bound, far above what a live update takes
BODY = "Die Firma wächst um 40 Prozent, sagt Ada Lovelace."
ENGLISH = "The company grows by 40 percent, says Ada Lovelace."


@pytest.fixture(autouse=True)
def _fresh(transactional_db):
    cache.clear()
    create_roles()


def test_the_chosen_edition_is_remembered_and_pushed_live(browser, daphne, journalist, editor, mavera, worker):
    event = factories.live_event(
        journalist, title="Hauptrede", slug="hauptrede", language="de", reader_languages=["en"]
    )
    first = factories.published_post(event, BODY, editor=editor)
    assert PostTranslation.objects.get(post=first).status == PostTranslation.Status.READY
    context = browser.new_context()
    problems: list[str] = []
    context.on("weberror", lambda error: problems.append(str(error.error)))
    try:
        page = context.new_page()
        page.goto(f"{daphne}/events/{event.slug}/?view=key")
        page.click("#editions a[data-lang='en']")
        page.wait_for_url("**/events/hauptrede/?view=key&lang=en")
        page.goto(f"{daphne}/events/{event.slug}/")  # opened plainly: the remembered edition, the remembered reading
        page.wait_for_url("**/events/hauptrede/?*lang=en*")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(f"{daphne}/events/{event.slug}/?lang=en")
        expect(page.locator(f"#post-{first.pk} .body")).to_have_text(ENGLISH)
        expect(page.locator(f"#post-{first.pk} .edition-note")).to_contain_text("Translated automatically from German")
        page.wait_for_selector("#event[data-connected='1']")
        second = factories.published_post(event, "Die Zukunft sagt Ada Lovelace.", editor=editor)
        expect(page.locator(f"#post-{second.pk} .body")).to_have_text("The future says Ada Lovelace.", timeout=ARRIVES)
        assert not problems, problems
    finally:
        context.close()
