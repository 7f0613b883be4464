"""How a reader reads an event's page, server-rendered: key events only (?view=key), from the start
(?order=oldest), both paged by cursor, linked from the page, cached like the page and refused when unknown; the
page's language and the zone its times are written in."""

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from events.roles import create_roles
from publishing.models import Post
from readers import changes
from tests.support import factories
from tests.support.caches import cache_entries

pytestmark = pytest.mark.django_db(transaction=True)

POST_ID = re.compile(r'<article class="post[^"]*" id="post-(\d+)"')


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    create_roles()
    yield
    cache.clear()


@pytest.fixture
def story(event, editor):
    """25 posts a minute apart, every fifth a key event: the oldest first in the list."""
    start = timezone.now() - timedelta(hours=1)
    posts = []
    for n in range(25):
        post = factories.published_post(event, f"Update number {n}.", headline=f"Headline {n}")
        Post.objects.filter(pk=post.pk).update(published_at=start + timedelta(minutes=n), key_event=n % 5 == 0)
        posts.append(post)
    changes.forget_state(event.slug)
    return posts


def shown(html: str) -> list[int]:
    return [int(i) for i in POST_ID.findall(html)]


def ids(posts) -> list[int]:
    return [post.pk for post in posts]


def test_key_view_lists_only_key_events_newest_first(client, event, story):
    html = client.get(f"/events/{event.slug}/?view=key").text
    assert shown(html) == ids(reversed(story[::5]))
    assert 'id="key-events"' not in html  # the list is the key events: no second list of them
    assert 'aria-label="Key events, newest first"' in html
    assert 'data-view="key" data-order="newest"' in html


def test_oldest_first_reads_from_the_start_and_pages_by_after(client, event, story):
    html = client.get(f"/events/{event.slug}/?order=oldest").text
    assert shown(html) == ids(story[:20])
    assert 'aria-label="Updates, oldest first"' in html
    later = re.search(r'<a id="later" href="\?order=oldest&amp;after=(\d+)"', html)
    assert later and int(later.group(1)) == story[19].pk and "Load later posts" in html

    rest = client.get(f"/events/{event.slug}/?order=oldest&after={later.group(1)}").text
    assert shown(rest) == ids(story[20:]) and 'id="later"' not in rest
    data = client.get(f"/events/{event.slug}/later.json?after={later.group(1)}").json()
    assert [post["id"] for post in data["posts"]] == ids(story[20:]) and data["after"] is None


def test_key_events_page_by_cursor_in_either_order(client, event, story, monkeypatch):
    monkeypatch.setattr(changes, "PAGE_SIZE", 2)
    key = story[::5]  # 5 key events
    newest = client.get(f"/events/{event.slug}/?view=key").text
    assert shown(newest) == ids(reversed(key[3:]))
    before = re.search(r'<a id="older" href="\?view=key&amp;before=(\d+)"', newest).group(1)
    assert shown(client.get(f"/events/{event.slug}/?view=key&before={before}").text) == ids(reversed(key[1:3]))
    data = client.get(f"/events/{event.slug}/older.json?before={before}&view=key").json()
    assert [post["id"] for post in data["posts"]] == ids(reversed(key[1:3])) and data["before"] == key[1].pk

    oldest = client.get(f"/events/{event.slug}/?view=key&order=oldest").text
    assert shown(oldest) == ids(key[:2])
    after = re.search(r'<a id="later" href="\?view=key&amp;order=oldest&amp;after=(\d+)"', oldest).group(1)
    data = client.get(f"/events/{event.slug}/later.json?after={after}&view=key").json()
    assert [post["id"] for post in data["posts"]] == ids(key[2:4]) and data["after"] == key[3].pk


