"""Cursor and page parameters of the readers' pages: what is refused, how far one answer goes,
and what the cache can be made to hold."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from events.roles import create_roles
from publishing.models import Post
from readers import changes
from tests.support.caches import cache_entries
from tests.support.netclients import ReaderSocket
from tests.support.processes import start_daphne, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

UNICODE_DIGITS = ["²", "٣", "１２", "7²"]  # all pass str.isdigit()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    create_roles()
    yield
    cache.clear()


def published_posts(event: Event, count: int) -> list[Post]:
    """`count` published posts with change numbers 1..count, as that many publishes would leave them."""
    now = timezone.now()
    posts = Post.objects.bulk_create(
        Post(
            event=event,
            body=f"Update number {n}.",
            status=Post.Status.PUBLISHED,
            published_at=now - timezone.timedelta(seconds=count - n),
            change_seq=n,
        )
        for n in range(1, count + 1)
    )
    Event.objects.filter(pk=event.pk).update(change_seq=count)
    changes.forget_state(event.slug)
    return posts


def urls(slug: str, value: str) -> dict[str, str]:
    return {
        "page": f"/events/{slug}/?before={value}",
        "embed": f"/events/{slug}/embed/?before={value}",
        "posts.json": f"/events/{slug}/posts.json?after={value}",
        "older.json": f"/events/{slug}/older.json?before={value}",
        "api": f"/api/events/{slug}.json?before={value}",
    }


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_unicode_digits_are_refused_clearly_everywhere(client, event, digits):
    published_posts(event, 3)
    for name, url in urls(event.slug, digits).items():
        response = client.get(url)
        assert response.status_code == 400, name
        assert "digits 0-9" in response.content.decode(), name
        assert "no-store" in response["Cache-Control"], name


def test_a_cursor_beyond_the_event_is_refused_and_never_cached(client, event):
    published_posts(event, 5)
    assert client.get(f"/events/{event.slug}/posts.json?after=5").status_code == 200
    entries = cache_entries()
    for after in (6, 7, 10**6, 10**17):
        response = client.get(f"/events/{event.slug}/posts.json?after={after}")
        assert response.status_code == 400
        assert response.json() == {"error": "'after' is beyond this event's latest change (5)"}
        assert "no-store" in response["Cache-Control"] and "ETag" not in response
    assert cache_entries() == entries


def test_a_cursor_the_cached_change_number_lags_is_answered(client, event):
    published_posts(event, 5)
    assert client.get(f"/events/{event.slug}/posts.json?after=5").json()["cursor"] == 5  # state 5 is cached
    # A change committed by a process that died before it could forget the cached number.
    Post.objects.create(
        event=event, body="Late.", status=Post.Status.PUBLISHED, published_at=timezone.now(), change_seq=6
    )
    Event.objects.filter(pk=event.pk).update(change_seq=6)
    response = client.get(f"/events/{event.slug}/posts.json?after=6")
    assert response.status_code == 200 and response.json()["cursor"] == 6


def test_a_before_that_is_no_published_post_of_the_event_is_refused_and_never_cached(client, event, journalist):
    posts = published_posts(event, 30)
    other = Event.objects.create(title="Other", slug="other", status=Event.Status.LIVE, starts_at=timezone.now())
    foreign = Post.objects.create(
        event=other, body="Elsewhere.", status=Post.Status.PUBLISHED, published_at=timezone.now()
    )
    draft = Post.objects.create(event=event, body="Not yet public.")
    for name, url in urls(event.slug, str(posts[-1].pk)).items():
        if name != "posts.json":
            assert client.get(url).status_code == 200, name
    entries = cache_entries()
    for before in (foreign.pk, draft.pk, 0, 10**12):
        for name, url in urls(event.slug, str(before)).items():
            if name == "posts.json":
                continue
            response = client.get(url)
            assert response.status_code == 400, (name, before)
            assert "'before' must be the id of a post of this event" in response.content.decode(), name
            assert "no-store" in response["Cache-Control"], name
    assert cache_entries() == entries


@pytest.mark.slow
def test_after_zero_on_five_thousand_posts_is_one_page_and_the_client_follows_it_to_the_rest(client, event):
    posts = published_posts(event, 5000)
    page_size = settings.READER_CHANGES_PAGE
    first = client.get(f"/events/{event.slug}/posts.json?after=0").json()
    assert len(first["posts"]) == page_size and first["more"] is True
    assert first["cursor"] == page_size

    seen, cursor, answers = [], 0, 0
    while True:
        answer = client.get(f"/events/{event.slug}/posts.json?after={cursor}").json()
        answers += 1
        assert len(answer["posts"]) <= page_size
        assert answer["cursor"] > cursor
        seen += [post["id"] for post in answer["posts"]]
        cursor = answer["cursor"]
        if not answer["more"]:
            break
    assert cursor == 5000 and answers == 5000 // page_size
    assert sorted(seen) == sorted(post.pk for post in posts)


@pytest.mark.slow
def test_cache_entries_per_event_stay_bounded_whatever_parameters_are_asked(client, event, settings):
    settings.READER_CHANGES_PAGE = 20
    posts = published_posts(event, 200)
    client.get(f"/events/{event.slug}/")
    baseline = cache_entries()

    for after in range(0, 201):  # every cursor the event has
        assert client.get(f"/events/{event.slug}/posts.json?after={after}").status_code == 200
    # Cursors far behind share their page: a page per 20 changes below the last 20, one per cursor above.
    pages = 200 // 20 - 1
    near = 21
    assert cache_entries() - baseline == pages + near

    after_cursors = cache_entries()
    for n in range(300):  # numbers that are no place in the event, and the same page under other Hosts
        client.get(f"/events/{event.slug}/posts.json?after={201 + n}")
        client.get(f"/events/{event.slug}/older.json?before={10**9 + n}")
        client.get(f"/api/events/{event.slug}.json?before={10**9 + n}")
        client.get(f"/events/{event.slug}/?before={10**9 + n}")
        client.get(f"/events/{event.slug}/", headers={"Host": f"testserver:{1024 + n}"})
        client.get(f"/api/events/{event.slug}.json", headers={"Host": f"testserver:{1024 + n}"})
    assert cache_entries() == after_cursors

    for post in posts:  # a page below each post is at most one entry per post
        client.get(f"/events/{event.slug}/older.json?before={post.pk}")
    assert cache_entries() - after_cursors <= len(posts)


@pytest.mark.slow
def test_a_reader_socket_far_behind_gets_a_page_at_a_time_then_the_rest(event):
    posts = published_posts(event, 70)
    process, port = start_daphne(READER_CHANGES_PAGE="20")
    try:
        reader = ReaderSocket(f"http://127.0.0.1:{port}", event.slug, cursor=0)
        reader.wait_for_posts({post.pk for post in posts})
        wait_until(lambda: reader.messages and reader.messages[-1]["cursor"] == 70, 30, process, what="the last page")
        answers = list(reader.messages)
        assert [answer["cursor"] for answer in answers] == [20, 40, 60, 70]
        assert [answer["more"] for answer in answers] == [True, True, True, False]
        assert all(len(answer["posts"]) <= 20 for answer in answers)

        late = Post.objects.create(event=event, body="Late news.")
        late.publish()
        reader.wait_for_posts({late.pk})
        assert reader.messages[-1]["cursor"] == 71 and reader.messages[-1]["more"] is False
        reader.close()
    finally:
        process.stop()
    process.assert_no_traceback()
