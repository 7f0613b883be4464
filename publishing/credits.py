"""An event's credit cap: credits reserved before each drafting call, settled after, and the pause the beat lifts.

A batch reserves what its drafting may cost before the drafter is called, under the event's row lock, so two
workers drafting at once each count the other's reservation and together stay within the cap. A reservation
counts only while its batch is being drafted under a live lease: a worker that dies mid-call leaks nothing
past its lease, and drafting (or failing) replaces it with what was actually billed.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from events.models import Event
from publishing.models import Alert, Batch

CAP_REASON_PREFIX = "Credit cap"
PAUSED_ERROR_PREFIX = "Drafting paused: "


@dataclass(frozen=True)
class Credits:
    """An event's credits: billed, reserved by drafting in progress, and what the next batch reserves."""

    cap: int | None
    used: int
    reserved: int
    next_batch: int

    @property
    def room_for_next_batch(self) -> bool:
        return self.cap is None or self.used + self.reserved + self.next_batch <= self.cap

    def cap_reason(self) -> str:
        return (
            f"{CAP_REASON_PREFIX} of {self.cap} reached: {self.used} credits used, {self.reserved} reserved, "
            f"and a batch may need {self.next_batch}."
        )


def credits_of(event: Event, *, excluding_batch: int | None = None) -> Credits:
    batches = Batch.objects.filter(event_id=event.pk)
    used = batches.aggregate(total=Sum("credits_used"))["total"] or 0
    drafting = batches.filter(status=Batch.Status.DRAFTING, lease_expires_at__gt=timezone.now())
    if excluding_batch is not None:
        drafting = drafting.exclude(pk=excluding_batch)
    reserved = drafting.aggregate(total=Sum("credits_reserved"))["total"] or 0
    return Credits(event.credit_cap, used, reserved, next_batch_estimate(event))


def next_batch_estimate(event: Event) -> int:
    """The most one batch of this event has cost so far; before any batch was billed, the configured guess."""
    largest = Batch.objects.filter(event_id=event.pk).aggregate(largest=Max("credits_used"))["largest"]
    return largest or settings.CREDIT_RESERVE_PER_BATCH


def is_cap_pause(reason: str) -> bool:
    return reason.startswith(CAP_REASON_PREFIX)


def _set_pause(event: Event, reason: str) -> None:
    """Called under the event's row lock, so a pause is alerted once, by whoever set it."""
    if reason != event.drafting_paused_reason:
        Event.objects.filter(pk=event.pk).update(drafting_paused_reason=reason)
        if is_cap_pause(reason) and not is_cap_pause(event.drafting_paused_reason):
            Alert.objects.raise_alert(Alert.Kind.DRAFTING_PAUSED, event.pk, f"Drafting paused: {reason}")
        event.drafting_paused_reason = reason


def reserve(batch: Batch) -> str:
    """Reserve what drafting this batch may cost. Returns why it may not be drafted now, or "" when it may."""
    with transaction.atomic():
        # The event's row lock makes reservations one at a time: without it two workers could each see room
        # for one more batch and both call the drafter past the cap.
        event = Event.objects.select_for_update().get(pk=batch.event_id)
        reason = event.drafting_paused_reason
        if reason and not is_cap_pause(reason):
            return reason  # paused by hand: not the cap's to lift
        credits = credits_of(event, excluding_batch=batch.pk)
        if not credits.room_for_next_batch:
            _set_pause(event, credits.cap_reason())
            return event.drafting_paused_reason
        _set_pause(event, "")
        amount = credits.next_batch if credits.cap is not None else 0
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.DRAFTING).update(credits_reserved=amount)
    batch.event.drafting_paused_reason = ""
    return ""


def release(batch: Batch) -> None:
    """The batch is no longer being drafted by this worker: its reservation no longer holds anything back."""
    Batch.objects.filter(pk=batch.pk).update(credits_reserved=0)


def pause_when_full(event: Event) -> str:
    """After a batch is billed: pause the event's drafting (and so the beat's batching) if no batch fits any more."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.drafting_paused_reason:
            return event.drafting_paused_reason
        credits = credits_of(event)
        if not credits.room_for_next_batch:
            _set_pause(event, credits.cap_reason())
        return event.drafting_paused_reason


def resume_where_cap_allows() -> list[int]:
    """Beat: events the cap paused whose cap now has room (raised or cleared) draft again.

    Their waiting segments are batched by this same beat, and batches the cap stopped are queued again.
    """
    resumed = []
    paused = Event.objects.filter(drafting_paused_reason__startswith=CAP_REASON_PREFIX)
    for pk in list(paused.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            # Still paused by the cap: a worker may have reserved or lifted it since it was listed.
            event = paused.select_for_update().filter(pk=pk).first()
            if event is None or not credits_of(event).room_for_next_batch:
                continue
            _set_pause(event, "")
            Batch.objects.filter(
                event_id=pk, status=Batch.Status.FAILED, last_error__startswith=PAUSED_ERROR_PREFIX + CAP_REASON_PREFIX
            ).retry_failed()
            resumed.append(pk)
    return resumed
