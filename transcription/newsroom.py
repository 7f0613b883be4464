"""What the studio shows of the drafting pipeline: the next batch's time and each new draft.

Read from the database by polling, so it works the same in the embedded and the Redis topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse

from events.models import Event
from publishing.models import Post


@dataclass(frozen=True)
class Updates:
    batch: dict
    drafts: list[dict]
    last_post_id: int


def latest_post_id(event_id: int) -> int:
    return Post.objects.filter(event_id=event_id).order_by("-pk").values_list("pk", flat=True).first() or 0


def updates(event_id: int, after_post_id: int) -> Updates:
    event = Event.objects.only("batch_interval_seconds", "last_batched_at", "starts_at").get(pk=event_id)
    interval = event.batch_interval_seconds
    # Before the first batch the beat's next tick takes it: no time to count down to yet.
    next_at = event.last_batched_at + timedelta(seconds=interval) if event.last_batched_at else None
    posts = list(Post.objects.filter(event_id=event_id, pk__gt=after_post_id).order_by("pk")[:20])
    drafts = [
        {
            "id": post.pk,
            "headline": post.headline,
            "body": post.body,
            "status": post.status,
            "created_at": post.created_at.isoformat(),
            "admin_url": reverse("admin:publishing_post_change", args=[post.pk]),
        }
        for post in posts
    ]
    return Updates(
        batch={"type": "batch", "next_batch_at": next_at.isoformat() if next_at else None, "interval": interval},
        drafts=drafts,
        last_post_id=posts[-1].pk if posts else after_post_id,
    )
