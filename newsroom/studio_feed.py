"""What the studio shows of the drafting pipeline: the next batch's time and each draft, as the journalist sees it.

Read from the database by polling, so it works the same in the embedded and the Redis topology:
one poll per event and process, however many studio sockets of the event the process holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from events.models import Event
from publishing.models import Post

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Updates:
    batch: dict
    drafts: list[Post]  # written out for each socket, in its language (draft_summary)
    last_post_id: int
    ended_at: str | None = None  # the event's end, once it has ended


def latest_post_id(event_id: int) -> int:
    return Post.objects.filter(event_id=event_id).order_by("-pk").values_list("pk", flat=True).first() or 0


# Each state as the journalist reads it (the studio's script has the same words from its catalog).
STATE_LABELS = {
    "waiting": gettext_lazy("waiting for an editor"),
    "held": gettext_lazy("held"),
    "approved": gettext_lazy("approved"),
    "published": gettext_lazy("published"),
    "rejected": gettext_lazy("rejected"),
}


def draft_status(post: Post) -> str:
    """The draft's state in the journalist's words: waiting, held, approved, published or rejected."""
    if post.status == Post.Status.DRAFT:
        return "held" if post.hold_reason else "waiting"
    return post.status


def author_name(user) -> str:
    return user.get_full_name() or user.get_username()


def draft_summary(post: Post, *, staff: bool) -> dict:
    """A draft as the studio shows it: links only to pages this user may open (admin for staff alone)."""
    published = post.status == Post.Status.PUBLISHED
    summary = {
        "id": post.pk,
        "headline": post.headline,
        "body": post.body,
        "status": post.status,
        "state": draft_status(post),
        "hold_reason": post.why_held() if post.status == Post.Status.DRAFT else "",
        "created_at": post.created_at.isoformat(),
        "kind": post.kind,
        # Whose words, for a journalist's quote or post; "" for an AI draft.
        "author": author_name(post.author) if post.author_id and not post.ai_assisted else "",
        "url": post.get_absolute_url() if published else reverse("newsroom:draft", args=[post.event.slug, post.pk]),
    }
    if staff:
        summary["admin_url"] = reverse("admin:publishing_post_change", args=[post.pk])
    return summary


DRAFTS_SHOWN = 100


def drafts_of(event: Event, *, staff: bool) -> list[dict]:
    """Every draft of the event, newest first (at most DRAFTS_SHOWN)."""
    posts = Post.objects.filter(event=event).select_related("event", "author").order_by("-pk")[:DRAFTS_SHOWN]
    return [draft_summary(post, staff=staff) for post in posts]


def updates(event_id: int, after_post_id: int) -> Updates:
    event = Event.objects.only("slug", "batch_interval_seconds", "last_batched_at", "status", "ends_at").get(
        pk=event_id
    )
    interval = event.batch_interval_seconds
    # Before the first batch the beat's next tick takes it: no time to count down to yet.
    next_at = event.last_batched_at + timedelta(seconds=interval) if event.last_batched_at else None
    posts = list(
        Post.objects.filter(event_id=event_id, pk__gt=after_post_id).select_related("author").order_by("pk")[:20]
    )
    for post in posts:
        post.event = event
    return Updates(
        batch={"type": "batch", "next_batch_at": next_at.isoformat() if next_at else None, "interval": interval},
        drafts=posts,
        last_post_id=posts[-1].pk if posts else after_post_id,
        ended_at=(event.ends_at or timezone.now()).isoformat() if event.status == Event.Status.ENDED else None,
    )


# --- one watch per event and process, shared by that event's studio sockets -------------------

POLL_SECONDS = 2.0


class Listener(Protocol):
    async def send_json(self, message: dict) -> None: ...

    async def event_gone(self) -> None: ...

    async def event_ended(self, ended_at: str) -> None: ...


@dataclass(eq=False)
class _Seat:
    listener: Listener
    after_post_id: int
    staff: bool
    language: str
    last_batch: dict | None = None

    async def show(self, found: Updates) -> None:
        if found.batch != self.last_batch:
            self.last_batch = found.batch
            await self.listener.send_json(found.batch)
        for post in found.drafts:
            if post.pk > self.after_post_id:
                with translation.override(self.language):
                    shown = draft_summary(post, staff=self.staff)
                await self.listener.send_json({"type": "draft", "post": shown})
        self.after_post_id = max(self.after_post_id, found.last_post_id)
        if found.ended_at is not None:
            await self.listener.event_ended(found.ended_at)


class _EventWatch:
    """Polls one event's drafting state for every studio socket of this process that shows it."""

    def __init__(self, event_id: int):
        self.event_id = event_id
        self.seats: dict[Listener, _Seat] = {}
        self.latest: Updates | None = None
        self.task = asyncio.create_task(self._run(), name=f"newsroom-{event_id}")

    async def _run(self) -> None:
        while self.seats:
            after = min(seat.after_post_id for seat in self.seats.values())
            try:
                self.latest = await database_sync_to_async(updates)(self.event_id, after)
            except Event.DoesNotExist:
                for seat in list(self.seats.values()):
                    await seat.listener.event_gone()
                return
            except Exception:
                logger.exception("studio could not read the drafting state of event %s", self.event_id)
            else:
                for seat in list(self.seats.values()):
                    # A socket closing under us must not stop the others; its disconnect takes its seat away.
                    with contextlib.suppress(Exception):
                        await seat.show(self.latest)
            await asyncio.sleep(POLL_SECONDS)


_WATCHES: dict[int, _EventWatch] = {}


async def watch(event_id: int, listener: Listener, *, staff: bool) -> None:
    """Show `listener` the next batch time now and every draft created from now on (admin links for staff)."""
    after = await database_sync_to_async(latest_post_id)(event_id)
    current = _WATCHES.get(event_id)
    if current is None or current.task.done():
        current = _WATCHES[event_id] = _EventWatch(event_id)
    # The watch's task runs in the language of the socket that started it: each seat keeps its own.
    seat = current.seats[listener] = _Seat(listener, after, staff, translation.get_language())
    if current.latest is not None:
        await listener.send_json(current.latest.batch)
        seat.last_batch = current.latest.batch


def unwatch(event_id: int, listener: Listener) -> None:
    current = _WATCHES.get(event_id)
    if current is None:
        return
    current.seats.pop(listener, None)
    if not current.seats:
        current.task.cancel()
        del _WATCHES[event_id]
