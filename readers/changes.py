"""What readers see of an event, read from the database by cursor and rendered once.

Rendered results are cached under the change number they describe, so a change makes new keys and old
entries simply expire. The cursor: docs/architecture.md, *The readers' push*.
"""

import json
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DatabaseError, connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from publishing.models import Picture, Post
from readers.sanitize import plain_text

PAGE_SIZE = 20
CACHE_SECONDS = 600

# Django's `cache` makes a client per ASGI request (a makedirs, or a Redis pool); both are thread-safe, so share one.
shared_cache = caches.create_connection(DEFAULT_CACHE_ALIAS)


@dataclass(frozen=True)
class EventState:
    """The few columns a request needs to find its cached answer."""

    id: int
    slug: str
    change_seq: int
    version: str  # changes when the event itself (title, status, times) is edited


# Cached so a cached page needs no database connection; forgotten on every commit (forget_state), and short-lived
# in case a process dies before forgetting it or a request re-caches what it read just before a commit.
STATE_SECONDS = 2


def _state_key(slug: str) -> str:
    return f"events:state:{slug}"


def _last_known_key(slug: str) -> str:
    return f"events:last-state:{slug}"


def event_state(slug: str) -> EventState | None:
    state = shared_cache.get(_state_key(slug))
    return fresh_state(slug) if state is None else state


def forget_state(slug: str) -> None:
    shared_cache.delete(_state_key(slug))


def fresh_state(slug: str) -> EventState | None:
    """The event's state read from the database; while the database is away, the last state read, so
    the pages and answers cached under it are still served."""
    try:
        state = _state("slug = %s AND is_public", slug)
    except DatabaseError:
        last_known = shared_cache.get(_last_known_key(slug))
        if last_known is None:
            raise
        return last_known
    if state is None:
        shared_cache.delete(_last_known_key(slug))
    else:
        shared_cache.set(_state_key(slug), state, STATE_SECONDS)
        shared_cache.set(_last_known_key(slug), state, CACHE_SECONDS)
    return state


def event_state_by_id(event_id: int) -> EventState | None:
    return _state("id = %s", event_id)


def _state(where: str, value: object) -> EventState | None:
    # Every page, cursor and API request starts here, so it is one plain indexed SELECT: compiling
    # the ORM query cost more than running it, and more than serving the cached page.
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, slug, change_seq, updated_at, status FROM {table} WHERE {where}", [value])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    event_id, slug, change_seq, updated_at, status = row
    return EventState(event_id, slug, change_seq, f"{updated_at}-{status}".replace(" ", "T"))


def change_seqs(event_ids: list[int]) -> dict[int, int]:
    return dict(Event.objects.filter(pk__in=event_ids).values_list("id", "change_seq"))


def author_label(post: Post) -> str:
    if post.ai_assisted:
        return "AI-assisted"
    if post.author is not None:
        return post.author.get_full_name() or post.author.get_username()
    return settings.PUBLISHER_NAME


def event_summary(event: Event) -> str:
    """An event's description as plain text, for page and feed summaries."""
    return plain_text(event.description) or f"Live updates: {event.title}"


def page_title(event: Event) -> str:
    """The reader page's <title>; the page's script takes it again from every change."""
    live = "Live: " if event.status == Event.Status.LIVE else ""
    return f"{live}{event.title} · {settings.PUBLISHER_NAME}"


def post_title(post: Post) -> str:
    """A post's title as plain text: its headline, else the start of its body."""
    return plain_text(post.headline) or plain_text(post.body)[:80]


def site_base(request) -> str:
    """Where absolute links point: SITE_URL, else the host this request came to (ALLOWED_HOSTS-checked)."""
    return settings.SITE_URL.rstrip("/") or f"{request.scheme}://{request.get_host()}"


def absolute(path: str, base: str) -> str:
    return path if path.startswith(("https://", "http://")) else base + path


def correction_note(post: Post, event: Event) -> dict[str, str] | None:
    """The correction readers see under a published post: its plain text, time, and the time as the page shows it."""
    if not post.correction or post.corrected_at is None:
        return None
    local = timezone.localtime(post.corrected_at, zoneinfo.ZoneInfo(event.timezone))
    return {"text": post.correction, "at": post.corrected_at.isoformat(), "time": local.strftime("%H:%M")}


def post_html(post: Post, event: Event) -> str:
    return render_to_string("readers/_post.html", {"post": post, "event": event})


def visible_posts(event: Event):
    return event.posts.published().select_related("author", "picture").order_by("-published_at", "-id")


class BadCursor(ValueError):
    """A cursor or page parameter the event cannot answer: the reader gets 400, the cache nothing."""


def older_than(event: Event, before: int | None):
    """Posts below a 'load older' cursor: the id of the last post the reader has, one that was published
    (a draft's id is refused like any other, so drafts cannot be probed)."""
    posts = visible_posts(event)
    if before is not None:
        anchor = (
            Post.objects.filter(event=event, pk=before, published_at__isnull=False)
            .values_list("published_at", flat=True)
            .first()
        )
        if anchor is None:
            raise BadCursor(f"'before' must be the id of a post of this event, not {before}")
        posts = posts.filter(published_at__lte=anchor).exclude(published_at=anchor, id__gte=before)
    return posts


def with_clips(posts, event: Event):
    """Posts to render, with their quotes' clips when the event lets readers hear them."""
    return posts.prefetch_related("quote_clips") if event.readers_hear_quotes else posts


