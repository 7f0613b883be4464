"""Readers' pages, cursor endpoint, feed, JSON-LD and API through Django's test client."""

import json
import re
from datetime import timedelta

import feedparser
import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from events.roles import create_roles
from publishing.models import Post
from readers import changes
from tests.support import factories
from tests.support.processes import start_daphne

# Transactional: pages forget their cached state on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_HEADLINE = "Breaking <script>alert('h')</script></script><b>bold</b>"
HOSTILE_BODY = (
    'Look <script>window.pwned=1</script> <img src=x onerror="window.pwned=2"> '
    '<a href="javascript:window.pwned=3">click</a> </script><script>window.pwned=4</script>'
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    create_roles()


def jsonld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD block on the page"
    return json.loads(match.group(1))


def cursor_of(event: Event) -> int:
    event.refresh_from_db(fields=["change_seq"])
    return event.change_seq


def test_cursor_endpoint_returns_new_edited_and_removed_since_the_cursor(client, event, editor):
    kept = factories.published_post(event, "First.")
    dropped = factories.published_post(event, "Second.")
    cursor = cursor_of(event)

    kept.edit(editor, headline="", body="First, corrected.")
    kept.set_pinned(editor, True)
    dropped.reject(editor)
    added = factories.published_post(event, "Third.")

    response = client.get(f"/events/{event.slug}/posts.json", {"after": cursor})
    assert response.status_code == 200
    data = response.json()
    assert [post["id"] for post in data["posts"]] == [kept.pk, added.pk]
    assert "First, corrected." in data["posts"][0]["html"]
    assert data["removed"] == [dropped.pk]
    assert data["pinned"] == kept.pk and data["event"]["status"] == "live"
    assert data["cursor"] == cursor_of(event) > cursor

    assert client.get(f"/events/{event.slug}/posts.json", {"after": data["cursor"]}).json()["posts"] == []


def test_renaming_and_ending_the_event_reach_the_cursor_and_a_stale_edit_cannot_rewind_it(client, event):
    stale = Event.objects.get(pk=event.pk)  # an editor's form, read before the next post
    factories.published_post(event, "First.")
    cursor = cursor_of(event)

    stale.title = "Keynote <b>renamed</b>"
    stale.save()
    assert cursor_of(event) == cursor + 1  # not back to the number the stale instance held
    renamed = client.get(f"/events/{event.slug}/posts.json", {"after": cursor}).json()
    assert renamed["posts"] == [] and renamed["removed"] == []
    assert renamed["event"] == {
        "title": "Keynote <b>renamed</b>",  # text: the page sets it with textContent
        "status": "live",
        "page_title": f"Live: Keynote <b>renamed</b> · {settings.PUBLISHER_NAME}",
        "ends_at": None,
    }

    Event.objects.get(pk=event.pk).end()
    ended = client.get(f"/events/{event.slug}/posts.json", {"after": cursor + 1}).json()
    assert ended["cursor"] == cursor + 2 and ended["event"]["status"] == "ended" and ended["event"]["ends_at"]
    assert ended["event"]["page_title"] == f"Keynote <b>renamed</b> · {settings.PUBLISHER_NAME}"


def test_cursor_endpoint_is_cacheable_by_etag_until_the_next_change(client, event):
    factories.published_post(event, "First.")
    url = f"/events/{event.slug}/posts.json?after=0"
    first = client.get(url)
    assert "public" in first["Cache-Control"] and "max-age" in first["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    state = changes.event_state(event.slug)
    assert changes.shared_cache.get(f"events:resp:{first['ETag']}") is None  # one shared copy, the Hub's
    assert (
        changes.shared_cache.get(f"events:changes:{state.id}:{state.version}:0:{state.change_seq}")
        == first.content.decode()
    )

    factories.published_post(event, "Second.")
    second = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    assert len(second.json()["posts"]) == 2


@pytest.mark.parametrize("query", ["", "?after=", "?after=abc", "?after=-1", "?after=1e3"])
def test_cursor_endpoint_rejects_a_bad_cursor_clearly(client, event, query):
    response = client.get(f"/events/{event.slug}/posts.json{query}")
    assert response.status_code == 400
    assert "after" in response.json()["error"]


def test_unknown_or_private_event_is_not_found(client, event):
    Event.objects.filter(pk=event.pk).update(is_public=False)
    assert client.get(f"/events/{event.slug}/").status_code == 404
    assert client.get(f"/events/{event.slug}/posts.json?after=0").status_code == 404
    assert client.get("/events/nope/feed.atom").status_code == 404


def test_event_page_shows_posts_newest_first_with_pin_key_events_and_labels(client, event, editor):
    editor.first_name, editor.last_name = "Erin", "Editor"
    editor.save()
    old = factories.published_post(event, "Opening remarks.", headline="Doors open", author=editor)
    Post.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    new = factories.published_post(event, "The launch.", headline="Launch", ai_assisted=True)
    old.set_pinned(editor, True)
    new.set_key_event(editor, True)
    draft = Post.objects.create(event=event, body="Not yet public.")

    html = client.get(f"/events/{event.slug}/").content.decode()
    timeline = html[html.index('id="posts"') :]
    assert timeline.index(f'id="post-{new.pk}"') < timeline.index(f'id="post-{old.pk}"')
    assert f'id="pinned-post-{old.pk}"' in html[: html.index('id="posts"')]
    key_events = html[html.index('id="key-events"') : html.index('id="pinned"')]
    assert f'href="#post-{new.pk}"' in key_events and "Launch" in key_events
    assert 'class="live-badge"' in html
    assert "AI-assisted" in html and "Erin Editor" in html
    assert f'href="/events/{event.slug}/posts/{new.pk}/"' in html
    assert re.search(rf'<time datetime="{re.escape(new.published_at.isoformat())}" data-tz="UTC"', html)
    assert "Not yet public." not in html and f"post-{draft.pk}" not in html
    assert client.get(f"/events/{event.slug}/posts/{draft.pk}/").status_code == 404


def test_permalink_page_has_open_graph_tags(client, event):
    post = factories.published_post(event, "Ada Lovelace takes the stage.", headline="Ada on stage")
    html = client.get(f"/events/{event.slug}/posts/{post.pk}/").content.decode()
    assert '<meta property="og:title" content="Ada on stage">' in html
    assert '<meta property="og:description" content="Ada Lovelace takes the stage.">' in html
    assert f'<meta property="og:url" content="http://testserver/events/{event.slug}/posts/{post.pk}/">' in html
    assert '<meta property="og:image" content="http://testserver/static/liveblog/logo.png">' in html


def test_long_blogs_load_older_posts_by_cursor(client, event):
    start = timezone.now() - timedelta(hours=1)
    posts = []
    for n in range(25):
        post = factories.published_post(event, f"Update number {n}.")
        Post.objects.filter(pk=post.pk).update(published_at=start + timedelta(minutes=n))
        posts.append(post)
    html = client.get(f"/events/{event.slug}/").content.decode()
    shown = [int(i) for i in re.findall(r'<article class="post" id="post-(\d+)"', html)]
    assert shown == [post.pk for post in reversed(posts[5:])]
    before = re.search(r'id="older" href="\?before=(\d+)"', html).group(1)

    older = client.get(f"/events/{event.slug}/?before={before}").content.decode()
    assert [int(i) for i in re.findall(r'<article class="post" id="post-(\d+)"', older)] == [
        post.pk for post in reversed(posts[:5])
    ]
    assert 'id="older"' not in older
    data = client.get(f"/events/{event.slug}/older.json?before={before}").json()
    assert [post["id"] for post in data["posts"]] == [post.pk for post in reversed(posts[:5])]
    assert data["before"] is None


def test_cached_page_costs_one_query_and_changes_with_publish_edit_and_removal(
    client, event, editor, django_assert_max_num_queries
):
    post = factories.published_post(event, "Original words.")
    url = f"/events/{event.slug}/"
    assert "Original words." in client.get(url).content.decode()
    with django_assert_max_num_queries(1):  # the event's change number; the page itself comes from the cache
        assert "Original words." in client.get(url).content.decode()

    post.edit(editor, headline="", body="Corrected words.")
    assert "Corrected words." in client.get(url).content.decode()
    other = factories.published_post(event, "Another update.")
    assert "Another update." in client.get(url).content.decode()
    other.unpublish(editor)
    html = client.get(url).content.decode()
    assert "Another update." not in html and "Corrected words." in html


def test_event_page_answers_its_etag_with_304_until_the_next_change(client, event):
    factories.published_post(event, "First words.")
    url = f"/events/{event.slug}/"
    etag = client.get(url)["ETag"]
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == etag

    factories.published_post(event, "Second words.")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag and "Second words." in changed.content.decode()


def test_reader_pages_skip_sessions_and_csrf_but_keep_the_site_headers(client, event):
    factories.published_post(event, "An update.")
    client.cookies["sessionid"] = "a reader who once logged in"
    for url in (f"/events/{event.slug}/", f"/events/{event.slug}/posts.json?after=0"):
        response = client.get(url)
        assert response.status_code == 200
        assert not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "user")
        assert not response.cookies and "Vary" not in response
        assert response["Content-Length"] == str(len(response.content))
        assert response["X-Content-Type-Options"] == "nosniff" and response["Referrer-Policy"] == "same-origin"
    assert hasattr(client.get("/accounts/login/").wsgi_request, "session")


@pytest.mark.slow
def test_changes_made_in_another_process_reach_the_page_daphne_keeps_in_memory(event, editor):
    post = factories.published_post(event, "Original words.")
    process, port = start_daphne()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:

            def page() -> str:
                response = http.get(f"/events/{event.slug}/")
                assert response.status_code == 200
                return response.text

            assert "Original words." in page() and "Original words." in page()  # the second from memory
            post.edit(editor, headline="", body="Corrected words.")
            assert "Corrected words." in page()
            other = factories.published_post(event, "Another update.")
            assert "Another update." in page()
            other.unpublish(editor)
            assert "Another update." not in page()
            event.end()
            assert 'class="live-badge"' not in page()
    finally:
        process.stop()
    process.assert_no_traceback()


def test_atom_feed_parses_with_entries_newest_first(client, event):
    factories.published_post(event, "First words.", headline="First")
    second = factories.published_post(event, "Second words.", headline="Second", ai_assisted=True)
    response = client.get(f"/events/{event.slug}/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == event.title
    assert [entry.title for entry in feed.entries] == ["Second", "First"]
    assert feed.entries[0].link == f"http://testserver/events/{event.slug}/posts/{second.pk}/"
    assert feed.entries[0].author == "AI-assisted"
    assert "Second words." in feed.entries[0].summary


def test_json_ld_describes_the_live_blog(client, event, editor):
    post = factories.published_post(event, "Ada Lovelace takes the stage.", headline="Ada on stage", author=editor)
    data = jsonld(client.get(f"/events/{event.slug}/").content.decode())
    assert data["@type"] == "LiveBlogPosting"
    assert data["coverageStartTime"] == event.starts_at.isoformat()
    assert "coverageEndTime" not in data  # still live
    assert data["publisher"]["name"] == "Liveblog Newsroom"
    assert data["publisher"]["logo"]["url"] == "http://testserver/static/liveblog/logo.png"
    [update] = data["liveBlogUpdate"]
    assert update["@type"] == "BlogPosting"
    assert update["headline"] == "Ada on stage"
    assert update["url"] == f"http://testserver/events/{event.slug}/#post-{post.pk}"
    assert update["datePublished"] == post.published_at.isoformat()
    post.refresh_from_db()
    assert update["dateModified"] == post.updated_at.isoformat()
    assert update["articleBody"] == "Ada Lovelace takes the stage."
    assert update["author"] == {"@type": "Person", "name": "ed"}

    event.end()
    ended = jsonld(client.get(f"/events/{event.slug}/").content.decode())
    event.refresh_from_db()
    assert ended["coverageEndTime"] == event.ends_at.isoformat()


def test_hostile_post_text_stays_inert_everywhere(client, event):
    post = factories.published_post(event, HOSTILE_BODY, headline=HOSTILE_HEADLINE)
    newer = factories.published_post(event, "A later update.")
    outputs = {
        "page": client.get(f"/events/{event.slug}/").content.decode(),
        "permalink": client.get(f"/events/{event.slug}/posts/{post.pk}/").content.decode(),
        "embed": client.get(f"/events/{event.slug}/embed/").content.decode(),
        "cursor": json.loads(client.get(f"/events/{event.slug}/posts.json?after=0").content)["posts"][0]["html"],
        "older": client.get(f"/events/{event.slug}/older.json?before={newer.pk}").json()["posts"][0]["html"],
    }
    for name, html in outputs.items():
        scripts = re.findall(r"<script[^>]*>", html)
        assert all('src="/static/' in tag or "ld+json" in tag for tag in scripts), (name, scripts)
        assert "pwned" not in html, name
        assert "javascript:" not in html, name
        assert "onerror" not in html, name
        assert "&lt;script&gt;alert" in html, name  # the headline shows as text

    page = outputs["page"]
    ld_block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1)
    assert "<" not in ld_block  # nothing inside can end the script element
    update = json.loads(ld_block)["liveBlogUpdate"][0]
    assert "<" not in update["articleBody"] and "pwned" not in update["articleBody"]

    feed = client.get(f"/events/{event.slug}/feed.atom").content
    entry = feedparser.parse(feed).entries[0]
    assert "<script" not in entry.summary and "onerror" not in entry.summary and "javascript:" not in entry.summary
    api = client.get(f"/api/events/{event.slug}.json").json()
    assert [p["id"] for p in api["posts"]] == [newer.pk, post.pk]
    assert all("<" not in p["body_text"] for p in api["posts"])


def test_index_lists_live_upcoming_and_past_events(client, event):
    Event.objects.create(title="Tomorrow", slug="tomorrow", starts_at=timezone.now() + timedelta(days=1))
    Event.objects.create(
        title="Yesterday", slug="yesterday", status=Event.Status.ENDED, starts_at=timezone.now() - timedelta(days=1)
    )
    Event.objects.create(title="Hidden", slug="hidden", is_public=False, starts_at=timezone.now())
    html = client.get("/").content.decode()
    live, upcoming, past = html.index("Live now"), html.index("Upcoming"), html.index("Past")
    assert live < html.index("Keynote") < upcoming < html.index("Tomorrow") < past < html.index("Yesterday")
    assert "Hidden" not in html


def test_json_api_lists_events_and_posts(client, event):
    post = factories.published_post(event, "Words.", headline="Head")
    events = client.get("/api/events.json").json()["events"]
    assert [e["slug"] for e in events] == [event.slug]
    data = client.get(events[0]["posts_url"]).json()
    assert data["event"]["status"] == "live"
    assert data["posts"][0]["id"] == post.pk
    assert data["posts"][0]["anchor_url"] == f"http://testserver/events/{event.slug}/#post-{post.pk}"
    assert client.get(f"/api/events/{event.slug}.json?before=x").status_code == 400


def test_widget_page_may_be_framed_and_admin_shows_the_snippet(client, event, django_user_model):
    page = client.get(f"/events/{event.slug}/")
    assert page["X-Frame-Options"] == "DENY"
    embed = client.get(f"/events/{event.slug}/embed/")
    assert "X-Frame-Options" not in embed
    assert '<script type="module" src="/static/readers/reader.js">' in embed.content.decode()

    admin = django_user_model.objects.create_superuser("root", password="root-password-123")
    client.force_login(admin)
    html = client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert (
        f"&lt;script src=&quot;http://testserver/static/readers/widget.js&quot; data-event=&quot;{event.slug}&quot;"
        in html
    )
    assert client.get("/static/readers/widget.js").status_code == 200
    # Snippets pasted before the widget moved into the readers app still load it.
    old = client.get("/static/events/widget.js")
    assert (old.status_code, old["Location"]) == (301, "/static/readers/widget.js")