def test_the_toolbar_links_each_reading_and_marks_the_current_one(client, event, story):
    html = client.get(f"/events/{event.slug}/?view=key&order=oldest").text
    toolbar = html[html.index('id="reading"') : html.index("</nav>", html.index('id="reading"'))]
    links = re.findall(r'<a href="([^"]*)"[^>]*>([^<]+)</a>', toolbar)
    assert links == [
        (f"/events/{event.slug}/?order=oldest", "All posts"),
        (f"/events/{event.slug}/?view=key&amp;order=oldest", "Key events"),
        (f"/events/{event.slug}/?view=key", "Newest first"),
        (f"/events/{event.slug}/?view=key&amp;order=oldest", "Oldest first"),
    ]
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', toolbar)
    assert current == ["Key events", "Oldest first"]
    default = client.get(f"/events/{event.slug}/").text
    assert f'<a href="/events/{event.slug}/" data-view="all" data-order="newest" aria-current="page">' in default


def test_a_reading_is_cached_under_its_own_key_and_the_default_spelt_out_is_the_default(client, event, story):
    url = f"/events/{event.slug}/"
    default = client.get(url)["ETag"]
    assert client.get(url + "?view=all&order=newest")["ETag"] == default
    readings = {client.get(url + query)["ETag"] for query in ("?view=key", "?order=oldest", "?view=key&order=oldest")}
    assert len(readings | {default}) == 4
    for query in ("", "?view=key", "?order=oldest"):
        etag = client.get(url + query)["ETag"]
        assert client.get(url + query, headers={"If-None-Match": etag}).status_code == 304
    factories.published_post(event, "A new update.")
    assert client.get(url + "?view=key", headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?view=KEY",
        "?view=key%00",
        "?view=everything",
        "?order=random",
        "?order=oldest&before=1",
        "?order=newest&after=1",
        "?view=key&view=%3Cscript%3E",
    ],
)
def test_unknown_readings_are_refused_and_never_cached(client, event, story, query):
    client.get(f"/events/{event.slug}/")
    baseline = cache_entries()
    response = client.get(f"/events/{event.slug}/{query}")
    assert response.status_code == 400 and "no-cache" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/plain")  # the refused value is echoed as text only
    assert client.get(f"/events/{event.slug}/older.json?before={story[5].pk}&view=nope").status_code == 400
    assert client.get(f"/events/{event.slug}/later.json?after={story[5].pk}&view=nope").status_code == 400
    assert cache_entries() == baseline


def test_many_asked_readings_add_no_cache_entries_beyond_the_four(client, event, story):
    client.get(f"/events/{event.slug}/")
    baseline = cache_entries()
    for n in range(100):
        client.get(f"/events/{event.slug}/?view=v{n}")
        client.get(f"/events/{event.slug}/?order=o{n}&view=key")
        client.get(f"/events/{event.slug}/?view=key&utm_source=s{n}")  # other parameters are no part of the key
    assert cache_entries() - baseline == 1  # the key view's page, once


def test_a_page_s_language_is_its_event_s_and_its_times_name_their_zone(client, event, editor):
    event.language, event.timezone = "de", "Europe/Berlin"
    event.save()
    post = factories.published_post(event, "Die Eröffnung.")
    post.edit(editor, headline="", body="Die Eröffnung, korrigiert.", correction="Ein Name war falsch.")
    post.refresh_from_db()
    html = client.get(f"/events/{event.slug}/").text
    assert html.startswith("<!doctype html>") and '<html lang="de">' in html
    assert '<html lang="de">' in client.get(f"/events/{event.slug}/posts/{post.pk}/").text
    assert '<html lang="de">' in client.get(f"/events/{event.slug}/embed/").text
    berlin = post.corrected_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    zone = berlin.strftime("%Z")  # CET or CEST
    assert f">{berlin:%H:%M} {zone}</time>:</strong> Ein Name war falsch." in html  # the correction
    updated = post.updated_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    # The page's words in the event's language too (locale/de).
    assert re.search(rf'class="edited">Aktualisiert <time [^>]*data-format="time"[^>]*>{updated:%H:%M %Z}</time>', html)
    assert "Zeiten in Europe/Berlin" in html and 'data-local="Zeiten in Ihrer Zeitzone ({zone})"' in html

    event.language, event.speech_languages = "multi", ["fr", "de"]  # several spoken: posts in the first
    event.save()
    assert '<html lang="fr">' in client.get(f"/events/{event.slug}/").text
    assert '<html lang="en-us">' in client.get("/").text
