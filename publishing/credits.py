"""An event's credit cap: credits reserved before each drafting call, settled after, and the pause the beat lifts.

A batch reserves the most its drafting may bill (its calls times the drafter's ceiling per call) before the drafter
is called, under the event's row lock, so two workers drafting at once each count the other's reservation and
together stay within the cap. A reservation counts only while its batch is being drafted under a live lease: a
worker that dies mid-call leaks nothing past its lease, and drafting (or failing) replaces it with what was billed.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import Event
from events.sentences import Sentence
from publishing.brief import build_brief
from publishing.drafters.base import get_drafter
from publishing.models import Alert, Batch, PostTranslation, Summary


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

    def figures(self) -> dict[str, int]:
        """What a cap pause keeps (Event.cap_pause), to say why in each reader's language."""
        return {"cap": self.cap, "used": self.used, "reserved": self.reserved, "next_batch": self.next_batch}


# What each kind of drafting call bills to an event, and the status in which a row's reservation holds.
_HOLDING = {
    Batch: Batch.Status.DRAFTING,
    Summary: Summary.Status.DRAFTING,
    PostTranslation: PostTranslation.Status.PENDING,
}
Billed = Batch | Summary | PostTranslation


def credits_of(event: Event, *, next_batch: int | None = None, excluding: Billed | None = None) -> Credits:
    """The event's credits, its batches', its summaries' (the story so far) and its posts' translations (reader
    editions), but for `excluding`'s reservation; `next_batch` is what the next batch may bill, by default the least
    any batch may."""
    used, reserved = 0, 0
    for model, holding in _HOLDING.items():
        rows = model.objects.filter(**{"post__event_id" if model is PostTranslation else "event_id": event.pk})
        held = Q(status=holding, lease_expires_at__gt=timezone.now())
        if isinstance(excluding, model):
            held &= ~Q(pk=excluding.pk)
        totals = rows.aggregate(used=Sum("credits_used"), reserved=Sum("credits_reserved", filter=held))
        used += totals["used"] or 0
        reserved += totals["reserved"] or 0
    return Credits(event.credit_cap, used, reserved, smallest_ceiling() if next_batch is None else next_batch)


def _hold(row: Billed, amount: int) -> None:
    """`amount` reserved for the row, while it is still being drafted."""
    type(row).objects.filter(pk=row.pk, status=_HOLDING[type(row)]).update(credits_reserved=amount)


def smallest_ceiling() -> int:
    """The most the smallest batch may bill: one call."""
    return get_drafter().max_credits_per_call


def ceiling(batch: Batch) -> int:
    """The most drafting this batch may bill."""
    return get_drafter().max_credits(build_brief(batch))


def _set_cap_pause(event: Event, credits: Credits | None) -> None:
    """The cap pauses drafting with these credits (None: lifts its pause). Called under the event's row lock, so a
    pause is alerted once, by whoever set it."""
    figures = credits.figures() if credits is not None else None
    if figures == event.cap_pause:
        return
    Event.objects.filter(pk=event.pk).update(cap_pause=figures)
    was_paused, event.cap_pause = event.cap_pause is not None, figures
    if figures is not None and not was_paused:
        Alert.objects.raise_alert(Alert.Kind.DRAFTING_PAUSED, event.pk, _for_the_desk(event))


def _for_the_desk(event: Event) -> Sentence:
    """Why the event's drafting is paused, stored once for every editor (alerts, failures) and told in each one's
    language."""
    return Sentence.gettext("Drafting paused: %(reason)s", reason=event.pause_sentence())


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
            # Not a failure to alert: a cap pause alerts itself.
            batch.fail(_for_the_desk(event), alert=False, by_cap=not event.drafting_paused_reason)
    return reason


def _refusal(event: Event, batch: Batch, most: int) -> str:
    """Under the event's row lock: why the batch may not be drafted, or "" once `most` is reserved for it."""
    if event.drafting_paused_reason:
        return event.drafting_paused_reason  # paused by hand: not the cap's to lift
    credits = credits_of(event, next_batch=most, excluding=batch)
    if not credits.room_for_next_batch:
        _set_cap_pause(event, credits)
        return event.pause_reason()
    _hold(batch, most if credits.cap is not None else 0)
    if event.cap_pause is not None:
        _lift_when_room(event)
    return ""


def _lift_when_room(event: Event) -> bool:
    """Under the event's row lock: lift the cap's pause once the costliest batch it stopped fits, and queue
    those batches again (one by one, the one that does not fit would pause and alert at every beat)."""
    stopped = Batch.objects.filter(event_id=event.pk, status=Batch.Status.FAILED, stopped_by_cap=True)
    most = max((ceiling(batch) for batch in stopped.select_related("event")), default=smallest_ceiling())
    if not credits_of(event, next_batch=most).room_for_next_batch:
        return False
    _set_cap_pause(event, None)
    stopped.retry_failed()
    return True


def release(row: Billed) -> None:
    """The row is no longer being drafted by this worker: its reservation no longer holds anything back."""
    type(row).objects.filter(pk=row.pk).update(credits_reserved=0)


def bill(row: Billed, credits_used: int) -> None:
    """Add what a call billed to the row, whatever became of it (a drafted batch's comes with its post instead)."""
    if credits_used:
        type(row).objects.filter(pk=row.pk).update(credits_used=Coalesce(F("credits_used"), Value(0)) + credits_used)


def pause_when_full(event: Event) -> str:
    """After a batch is billed: pause the event's drafting (and so the beat's batching) if no batch fits any more."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.drafting_paused:
            return event.pause_reason()
        credits = credits_of(event)
        if not credits.room_for_next_batch:
            _set_cap_pause(event, credits)
        return event.pause_reason()


def resume_where_cap_allows() -> list[int]:
    """Beat: events the cap paused whose cap now has room draft again; batches it stopped are queued again."""
    resumed = []
    paused = Event.objects.filter(cap_pause__isnull=False)
    for pk in list(paused.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            # Still paused by the cap: a worker may have reserved or lifted it since it was listed.
            event = paused.select_for_update().filter(pk=pk).first()
            if event is not None and _lift_when_room(event):
                resumed.append(pk)
    return resumed


def reserve_call(row: Summary | PostTranslation, event: Event, most: int) -> str:
    """As `reserve`, for one call drafting a version of the story so far or translating a post: "" when it may be
    made; otherwise why not, and the row has failed with that reason (the next trigger drafts a new version; a
    translation's readers keep the original)."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if not event.drafting_paused:
            credits = credits_of(event, next_batch=most, excluding=row)
            if credits.room_for_next_batch:
                _hold(row, most if credits.cap is not None else 0)
                return ""
            _set_cap_pause(event, credits)
        row.fail(_for_the_desk(event))
    return event.pause_reason()
