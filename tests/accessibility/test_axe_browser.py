"""axe-core's WCAG 2.1 A and AA audit in real Chromium on a real Daphne: no serious or critical failure on the
readers' index, an event page with posts, the login page, the studio, the draft queue and a post's change form."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.support import factories
from tests.support.axe import audit, blocking
from tests.support.browser import log_in
from tests.support.emulators.studio import session_cookie

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

SOON = 15_000  # ms


@pytest.fixture
def posts(event, editor):
    """An event as readers and editors meet it: a key event, a pinned post, a correction, an edit, and a draft
    from the transcript waiting in the queue."""
    event.description = "Ada Lovelace opens the conference."
    event.save()
    return factories.posts_of_each_kind(event, editor) | factories.queue_of_each_kind(event)


def report(failures: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}: {line}" for where, lines in failures.items() for line in lines)


def audited(page, path: str) -> list[str]:
    page.goto(path)
    return blocking(audit(page))


def test_readers_pages_and_login_have_no_serious_failure(browser, daphne, event, posts):
    context = browser.new_context(base_url=daphne, bypass_csp=True)
    page = context.new_page()
    failures = {}
    for path in (
        "/",
        f"/events/{event.slug}/",
        f"/events/{event.slug}/?view=key&order=oldest",
        f"/events/{event.slug}/posts/{posts['key'].pk}/",
        f"/events/{event.slug}/embed/",
        "/accounts/login/",
        "/admin/login/",
    ):
        failures[path] = audited(page, path)
    context.close()
    assert not any(failures.values()), report(failures)


def test_studio_queue_and_change_form_have_no_serious_failure(browser, daphne, event, posts, journalist, editor):
    context = browser.new_context(base_url=daphne, bypass_csp=True)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": daphne}])
    failures = {}
    page = context.new_page()
    failures["studio"] = audited(page, f"/studio/{event.slug}/")
    context.clear_cookies()
    page = log_in(context, daphne, "ed", "ed-password-123", admin=True)
    page.goto(f"/admin/publishing/post/queue/{event.pk}/")
    expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
    expect(page.locator(f"#post-{posts['held'].pk} .hold-reason")).to_have_count(1)
    failures["queue"] = blocking(audit(page))
    failures["queues"] = audited(page, "/admin/publishing/post/queue/")
    failures["change form"] = audited(page, f"/admin/publishing/post/{posts['corrected'].pk}/change/")
    failures["draft's change form"] = audited(page, f"/admin/publishing/post/{posts['held'].pk}/change/")
    context.close()
    assert not any(failures.values()), report(failures)
