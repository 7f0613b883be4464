"""What readers see of an event, read from the database by cursor and rendered once.

Rendered results are cached under the change number they describe, so a change makes new keys and old
entries simply expire. The cursor: docs/architecture.md, *The readers' push*.
"""

import json
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DatabaseError, connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from events.models import Event
from publishing.models import Picture, Post, Summary
from readers import editions
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
    original: str = "en"  # the language posts are written in
    editions: tuple[str, ...] = ()  # the reader editions (?lang=): the only values that reach a cache key

    def edition(self, raw: str | None) -> str:
        """The edition ?lang= asks for: "" for the original (absent, empty, or its code), else one of the event's;
        BadCursor (400, never cached) for a language the event has none in."""
        if raw is None or raw == "" or raw == self.original:
            return ""
        if raw not in self.editions:
            known = ", ".join((self.original, *self.editions))
            raise BadCursor(f"'lang' must be one of {known}, not {raw[: editions.MAX_LANG_CHARS]!r}")
        return raw


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
        cursor.execute(
            f"SELECT id, slug, change_seq, updated_at, status, language, speech_languages, reader_languages "  # noqa: S608
            f"FROM {table} WHERE {where}",
            [value],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    event_id, slug, change_seq, updated_at, status, language, spoken, readers = row
    languages = Event(language=language, speech_languages=_json_list(spoken), reader_languages=_json_list(readers))
    version = f"{updated_at}-{status}".replace(" ", "T")
    return EventState(event_id, slug, change_seq, version, languages.post_language, tuple(languages.editions))


def _json_list(value) -> list:
    """A JSON column as the raw cursor gives it: text (SQLite, and PostgreSQL under Django) or already a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


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
    if description := plain_text(event.description):
        return description
    with translation.override(page_language(event)):
        return gettext("Live updates: %(title)s") % {"title": event.title}


def page_title(event: Event) -> str:
    """The reader page's <title>; the page's script takes it again from every change."""
    if event.status != Event.Status.LIVE:
        return f"{event.title} · {settings.PUBLISHER_NAME}"
    with translation.override(page_language(event)):  # as the page, whoever asks
        return gettext("Live: %(title)s · %(publisher)s") % {"title": event.title, "publisher": settings.PUBLISHER_NAME}


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def page_language(event: Event, edition: str = "") -> str:
    """The language of an event's pages (<html lang>): the edition's, else the language its posts are written in."""
    if edition:
        return edition
    language = event.post_language
    return language if _LANGUAGE_TAG.fullmatch(language) else settings.LANGUAGE_CODE


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


def post_html(post: Post, event: Event, edition: str = "") -> str:
    return render_to_string("readers/_post.html", {"post": post, "event": event, "edition": edition})


def visible_posts(event: Event):
    return event.posts.published().select_related("author", "picture").order_by("-published_at", "-id")


class BadCursor(ValueError):
    """A cursor or page parameter the event cannot answer: the reader gets 400, the cache nothing."""


# How a reader reads the page (?view=, ?order=): the first of each is the default. Only these reach a cache key.
VIEWS = ("all", "key")
ORDERS = ("newest", "oldest")


@dataclass(frozen=True)
class Reading:
    """Which posts a reader's page lists (all, or key events only) and in which order."""

    view: str = VIEWS[0]
    order: str = ORDERS[0]
    lang: str = ""  # the reader edition ("" the original); checked against the event's (EventState.edition)

    @property
    def key_only(self) -> bool:
        return self.view == "key"

    @property
    def oldest_first(self) -> bool:
        return self.order == "oldest"

    @property
    def cursor_name(self) -> str:
        """The page's cursor parameter: older pages below `before`, or later pages above `after`."""
        return "after" if self.oldest_first else "before"

    def query(self, cursor: int | None = None) -> str:
        """The page's query string for this reading and cursor; empty for the default's first page."""
        params: dict[str, object] = {}
        if self.view != VIEWS[0]:
            params["view"] = self.view
        if self.order != ORDERS[0]:
            params["order"] = self.order
        if self.lang:
            params["lang"] = self.lang
        if cursor is not None:
            params[self.cursor_name] = cursor
        return "?" + urlencode(params) if params else ""

    def page(self, event: Event, cursor: int | None) -> tuple[list[Post], int | None]:
        if self.oldest_first:
            return later_page(event, cursor, key_only=self.key_only)
        return older_page(event, cursor, key_only=self.key_only)


def _published_at(event: Event, post_id: int, name: str):
    """The publishing time of a cursor's post: one published on this event (a draft's id is refused like any
    other, so drafts cannot be probed)."""
    anchor = (
        Post.objects.filter(event=event, pk=post_id, published_at__isnull=False)
        .values_list("published_at", flat=True)
        .first()
    )
    if anchor is None:
        raise BadCursor(f"'{name}' must be the id of a post of this event, not {post_id}")
    return anchor


def older_than(event: Event, before: int | None, *, key_only: bool = False):
    """Posts below a 'load older' cursor, newest first: the id of the last post the reader has."""
    posts = visible_posts(event)
    if key_only:
        posts = posts.filter(key_event=True)
    if before is not None:
        anchor = _published_at(event, before, "before")
        posts = posts.filter(published_at__lte=anchor).exclude(published_at=anchor, id__gte=before)
    return posts


def later_than(event: Event, after: int | None, *, key_only: bool = False):
    """Posts above a 'load later' cursor, oldest first (the page read from the start)."""
    posts = visible_posts(event).order_by("published_at", "id")
    if key_only:
        posts = posts.filter(key_event=True)
    if after is not None:
        anchor = _published_at(event, after, "after")
        posts = posts.filter(published_at__gte=anchor).exclude(published_at=anchor, id__lte=after)
    return posts


def with_clips(posts, event: Event):
    """Posts to render, with their embeds, and their quotes' clips when the event lets readers hear them."""
    posts = posts.prefetch_related("embeds")
    return posts.prefetch_related("quote_clips") if event.readers_hear_quotes else posts


def _one_page(posts, event: Event) -> tuple[list[Post], int | None]:
    posts = list(with_clips(posts, event)[: PAGE_SIZE + 1])
    page = posts[:PAGE_SIZE]
    return page, page[-1].pk if len(posts) > PAGE_SIZE else None


def older_page(event: Event, before: int | None, *, key_only: bool = False) -> tuple[list[Post], int | None]:
    """One page below the cursor, and the cursor for the page after it (None at the first post)."""
    return _one_page(older_than(event, before, key_only=key_only), event)


def later_page(event: Event, after: int | None, *, key_only: bool = False) -> tuple[list[Post], int | None]:
    """One page above the cursor, oldest first, and the cursor for the page after it (None at the latest post)."""
    return _one_page(later_than(event, after, key_only=key_only), event)


def key_events(event: Event, edition: str = "") -> list[dict[str, Any]]:
    posts = editions.dress(list(visible_posts(event).filter(key_event=True)), event, edition)
    return [
        {"id": post.pk, "headline": post.headline or plain_text(post.body)[:80], "anchor": f"#post-{post.pk}"}
        for post in posts
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


def changes_since(event: Event, after: int, change_seq: int | None = None, edition: str = "") -> dict[str, Any]:
    """New, edited and removed posts after the cursor, at most a page, with the cursor to ask from next, in the
    reader's edition; `change_seq` is read before the posts, so a change committing in between is sent next time."""
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
    shown = editions.dress([post for post in changed if post.is_published], event, edition)
    return {
        "type": "changes",
        "after": start,
        "cursor": end,
        "more": end < latest,
        "posts": [post_payload(post, event, edition) for post in shown],
        "removed": [post.pk for post in changed if not post.is_published],
        "pinned": visible_posts(event).filter(pinned=True).values_list("pk", flat=True).first(),
        "key_events": key_events(event, edition),
        "summary": summary_payload(current_summary(event)),
        "event": {
            "title": event.title,
            "status": event.status,
            "page_title": page_title(event),
            "ends_at": event.ends_at.isoformat() if event.status == Event.Status.ENDED and event.ends_at else None,
        },
    }


def current_summary(event: Event) -> Summary | None:
    """The story so far as readers see it: the version an editor published, if any."""
    return Summary.objects.current(event.pk)


def summary_text(summary: Summary | None) -> str:
    """The story so far as one paragraph of plain text (the JSON-LD description, the feed's subtitle)."""
    if summary is None:
        return ""
    return " ".join(point if point[-1:] in ".!?…”»\"'" else f"{point}." for point in map(plain_text, summary.points))


def summary_payload(summary: Summary | None) -> dict[str, Any] | None:
    """The story so far in a cursor answer (every answer carries it, null when there is none)."""
    if summary is None:
        return None
    return {
        "version": summary.version,
        "points": [plain_text(point) for point in summary.points],
        "published_at": summary.published_at.isoformat(),
    }


def post_payload(post: Post, event: Event, edition: str = "") -> dict[str, Any]:
    return {
        "id": post.pk,
        "seq": post.change_seq,
        "published_at": post.published_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
        "pinned": post.pinned,
        "key_event": post.key_event,
        "html": post_html(post, event, edition),
    }


def changes_json(state: EventState, after: int, edition: str = "") -> str:
    """The cursor answer as JSON text, rendered once per (event, edition, page start, change) and shared; cursors
    past the event's change number never come here, so an event's keys are bounded by its pages and editions
    (`edition` is one of state.editions, or "")."""
    if after > state.change_seq:
        raise BadCursor(f"'after' is beyond this event's latest change ({state.change_seq})")
    if edition and edition not in state.editions:
        raise BadCursor(f"this event has no edition {edition[:8]!r}")
    start = page_start(state.change_seq, after)
    key = f"events:changes:{state.id}:{state.version}:{start}:{state.change_seq}" + (f":{edition}" if edition else "")
    text = shared_cache.get(key)
    if text is None:
        event = Event.objects.get(pk=state.id)
        with translation.override(page_language(event, edition)):  # the posts' words as the page has them
            text = json.dumps(changes_since(event, start, state.change_seq, edition), separators=(",", ":"))
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
