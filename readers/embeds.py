"""Embeds as readers get them: each page's Content-Security-Policy lets frames come only from the providers of
the embeds it may show (its event's published posts, which live updates and 'load older' bring too)."""

from functools import wraps

from django.http import HttpRequest, HttpResponseBase

from publishing.embed_providers import origin_of, providers
from publishing.models import Embed, Post
from readers import changes

# This process's answers by (event, change number, version): a change makes a new key, nothing goes stale.
_origins_by_state: dict[tuple, tuple[str, ...]] = {}
KEPT = 256


def frame_origins(embeds) -> tuple[str, ...]:
    """The origins of the players that may be shown, of these (provider key, player address) pairs."""
    allowed = providers()
    origins = set()
    for provider_key, src in embeds:
        provider = allowed.get(provider_key)
        if src and provider is not None and provider.allows_frame(src):
            origins.add(origin_of(src))
    return tuple(sorted(origins))


def event_frame_origins(state: changes.EventState) -> tuple[str, ...]:
    key = (state.id, state.change_seq, state.version)
    origins = _origins_by_state.get(key)
    if origins is None:
        rows = Embed.objects.filter(
            post__event_id=state.id, post__status=Post.Status.PUBLISHED, status=Embed.Status.READY
        ).values_list("provider", "frame_src")
        origins = frame_origins(rows.order_by().distinct())
        _origins_by_state[key] = origins
        while len(_origins_by_state) > KEPT:
            _origins_by_state.pop(next(iter(_origins_by_state)), None)
    return origins


def allow_frames(response: HttpResponseBase, origins: tuple[str, ...]) -> HttpResponseBase:
    """frame-src for exactly these origins on this response (django-csp's per-response update)."""
    if origins:
        response._csp_update = {**(getattr(response, "_csp_update", None) or {}), "frame-src": list(origins)}
    return response


def allows_event_frames(view):
    """An event's page (or its widget): frames from the providers of the event's published embeds."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, *args, **kwargs):
        response = view(request, slug, *args, **kwargs)
        if response.status_code in (200, 304):
            state = changes.event_state(slug)
            if state is not None:
                allow_frames(response, event_frame_origins(state))
        return response

    return wrapped


def allows_post_frames(view):
    """A post's permalink: frames from the providers of that post's embeds."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, post_id: int, *args, **kwargs):
        response = view(request, slug, post_id, *args, **kwargs)
        if response.status_code == 200:
            rows = Embed.objects.filter(
                post_id=post_id, post__event__slug=slug, post__status=Post.Status.PUBLISHED, status=Embed.Status.READY
            ).values_list("provider", "frame_src")
            allow_frames(response, frame_origins(rows))
        return response

    return wrapped
