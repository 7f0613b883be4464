"""Readers' pages and their machine-readable twins. Pages come from the cache under the event's
change number, so a publish, edit or removal makes the next request render afresh."""

import functools
import hashlib
import json
import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from events.models import Event
from publishing.clips import clips_storage
from publishing.pictures import pictures_storage
from readers import changes, editions, widget
from readers.embeds import allow_frames, event_frame_origins, post_frame_origins
from readers.jsonld import live_blog_posting, script_text
from readers.middleware import reader_page
from readers.sanitize import plain_text
from transcription.archive import ranges

PAGE_MAX_AGE = 5
PICTURE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


BadCursor = changes.BadCursor
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() also passes '²' and '٣'


def _cursor(request: HttpRequest, name: str, *, required: bool) -> int | None:
    """Every cursor and page parameter of the readers' pages is read here."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        if required:
            raise BadCursor(f"'{name}' is required: a whole number from the page or the last answer")
        return None
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise BadCursor(f"'{name}' must be a whole number ≥ 0 written in digits 0-9, not {raw[:40]!r}")
    return int(raw)


def _choice(request: HttpRequest, name: str, allowed: tuple[str, ...]) -> str:
    """A parameter that takes one of a few words: absent is the first; anything unknown is refused, never cached."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return allowed[0]
    if raw not in allowed:
        raise BadCursor(f"'{name}' must be one of {', '.join(allowed)}, not {raw[:40]!r}")
    return raw


def _reading(request: HttpRequest, state: changes.EventState) -> changes.Reading:
    """How the page is read (?view=all|key, ?order=newest|oldest, ?lang= one of the event's editions)."""
    return changes.Reading(
        _choice(request, "view", changes.VIEWS),
        _choice(request, "order", changes.ORDERS),
        state.edition(request.GET.get("lang")),
    )


def _page_cursor(request: HttpRequest, reading: changes.Reading) -> int | None:
    other = "before" if reading.oldest_first else "after"
    if request.GET.get(other):
        raise BadCursor(f"'{other}' does not go with order={reading.order}: its pages follow '{reading.cursor_name}'")
    return _cursor(request, reading.cursor_name, required=False)


def _bad_request(error: BadCursor) -> JsonResponse:
    response = JsonResponse({"error": str(error)}, status=400)
    add_never_cache_headers(response)
    return response


def _shared_base(request: HttpRequest, base: str) -> bool:
    """Whether answers whose links start with this base may go to the shared cache: without SITE_URL, only
    a host named in ALLOWED_HOSTS on no port or the request's own, lest any Host add entries."""
    if settings.SITE_URL:
        return True
    host, port = split_domain_port(request.get_host())
    named = {name.lower() for name in settings.ALLOWED_HOSTS}
    return host in named and port in ("", str(request.META.get("SERVER_PORT", "")))


def _state_or_404(slug: str) -> changes.EventState:
    state = changes.event_state(slug)
    if state is None:
        raise Http404("No such event")
    return state


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24] + '"'


# This process's latest answers, in front of the shared cache: a popular page is served without
# reading and unpickling it each time. Keys carry the change number, so nothing here goes stale.
_recent: dict[str, bytes] = {}
RECENT_MAX = 128


def _body(etag: str, build, *, shared: bool) -> bytes:
    body = _recent.get(etag)
    if body is None:
        key = f"events:resp:{etag}"
        body = changes.shared_cache.get(key) if shared else None
        if body is None:
            body = build().encode()
            if shared:
                changes.shared_cache.set(key, body, changes.CACHE_SECONDS)
        _recent[etag] = body
        while len(_recent) > RECENT_MAX:
            _recent.pop(next(iter(_recent)), None)
    return body


def _cached_response(
    request: HttpRequest, etag: str, max_age: int, content_type: str, build, *, shared: bool = True
) -> HttpResponse:
    """shared=False when build() reads a copy kept in the shared cache already."""
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(_body(etag, build, shared=shared), content_type=content_type)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=max_age)
    return response


@require_safe
def event_index(request):
    events = Event.objects.public()
    return render(
        request,
        "readers/index.html",
        {
            "live_events": events.live(),
            "upcoming_events": events.filter(status=Event.Status.SCHEDULED).order_by("starts_at"),
            "past_events": events.filter(status=Event.Status.ENDED),
        },
    )


def _reading_links(reading: changes.Reading) -> dict[str, str]:
    """The page's toolbar: each choice's query string, keeping the other choice as it is."""
    links = {view: changes.Reading(view, reading.order, reading.lang).query() for view in changes.VIEWS}
    return links | {order: changes.Reading(reading.view, order, reading.lang).query() for order in changes.ORDERS}


