"""The editors' draft queue, live: the state an open page compares to know it is out of date, the notices
that tell it to look again, and who has a post open for editing.

The state is read from the database (and the cache, for who is editing), so it is right in every topology;
notices only make it prompt. How: docs/architecture.md, *The draft queue*.
"""

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q

from events.models import Event
from publishing.models import Batch, Post, PostTranslation, Summary

logger = logging.getLogger(__name__)

PRESENCE_SECONDS = 30
RENEW_SECONDS = 10  # how often an open page renews its editor's presence: well within PRESENCE_SECONDS
EDITORS_INDEX_SECONDS = 24 * 3600
WAITING = [Post.Status.DRAFT, Post.Status.APPROVED]


def queue_group(event_id: int) -> str:
    return f"queue-{event_id}"


# --- who is editing ---------------------------------------------------------------------------------


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _editor_key(event_id: int, user_id: int) -> str:
    return f"queue-editing:{event_id}:{user_id}"


def _editors_key(event_id: int) -> str:
    return f"queue-editors:{event_id}"


def mark_editing(event_id: int, user, post_id: int | None) -> None:
    """`user` has post `post_id` of the event open for editing (None: no post any more)."""
    key = _editor_key(event_id, user.pk)
    if post_id is None:
        cache.delete(key)
        return
    cache.set(key, {"post": post_id, "name": display_name(user)}, PRESENCE_SECONDS)
    # Read, then written: two editors opening their first post at once may drop one from the index,
    # and that one's next renewal puts it back.
    editors = cache.get(_editors_key(event_id)) or []
    if user.pk not in editors:
        cache.set(_editors_key(event_id), [*editors, user.pk], EDITORS_INDEX_SECONDS)


@dataclass(frozen=True, order=True)
class Editing:
    post_id: int
    user_id: int
    name: str


def who_is_editing(event_id: int) -> list[Editing]:
    editors = cache.get(_editors_key(event_id)) or []
    found = cache.get_many([_editor_key(event_id, user_id) for user_id in editors])
    return sorted(
        Editing(seat["post"], user_id, seat["name"])
        for user_id in editors
        if (seat := found.get(_editor_key(event_id, user_id))) is not None
    )


# --- the queue's state --------------------------------------------------------------------------------


class QueueMessage(TypedDict):
    type: Literal["queue"]
    version: str
    drafts: int  # drafts waiting: the number in the tab's title
    failed: int  # failed batches
    paused: str  # why drafting is paused, or ""
    renew: int  # seconds between the page's renewals of its editor's presence


@dataclass(frozen=True)
class QueueState:
    drafts: int
    failed: int
    paused: str
    editing: list[Editing] = field(default_factory=list)
    version: str = ""

    def message(self) -> QueueMessage:
        return {
            "type": "queue",
            "version": self.version,
            "drafts": self.drafts,
            "failed": self.failed,
            "paused": self.paused,
            "renew": RENEW_SECONDS,
        }


def queue_state(event_id: int) -> QueueState | None:
    """What the queue page shows, summed up; None for an event that does not exist."""
    event = Event.objects.only("drafting_paused_reason", "cap_pause").filter(pk=event_id).first()
    if event is None:
        return None
    paused = (event.drafting_paused_reason, event.cap_pause)  # as stored: the same version in every language
    posts = Post.objects.filter(event_id=event_id).aggregate(
        waiting=Count("pk", filter=Q(status__in=WAITING)), total=Count("pk"), changed=Max("updated_at")
    )
    # Batches change by UPDATE (no updated_at): their statuses and latest finish say what the page shows.
    batches = Batch.objects.filter(event_id=event_id).aggregate(
        failed=Count("pk", filter=Q(status=Batch.Status.FAILED)),
        drafting=Count("pk", filter=Q(status__in=[Batch.Status.PENDING, Batch.Status.DRAFTING])),
        finished=Max("finished_at"),
    )
    editing = who_is_editing(event_id)
    # The story so far: its latest versions' states (a draft arriving, published, rejected…).
    summaries = list(Summary.objects.filter(event_id=event_id).values_list("version", "status", "points")[:3])
    # Reader editions held for an editor, and their decisions.
    held = list(
        PostTranslation.objects.filter(post__event_id=event_id, status=PostTranslation.Status.HELD).values_list(
            "pk", "source_revision"
        )[:50]
    )
    seen = repr((sorted(posts.items()), sorted(batches.items()), paused, editing, summaries, held))
    return QueueState(
        drafts=posts["waiting"],
        failed=batches["failed"],
        paused=event.pause_reason(),
        editing=editing,
        version=hashlib.sha256(seen.encode()).hexdigest()[:16],
    )


# --- notices ------------------------------------------------------------------------------------------


def announce_queue_change(event_id: int) -> None:
    """Tell the event's open queue pages to look again; a lost notice costs only the poll's delay."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "queue.changed"}
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is not None:  # on an event loop's thread: hand it over rather than block the loop
            loop.create_task(layer.group_send(queue_group(event_id), message))
        else:
            async_to_sync(layer.group_send)(queue_group(event_id), message)
    except Exception:
        logger.exception("could not announce a change to the queue of event %s", event_id)


def post_saved_receiver(sender, instance: Post, **kwargs) -> None:
    """post_save of Post: the event's queue pages look again once the change is committed."""
    event_id = instance.event_id
    transaction.on_commit(lambda: announce_queue_change(event_id), robust=True)


def summary_changed_receiver(sender, *, event_id: int, **kwargs) -> None:
    """publishing.signals.summary_changed (sent on commit): the event's queue pages look again."""
    announce_queue_change(event_id)