def older_page(event: Event, before: int | None) -> tuple[list[Post], int | None]:
    """One page below the cursor, and the cursor for the page after it (None at the first post)."""
    posts = list(with_clips(older_than(event, before), event)[: PAGE_SIZE + 1])
    page = posts[:PAGE_SIZE]
    return page, page[-1].pk if len(posts) > PAGE_SIZE else None


def key_events(event: Event) -> list[dict[str, Any]]:
    return [
        {"id": post.pk, "headline": post.headline or plain_text(post.body)[:80], "anchor": f"#post-{post.pk}"}
        for post in visible_posts(event).filter(key_event=True)
    ]


def changes_page_size() -> int:
    return settings.READER_CHANGES_PAGE


def page_start(change_seq: int, after: int) -> int:
    """Where the answer for a cursor starts: the cursor itself when at most one page of changes follows
    it, else the page boundary at or below it, so cursors far behind share cached answers."""
    size = changes_page_size()
    if change_seq - after <= size:
        return after
    return after - after % size


def page_end(change_seq: int, start: int) -> int:
    """The cursor an answer starting at `start` brings the reader to; below change_seq, more follows."""
    return min(change_seq, start + changes_page_size())


def next_cursor(change_seq: int, after: int) -> int:
    """Where a reader on `after` stands once it has the answer for it."""
    return page_end(change_seq, page_start(change_seq, after))


def changes_since(event: Event, after: int, change_seq: int | None = None) -> dict[str, Any]:
    """New, edited and removed posts after the cursor, at most a page, with the cursor to ask from next;
    `change_seq` is read before the posts, so a change committing in between is sent next time."""
    latest = event.change_seq if change_seq is None else change_seq
    if after >= latest:
        return {
            "type": "changes",
            "after": after,
            "cursor": max(latest, after),
            "more": False,
            "posts": [],
            "removed": [],
        }
    start = page_start(latest, after)
    end = page_end(latest, start)
    changed = list(
        with_clips(Post.objects.filter(event=event, change_seq__gt=start, change_seq__lte=end), event)
        .select_related("author", "picture")
        .order_by("change_seq")
    )
    shown = [post for post in changed if post.is_published]
    return {
        "type": "changes",
        "after": start,
        "cursor": end,
        "more": end < latest,
        "posts": [post_payload(post, event) for post in shown],
        "removed": [post.pk for post in changed if not post.is_published],
        "pinned": visible_posts(event).filter(pinned=True).values_list("pk", flat=True).first(),
        "key_events": key_events(event),
        "event": {
            "title": event.title,
            "status": event.status,
            "page_title": page_title(event),
            "ends_at": event.ends_at.isoformat() if event.status == Event.Status.ENDED and event.ends_at else None,
        },
    }


def post_payload(post: Post, event: Event) -> dict[str, Any]:
    return {
        "id": post.pk,
        "seq": post.change_seq,
        "published_at": post.published_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
        "pinned": post.pinned,
        "key_event": post.key_event,
        "html": post_html(post, event),
    }


def changes_json(state: EventState, after: int) -> str:
    """The cursor answer as JSON text, rendered once per (event, page start, change) and shared; cursors
    past the event's change number never come here, so an event's keys are bounded by its pages."""
    if after > state.change_seq:
        raise BadCursor(f"'after' is beyond this event's latest change ({state.change_seq})")
    start = page_start(state.change_seq, after)
    key = f"events:changes:{state.id}:{state.version}:{start}:{state.change_seq}"
    text = shared_cache.get(key)
    if text is None:
        event = Event.objects.get(pk=state.id)
        text = json.dumps(changes_since(event, start, state.change_seq), separators=(",", ":"))
        shared_cache.set(key, text, CACHE_SECONDS)
    return text


def api_post(post: Post, event: Event, base: str) -> dict[str, Any]:
    url = reverse("events:post", args=[event.slug, post.pk])
    return {
        "id": post.pk,
        "headline": post.headline,
        "body_text": plain_text(post.body),
        "url": absolute(url, base),
        "anchor_url": absolute(f"{event.get_absolute_url()}#post-{post.pk}", base),
        "published_at": post.published_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
        "author": author_label(post),
        "ai_assisted": post.ai_assisted,
        "correction": correction_note(post, event),
        "pinned": post.pinned,
        "key_event": post.key_event,
        "image": api_picture(post, base),
    }


def post_picture(post: Post) -> Picture | None:
    try:
        return post.picture
    except Picture.DoesNotExist:
        return None


def api_picture(post: Post, base: str) -> dict[str, Any] | None:
    picture = post_picture(post)
    if picture is None:
        return None
    return {
        "url": absolute(picture.src, base),
        "width": picture.width,
        "height": picture.height,
        "alt": picture.alt_text,
        "caption": picture.caption,
        "credit": picture.credit,
        "renditions": [
            {"url": absolute(picture.url(rendition), base), "width": rendition["width"], "height": rendition["height"]}
            for rendition in picture.renditions
        ],
    }


def api_event(event: Event, base: str) -> dict[str, Any]:
    return {
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "status": event.status,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat() if event.ends_at else None,
        "timezone": event.timezone,
        "url": absolute(event.get_absolute_url(), base),
        "posts_url": absolute(reverse("events:api_event", args=[event.slug]), base),
        "cursor": event.change_seq,
    }
