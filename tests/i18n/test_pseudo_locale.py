"""Every page in the pseudo-locale, rendered by the server for a German browser: each word it shows is inside
the pseudo-locale's marks, so none bypassed the translation framework, apart from people's words and brands."""

import pytest

from publishing.models import Summary
from tests.i18n.conftest import PEOPLE_AND_BRANDS
from tests.support.pseudo import untranslated

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def allowed() -> tuple[str, ...]:
    points = [point for summary in Summary.objects.all() for point in summary.points]
    return (*points, *PEOPLE_AND_BRANDS)


def report(left: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}: {words}" for path, words in left.items())


def check(client, paths: list[str]) -> dict[str, list[str]]:
    """Each page's words outside the marks; every page must answer 200."""
    found = {}
    for path in paths:
        response = client.get(path, **GERMAN)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers.get("Content-Language") == "de" or path.startswith("/events/"), path
        found[path] = untranslated(response.content.decode(), allowed())
    return {path: words for path, words in found.items() if words}


def test_the_readers_pages_of_a_german_event(client, in_pseudo_german, coverage):
    event = coverage["event"]
    left = check(
        client,
        [
            "/",
            f"/events/{event.slug}/",
            f"/events/{event.slug}/?view=key&order=oldest",
            f"/events/{event.slug}/posts/{coverage['corrected'].pk}/",
            f"/events/{event.slug}/embed/",
        ],
    )
    assert not left, report(left)


def test_login_and_language_pages(client, in_pseudo_german, journalist):
    left = check(client, ["/accounts/login/", "/admin/login/"])
    client.force_login(journalist)
    left |= check(client, ["/accounts/language/"])
    assert not left, report(left)


def test_the_studio_and_a_draft(client, in_pseudo_german, coverage, journalist):
    event = coverage["event"]
    client.force_login(journalist)
    left = check(client, [f"/studio/{event.slug}/", f"/studio/{event.slug}/drafts/{coverage['held'].pk}/"])
    assert not left, report(left)


def test_the_draft_queue_and_the_admin_pages_we_made(client, in_pseudo_german, coverage, editor):
    event = coverage["event"]
    client.force_login(editor)
    left = check(
        client,
        [
            "/admin/",
            "/admin/publishing/post/queue/",
            f"/admin/publishing/post/queue/{event.pk}/",
            f"/admin/publishing/post/queue/{event.pk}/?show=all",
            "/admin/publishing/post/",
            f"/admin/publishing/post/{coverage['corrected'].pk}/change/",
            f"/admin/publishing/post/{coverage['held'].pk}/change/",
            "/admin/publishing/post/add/",
            "/admin/events/event/",
            f"/admin/events/event/{event.pk}/change/",
            "/admin/events/event/add/",
            "/admin/publishing/postaction/",
            "/admin/publishing/alert/",
            "/admin/publishing/batch/",
            f"/admin/transcription/segment/?event__id__exact={event.pk}",
            "/admin/transcription/streamsession/",
        ],
    )
    assert not left, report(left)


def test_the_pseudo_locale_catches_an_english_word(client, settings, pseudo_locale):
    """The check itself: a page in the site's own English shows its words outside the marks."""
    settings.LOCALE_PATHS = [pseudo_locale, *settings.LOCALE_PATHS]
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Log in" in untranslated(page, PEOPLE_AND_BRANDS)
    assert settings.LANGUAGE_CODE == "en-us"
