"""An event's credit cap: credits reserved before each drafting call, settled after, and the pause the beat lifts.

A batch reserves the most its drafting may bill (its calls times the drafter's ceiling per call) before the drafter
is called, under the event's row lock, so two workers drafting at once each count the other's reservation and
together stay within the cap. A reservation counts only while its batch is being drafted under a live lease: a
worker that dies mid-call leaks nothing past its lease, and drafting (or failing) replaces it with what was billed.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import Event
from publishing.brief import build_brief
from publishing.drafters.base import get_drafter
from publishing.models import Alert, Batch, PostTranslation, Summary

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


def credits_of(
    event: Event,
    *,
    next_batch: int | None = None,
    excluding_batch: int | None = None,
    excluding_summary: int | None = None,
    excluding_translation: int | None = None,
) -> Credits:
    """The event's credits, its batches', its summaries' (the story so far) and its posts' translations (reader
    editions); `next_batch` is what the next batch may bill, by default the least any batch may."""
    used, reserved = 0, 0
    for model, excluded in ((Batch, excluding_batch), (Summary, excluding_summary)):
        rows = model.objects.filter(event_id=event.pk)
        used += rows.aggregate(total=Sum("credits_used"))["total"] or 0
        drafting = rows.filter(status=model.Status.DRAFTING, lease_expires_at__gt=timezone.now())
        if excluded is not None:
            drafting = drafting.exclude(pk=excluded)
        reserved += drafting.aggregate(total=Sum("credits_reserved"))["total"] or 0
    translations = PostTranslation.objects.filter(post__event_id=event.pk)
    used += translations.aggregate(total=Sum("credits_used"))["total"] or 0
    translating = translations.filter(status=PostTranslation.Status.PENDING, lease_expires_at__gt=timezone.now())
    if excluding_translation is not None:
        translating = translating.exclude(pk=excluding_translation)
    reserved += translating.aggregate(total=Sum("credits_reserved"))["total"] or 0
    return Credits(event.credit_cap, used, reserved, smallest_ceiling() if next_batch is None else next_batch)


def smallest_ceiling() -> int:
    """The most the smallest batch may bill: one call."""
    return get_drafter().max_credits_per_call


def ceiling(batch: Batch) -> int:
    """The most drafting this batch may bill."""
    return get_drafter().max_credits(build_brief(batch))


def is_cap_pause(reason: str) -> bool:
    return reason.startswith(CAP_REASON_PREFIX)


def _set_pause(event: Event, reason: str) -> None:
    """Called under the event's row lock, so a pause is alerted once, by whoever set it."""
    if reason != event.drafting_paused_reason:
        Event.objects.filter(pk=event.pk).update(drafting_paused_reason=reason)
        if is_cap_pause(reason) and not is_cap_pause(event.drafting_paused_reason):
            Alert.objects.raise_alert(Alert.Kind.DRAFTING_PAUSED, event.pk, f"Drafting paused: {reason}")
        event.drafting_paused_reason = reason


def reserve(batch: Batch, most: int) -> str:
    """Reserve `most`, the most drafting this batch may bill. Returns "" when it may be drafted; otherwise why not,
    and the batch has failed with that reason (queued again by the beat once the cap has room, or by an editor)."""
    with transaction.atomic():
        # The event's row lock makes reservations one at a time: without it two workers could each see room
        # for one more batch and both call the drafter past the cap.
        event = Event.objects.select_for_update().get(pk=batch.event_id)
        reason = _refusal(event, batch, most)
        if reason:
            # Failed under the lock, so lifting the pause, which queues again what it stopped, cannot miss it.
            batch.fail(PAUSED_ERROR_PREFIX + reason, alert=False)  # not a failure: a cap pause alerts itself
    return reason


def _refusal(event: Event, batch: Batch, most: int) -> str:
    """Under the event's row lock: why the batch may not be drafted, or "" once `most` is reserved for it."""
    reason = event.drafting_paused_reason
    if reason and not is_cap_pause(reason):
        return reason  # paused by hand: not the cap's to lift
    credits = credits_of(event, next_batch=most, excluding_batch=batch.pk)
    if not credits.room_for_next_batch:
        _set_pause(event, credits.cap_reason())
        return event.drafting_paused_reason
    amount = most if credits.cap is not None else 0
    Batch.objects.filter(pk=batch.pk, status=Batch.Status.DRAFTING).update(credits_reserved=amount)
    if reason:
        _lift_when_room(event)
    return ""


