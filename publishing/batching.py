"""Claiming final segments into batches: each segment lands in exactly one batch, in order."""

from datetime import datetime, timedelta

from django.db import OperationalError, transaction
from django.db.models import BigIntegerField, Case, Value, When
from django.utils import timezone

from events.models import Event
from publishing.drafting import lease_deadline
from publishing.models import Batch
from publishing.queueing import enqueue_drafting
from transcription.models import Segment

# Upper bound on segments per claim: a batch that grows past this is drafted in steps by the brief anyway,
# and a bounded IN (...) keeps the compare-and-set cheap on both databases.
MAX_SEGMENTS_PER_BATCH = 2000
MAX_SEGMENTS_PER_TICK = 20000


def claim_batch(event_id: int, *, final: bool = False) -> Batch | None:
    """Claim the event's unbatched final segments into one new batch, or return None if there are none.

    The claim is a compare-and-set: the UPDATE only takes segments still without a batch, and the batch
    is kept only if it took every segment it read. A racing claimer that got there first makes the
    counts differ, so this one rolls back and takes nothing; no segment ever sits in two batches.
    Drafting is enqueued after commit, so the worker always sees the batch.
    """
    try:
        return _claim(event_id, final)
    except OperationalError:
        # Two claimers locking the same rows may deadlock on PostgreSQL: the loser's claim rolled back whole.
        return None


def _claim(event_id: int, final: bool) -> Batch | None:
    with transaction.atomic():
        ids = list(
            Segment.objects.filter(event_id=event_id, batch__isnull=True)
            .in_order()
            .values_list("pk", flat=True)[:MAX_SEGMENTS_PER_BATCH]
        )
        if not ids:
            return None
        batch = Batch.objects.create(event_id=event_id, is_final=final, lease_expires_at=lease_deadline())
        taken = Segment.objects.filter(pk__in=ids, batch__isnull=True).update(batch=batch)
        if taken != len(ids):
            transaction.set_rollback(True)
            return None
        Event.objects.filter(pk=event_id).update(last_batched_at=timezone.now())
        transaction.on_commit(lambda: enqueue_drafting(batch.pk))
    return batch


def flush_remaining_receiver(sender, *, event_id: int, **kwargs) -> None:
    """events.signals.event_ended and transcription.signals.stream_ended: the final batch."""
    flush_remaining(event_id)


def flush_remaining(event_id: int) -> Batch | None:
    """Batch whatever is left when a stream stops or the event ends.

    A claim that loses a race takes nothing, so try again while segments are left: after the event
    ends no beat would pick them up.
    """
    batch = None
    for _ in range(5):
        batch = claim_batch(event_id, final=True) or batch
        if not Segment.objects.filter(event_id=event_id, batch__isnull=True).exists():
            break
    return batch


def tick(now: datetime | None = None) -> list[Batch]:
    """One beat of the batcher: a batch for every live event whose interval has passed and that has new segments.

    Due events with nothing new start a fresh interval too, so the studio's countdown keeps its rhythm.
    """
    now = now or timezone.now()
    # Segments stored after their event ended (a late final result) still get drafted.
    late = Segment.objects.filter(batch__isnull=True, event__status=Event.Status.ENDED).values_list(
        "event_id", flat=True
    )
    for event_id in set(late[:1000]):
        flush_remaining(event_id)
    rows = (
        Event.objects.live()
        .filter(drafting_paused_reason="")
        .values_list("pk", "last_batched_at", "batch_interval_seconds")
    )
    due = [pk for pk, last, interval in rows if last is None or last + timedelta(seconds=interval) <= now]
    if not due:
        return []
    with_segments = set(
        Segment.objects.filter(event_id__in=due, batch__isnull=True).values_list("event_id", flat=True).distinct()
    )
    idle = [pk for pk in due if pk not in with_segments]
    if idle:
        Event.objects.filter(pk__in=idle).update(last_batched_at=now)
    return claim_many([pk for pk in due if pk in with_segments], now)


class _Lost(Exception):
    """A racing claimer took some of the segments: the bulk claim rolls back."""


def claim_many(event_ids: list[int], now: datetime | None = None) -> list[Batch]:
    """A batch for each of these events in one transaction: the same compare-and-set over all their segments.

    Claiming 1,000 events one transaction at a time costs 1,000 commits per tick; this costs one. If any
    segment was taken meanwhile (or there are too many to claim at once), each event is claimed on its own.
    """
    now = now or timezone.now()
    if not event_ids:
        return []
    try:
        with transaction.atomic():
            rows = list(
                Segment.objects.filter(event_id__in=event_ids, batch__isnull=True)
                .in_order()
                .values_list("pk", "event_id")[: MAX_SEGMENTS_PER_TICK + 1]
            )
            if len(rows) > MAX_SEGMENTS_PER_TICK:
                raise _Lost
            segments: dict[int, list[int]] = {}
            for pk, event_id in rows:
                segments.setdefault(event_id, []).append(pk)
            if not segments:
                return []
            lease = lease_deadline()
            batches = Batch.objects.bulk_create(Batch(event_id=pk, lease_expires_at=lease) for pk in segments)
            owner = Case(
                *(When(event_id=b.event_id, then=Value(b.pk)) for b in batches), output_field=BigIntegerField()
            )
            if Segment.objects.filter(pk__in=[pk for pk, _ in rows], batch__isnull=True).update(batch=owner) != len(
                rows
            ):
                raise _Lost
            Event.objects.filter(pk__in=segments).update(last_batched_at=now)
            transaction.on_commit(lambda: enqueue_drafting(*(b.pk for b in batches)))
            return batches
    except (_Lost, OperationalError):
        claimed = [claim_batch(pk) for pk in event_ids]
        return [batch for batch in claimed if batch is not None]