def _page_context(state: changes.EventState, reading: changes.Reading, cursor: int | None, base: str) -> dict:
    event = Event.objects.get(pk=state.id)
    posts, next_cursor = reading.page(event, cursor)
    first = cursor is None
    default = reading == changes.Reading(lang=reading.lang)  # each edition is a page of its own
    pinned = changes.visible_posts(event).filter(pinned=True).first() if first else None
    editions.dress([*posts, *([pinned] if pinned else [])], event, reading.lang)
    summary = changes.current_summary(event)
    return {
        "event": event,
        "cursor": state.change_seq,  # read before the posts: anything newer is sent again, never missed
        "posts": posts,
        "pinned": pinned,
        "key_events": changes.key_events(event, reading.lang) if first and not reading.key_only else [],
        "reading": reading,
        "reading_links": _reading_links(reading),
        "next_cursor": next_cursor,
        "next_query": reading.query(next_cursor) if next_cursor else "",
        "canonical_query": reading.query(cursor) if default else changes.Reading(lang=reading.lang).query(),
        "language": changes.page_language(event, reading.lang),
        "edition": reading.lang,
        "edition_links": editions.links(
            event,
            reading.lang,
            changes.absolute(event.get_absolute_url(), base),
            lambda lang: changes.Reading(reading.view, reading.order, lang).query(),
        ),
        "summary": summary,
        "description": changes.summary_text(summary) or changes.event_summary(event),
        "page_title": changes.page_title(event),
        "jsonld": script_text(live_blog_posting(event, posts, base, summary=summary, edition=reading.lang))
        if first and default
        else None,
        "canonical": changes.absolute(event.get_absolute_url(), base),
        "logo_url": changes.absolute(settings.PUBLISHER_LOGO_URL, base),
    }


def _render_page(template: str, context: dict, request: HttpRequest) -> str:
    with translation.override(context["language"]):
        return render_to_string(template, context, request=request)


def _page(request: HttpRequest, slug: str, template: str) -> HttpResponse:
    state = _state_or_404(slug)
    base = changes.site_base(request)
    try:
        reading = _reading(request, state)
        cursor = _page_cursor(request, reading)
        etag = _etag(
            template, base, state.id, state.version, state.change_seq, reading.view, reading.order, reading.lang, cursor
        )
        response = _cached_response(
            request,
            etag,
            PAGE_MAX_AGE,
            "text/html; charset=utf-8",
            lambda: _render_page(template, _page_context(state, reading, cursor, base), request),
            shared=_shared_base(request, base),
        )
    except BadCursor as error:
        response = HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
        add_never_cache_headers(response)
        return response
    return allow_frames(response, event_frame_origins(state))  # under the state the page was answered from


@reader_page
@require_safe
def event_detail(request, slug):
    return _page(request, slug, "readers/detail.html")


@reader_page
@require_safe
@xframe_options_exempt  # the widget is meant to sit in other sites' pages
def event_embed(request, slug):
    return _page(request, slug, "readers/embed.html")


@reader_page
@require_safe
def widget_script_moved(request):
    """Snippets pasted on other sites before the widget's script moved into the readers app still load it."""
    return redirect(static(widget.SCRIPT), permanent=True)


@require_safe
def post_detail(request, slug, post_id):
    event = get_object_or_404(Event.objects.public(), slug=slug)
    post = get_object_or_404(
        changes.with_clips(event.posts.published().select_related("author", "picture"), event), pk=post_id
    )
    base = changes.site_base(request)
    context = {
        "language": changes.page_language(event),
        "event": event,
        "post": post,
        "title": changes.post_title(post),
        "description": plain_text(post.body)[:200],
        "canonical": changes.absolute(post.get_absolute_url(), base),
        "logo_url": changes.absolute(settings.PUBLISHER_LOGO_URL, base),
        "share_image": changes.api_picture(post, base),
    }
    with translation.override(context["language"]):
        response = render(request, "readers/post.html", context)
    return allow_frames(response, post_frame_origins(post))


@require_safe
def picture_file(request, name):
    """A rendition from the pictures storage. The URL pattern admits only the names publishing.pictures
    gives (hex token, width, extension), so no path reaches outside that storage, let alone the audio archive."""
    storage = pictures_storage()
    try:
        file = storage.open(name)
    except FileNotFoundError:
        raise Http404("No such picture") from None
    response = FileResponse(file, content_type=PICTURE_TYPES[name.rsplit(".", 1)[1]])
    # A rendition's name is new for every upload, so its bytes never change.
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    return response


@require_safe
def clip_file(request, name):
    """A quote's clip from the clips storage. The URL pattern admits only the names publishing.clips gives, so
    no path reaches outside that storage, let alone the private archive. Media elements ask for byte ranges."""
    try:
        with clips_storage().open(name) as file:
            data = file.read()  # a quote's few seconds: tens of kilobytes
    except FileNotFoundError:
        raise Http404("No such clip") from None
    response = _byte_range(request, data, "audio/flac")
    # A clip's name is new for every clip, so its bytes never change.
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    return response


