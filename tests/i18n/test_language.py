"""Which language a page is in: the newsroom's in the person's own choice, then the language cookie, then the
browser's; the readers' page in its event's; the scripts' words from the catalog of the page's language; the
studio socket's messages in the language its page has."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from liveblog_site.asgi import application
from newsroom.models import Preferences
from tests.support.emulators.studio import session_cookie

pytestmark = pytest.mark.django_db

GERMAN_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def page_language(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def test_a_german_browser_gets_the_login_page_in_german(client):
    german = client.get("/accounts/login/", **GERMAN_BROWSER)
    assert page_language(german) == "de" and german.headers["Content-Language"] == "de"
    assert "Anmelden" in german.text and "Log in" not in german.text
    assert "Accept-Language" in german.headers["Vary"]
    english = client.get("/accounts/login/", **ENGLISH_BROWSER)
    assert page_language(english) == "en-us" and "Log in" in english.text


def test_the_language_cookie_wins_over_the_browser(client):
    client.post("/i18n/setlang/", {"language": "de", "next": "/accounts/login/"}, **ENGLISH_BROWSER)
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "Anmelden" in client.get("/accounts/login/", **ENGLISH_BROWSER).text


def test_a_persons_own_choice_wins_over_cookie_and_browser(client, journalist, event):
    client.force_login(journalist)
    page = client.get("/accounts/language/", **ENGLISH_BROWSER)
    assert page.status_code == 200 and 'name="language"' in page.text
    saved = client.post("/accounts/language/", {"language": "de", "next": f"/studio/{event.slug}/"})
    assert saved.status_code == 302 and saved.headers["Location"] == f"/studio/{event.slug}/"
    assert Preferences.objects.get(user=journalist).language == "de"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en-us"  # an older choice on this device
    studio = client.get(f"/studio/{event.slug}/", **ENGLISH_BROWSER)
    assert page_language(studio) == "de" and "Mikrofon testen" in studio.text
    # Back to the browser's language: the choice and the cookie go.
    client.post("/accounts/language/", {"language": "", "next": "/admin/"})
    assert Preferences.objects.get(user=journalist).language == ""
    assert page_language(client.get(f"/studio/{event.slug}/", **ENGLISH_BROWSER)) == "en-us"
    assert page_language(client.get(f"/studio/{event.slug}/", **GERMAN_BROWSER)) == "de"


def test_the_language_page_refuses_an_unknown_language_and_a_foreign_next(client, journalist):
    client.force_login(journalist)
    assert client.post("/accounts/language/", {"language": "tlh"}).status_code == 400
    away = client.post("/accounts/language/", {"language": "de", "next": "https://evil.example/"})
    assert away.headers["Location"] == "/admin/"


def test_admin_links_to_the_language_page_in_its_own_language(client, editor):
    client.force_login(editor)
    admin = client.get("/admin/", **GERMAN_BROWSER)
    assert 'href="/accounts/language/?next=/admin/"' in admin.text
    assert "Abmelden" in admin.text and "Entwürfe" in admin.text  # Django's words and ours


@pytest.mark.parametrize(("event_language", "page"), [("de", "de"), ("en", "en"), ("multi", "en")])
def test_the_reader_page_is_in_its_events_language_whatever_the_browser(client, event, event_language, page):
    """A multilingual event's page is in the first language ticked as spoken (English when none is)."""
    event.language = event_language
    event.save()
    for browser in (GERMAN_BROWSER, ENGLISH_BROWSER):
        cache.clear()  # no page or event state cached by an earlier test
        response = client.get(f"/events/{event.slug}/", **browser)
        assert page_language(response) == page
        assert ("Zum Inhalt springen" in response.text) is (page == "de")


def test_the_scripts_catalog_is_the_one_the_url_names(client):
    german = client.get("/jsi18n/de.js", **ENGLISH_BROWSER)
    assert german.status_code == 200 and german.headers["Content-Type"].startswith("text/javascript")
    assert "public" in german.headers["Cache-Control"]
    assert json.dumps("nicht live")[1:-1] in german.text  # the studio's "not live"
    english = client.get("/jsi18n/en-us.js", **GERMAN_BROWSER)
    assert "nicht live" not in english.text
    unknown = client.get("/jsi18n/tlh.js")  # a well-formed tag we have no words for: the site's language
    assert unknown.status_code == 200 and "nicht live" not in unknown.text
    assert client.get("/jsi18n/..%2Fetc.js").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_the_studio_socket_answers_in_the_pages_language(fresh_roles, event, journalist):
    key = await sync_to_async(session_cookie)(journalist)
    messages = {}
    for language in ("de-DE,de;q=0.9", "en"):
        headers = [
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()),
            (b"accept-language", language.encode()),
        ]
        socket = WebsocketCommunicator(application, f"/ws/studio/{event.slug}/", headers=headers)
        connected, _ = await socket.connect(timeout=10)
        assert connected
        await socket.send_to(text_data="not json")
        messages[language[:2]] = json.loads(await socket.receive_from(timeout=10))
        await socket.disconnect()
    assert messages["de"]["code"] == messages["en"]["code"] == "unknown_message"
    assert messages["en"]["message"].startswith("Unknown message.")
    assert messages["de"]["message"].startswith("Unbekannte Nachricht.")