def _lift_when_room(event: Event) -> bool:
    """Under the event's row lock: lift the cap's pause once the costliest batch it stopped fits, and queue
    those batches again (one by one, the one that does not fit would pause and alert at every beat)."""
    stopped = Batch.objects.filter(
        event_id=event.pk, status=Batch.Status.FAILED, last_error__startswith=PAUSED_ERROR_PREFIX + CAP_REASON_PREFIX
    )
    most = max((ceiling(batch) for batch in stopped.select_related("event")), default=smallest_ceiling())
    if not credits_of(event, next_batch=most).room_for_next_batch:
        return False
    _set_pause(event, "")
    stopped.retry_failed()
    return True


def release(batch: Batch) -> None:
    """The batch is no longer being drafted by this worker: its reservation no longer holds anything back."""
    Batch.objects.filter(pk=batch.pk).update(credits_reserved=0)


def bill(batch: Batch, credits_used: int) -> None:
    """Add what calls billed to the batch, when they led to no post (a later call failed)."""
    if credits_used:
        Batch.objects.filter(pk=batch.pk).update(credits_used=Coalesce(F("credits_used"), Value(0)) + credits_used)


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
    """Beat: events the cap paused whose cap now has room draft again; batches it stopped are queued again."""
    resumed = []
    paused = Event.objects.filter(drafting_paused_reason__startswith=CAP_REASON_PREFIX)
    for pk in list(paused.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            # Still paused by the cap: a worker may have reserved or lifted it since it was listed.
            event = paused.select_for_update().filter(pk=pk).first()
            if event is not None and _lift_when_room(event):
                resumed.append(pk)
    return resumed


def reserve_summary(summary: Summary, most: int) -> str:
    """As `reserve`, for a version of the story so far: "" when it may be drafted; otherwise why not, and the
    version has failed with that reason (the next trigger drafts a new one)."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=summary.event_id)
        reason = event.drafting_paused_reason
        if not reason:
            credits = credits_of(event, next_batch=most, excluding_summary=summary.pk)
            if credits.room_for_next_batch:
                amount = most if credits.cap is not None else 0
                Summary.objects.filter(pk=summary.pk, status=Summary.Status.DRAFTING).update(credits_reserved=amount)
                return ""
            _set_pause(event, credits.cap_reason())
            reason = event.drafting_paused_reason
        summary.fail(PAUSED_ERROR_PREFIX + reason)
    return reason


def release_summary(summary: Summary) -> None:
    Summary.objects.filter(pk=summary.pk).update(credits_reserved=0)


def bill_summary(summary: Summary, credits_used: int) -> None:
    """Add what a call billed to the version, whatever became of it."""
    if credits_used:
        Summary.objects.filter(pk=summary.pk).update(credits_used=Coalesce(F("credits_used"), Value(0)) + credits_used)


def reserve_translation(translation: PostTranslation, most: int) -> str:
    """As `reserve`, for one reader edition of a post: "" when it may be translated; otherwise why not, and the
    translation has failed with that reason (readers keep the original)."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=translation.post.event_id)
        reason = event.drafting_paused_reason
        if not reason:
            credits = credits_of(event, next_batch=most, excluding_translation=translation.pk)
            if credits.room_for_next_batch:
                amount = most if credits.cap is not None else 0
                PostTranslation.objects.filter(pk=translation.pk, status=PostTranslation.Status.PENDING).update(
                    credits_reserved=amount
                )
                return ""
            _set_pause(event, credits.cap_reason())
            reason = event.drafting_paused_reason
        PostTranslation.objects.filter(pk=translation.pk, status=PostTranslation.Status.PENDING).update(
            status=PostTranslation.Status.FAILED,
            last_error=(PAUSED_ERROR_PREFIX + reason)[:2000],
            lease_expires_at=None,
        )
    return reason


def release_translation(translation: PostTranslation) -> None:
    PostTranslation.objects.filter(pk=translation.pk).update(credits_reserved=0)


def bill_translation(translation: PostTranslation, credits_used: int) -> None:
    """Add what a call billed to the translation, whatever became of it."""
    if credits_used:
        PostTranslation.objects.filter(pk=translation.pk).update(
            credits_used=Coalesce(F("credits_used"), Value(0)) + credits_used
        )