def _byte_range(request: HttpRequest, data: bytes, content_type: str) -> HttpResponse:
    """The whole file, or the one byte range the Range header asks for."""
    size = len(data)
    try:
        wanted = ranges.requested_range(request.headers.get("Range", ""), size)
    except ranges.Unsatisfiable:
        return ranges.not_satisfiable(size)
    if wanted is None:
        response = HttpResponse(data, content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted
    return ranges.partial(
        HttpResponse(data[first : last + 1], status=206, content_type=content_type), first, last, size
    )


def _cursor_json(
    request: HttpRequest,
    slug: str,
    name: str,
    *,
    required: bool,
    max_age: int,
    tag: tuple,
    build,
    cors: bool,
    shared: bool = True,
    locate=None,
    by_edition: bool = False,
) -> HttpResponse:
    """A JSON answer by cursor, cached under the tag, change number and cursor (404: no public event, 400: a bad
    cursor); `build(state, cursor)` makes its text, `locate` may give the state and cursor it is cached under.
    `by_edition`: answered in the reader edition ?lang= names, `build(state, cursor, edition)`."""
    state = _state_or_404(slug)
    try:
        cursor = _cursor(request, name, required=required)
        if locate is not None:
            state, cursor = locate(slug, state, cursor)
        if by_edition:
            edition = state.edition(request.GET.get("lang"))  # checked: only the event's editions reach the keys
            tag, build = (*tag, edition), functools.partial(build, edition=edition)
        etag = _etag(*tag, state.id, state.version, state.change_seq, cursor)
        response = _cached_response(
            request, etag, max_age, "application/json", lambda: build(state, cursor), shared=shared
        )
    except BadCursor as error:
        return _bad_request(error)
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    return response


def _page_of_changes(slug: str, state: changes.EventState, after: int) -> tuple[changes.EventState, int]:
    if after > state.change_seq:
        # The cached change number may lag a commit by moments: ask the database before refusing.
        state = changes.fresh_state(slug) or state
        if after > state.change_seq:
            raise BadCursor(f"'after' is beyond this event's latest change ({state.change_seq})")
    return state, changes.page_start(state.change_seq, after)


@reader_page
@require_safe
def posts_since(request, slug):
    """The cursor endpoint: what changed after ?after=N, a page at most, the same bytes for every reader
    on that page, so a CDN can answer them all."""
    return _cursor_json(
        request,
        slug,
        "after",
        required=True,
        max_age=2,
        tag=("changes",),
        build=changes.changes_json,  # kept in the shared cache by changes_json, which the Hub reads too
        cors=True,
        shared=False,
        locate=_page_of_changes,
        by_edition=True,
    )


def _more_posts(request: HttpRequest, slug: str, order: str) -> HttpResponse:
    """A page of rendered posts past a page cursor, in one order, all posts or key events only (?view=)."""
    try:
        reading = changes.Reading(_choice(request, "view", changes.VIEWS), order)
    except BadCursor as error:
        return _bad_request(error)
    name = reading.cursor_name

    def build(state: changes.EventState, cursor: int, edition: str = "") -> str:
        event = Event.objects.get(pk=state.id)
        with translation.override(changes.page_language(event, edition)):
            page, following = reading.page(event, cursor)
            editions.dress(page, event, edition)
            posts = [changes.post_payload(post, event, edition) for post in page]
            return json.dumps({"posts": posts, name: following})

    tag = (name, reading.view)
    return _cursor_json(
        request, slug, name, required=True, max_age=30, tag=tag, build=build, cors=False, by_edition=True
    )


@reader_page
@require_safe
def older_posts(request, slug):
    """'Load older posts': rendered posts below ?before=<post id>, newest first, and the next cursor."""
    return _more_posts(request, slug, "newest")


@reader_page
@require_safe
def later_posts(request, slug):
    """'Load later posts' of a page read from the start: rendered posts above ?after=<post id>, oldest first."""
    return _more_posts(request, slug, "oldest")


@require_safe
def api_events(request):
    events = Event.objects.public()
    base = changes.site_base(request)
    response = JsonResponse({"events": [changes.api_event(event, base) for event in events[:200]]})
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=10)
    return response


@reader_page
@require_safe
def api_event(request, slug):
    base = changes.site_base(request)

    def build(state: changes.EventState, before: int | None) -> str:
        event = Event.objects.get(pk=state.id)
        page, older = changes.older_page(event, before)
        return json.dumps(
            {
                "event": changes.api_event(event, base),
                "posts": [changes.api_post(post, event, base) for post in page],
                "before": older,
            }
        )

    return _cursor_json(
        request,
        slug,
        "before",
        required=False,
        max_age=5,
        tag=("api", base),
        build=build,
        cors=True,
        shared=_shared_base(request, base),
    )
