"""Embeds as readers get them: each page's Content-Security-Policy lets frames come only from the providers of
the embeds it may show (its event's published posts, which live updates and 'load older' bring too)."""

from functools import lru_cache

from django.http import HttpResponseBase

from publishing.embed_providers import origin_of, providers
from publishing.models import Embed, Post
from readers import changes


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
    """An event's page (or its widget): the providers of the event's published embeds."""
    return _event_frame_origins(state.id, state.change_seq, state.version)


@lru_cache(maxsize=256)  # by the event's change number and version: a change makes a new key, nothing goes stale
def _event_frame_origins(event_id: int, change_seq: int, version: str) -> tuple[str, ...]:
    rows = Embed.objects.filter(
        post__event_id=event_id, post__status=Post.Status.PUBLISHED, status=Embed.Status.READY
    ).values_list("provider", "frame_src")
    return frame_origins(rows.order_by().distinct())


def post_frame_origins(post: Post) -> tuple[str, ...]:
    """A published post's permalink: the providers of its embeds (prefetched with the post, changes.with_clips)."""
    return frame_origins((embed.provider, embed.frame_src) for embed in post.embeds.all())


def allow_frames(response: HttpResponseBase, origins: tuple[str, ...]) -> HttpResponseBase:
    """frame-src for exactly these origins on this response (django-csp's per-response update)."""
    if origins:
        response._csp_update = {**(getattr(response, "_csp_update", None) or {}), "frame-src": list(origins)}
    return response
