"""The batcher's beat: when each event's new segments are claimed into a batch (the claim is Batch.objects')."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from events.models import Event
from events.sentences import Sentence
from publishing import credits
from publishing.models import Alert, Batch
from transcription.models import Segment, StreamSession
from transcription.sessions import OPEN

# An ended event's final batch waits this long for its streams to store their last finals, then goes anyway.
STREAMS_FINISH_SECONDS = 60


def open_streams(event_id: int) -> int:
    return StreamSession.objects.filter(event_id=event_id, status__in=OPEN).count()


def event_ended_receiver(sender, *, event_id: int, **kwargs) -> None:
    """events.signals.event_ended: the final batch now, or once the streams still running have finished."""
    running = open_streams(event_id)
    if running:
        message = Sentence.ngettext(
            "The event ended with %(count)d stream still running: it is being finished and stored.",
            "The event ended with %(count)d streams still running: they are being finished and stored.",
            running,
        )
        Alert.objects.raise_alert(Alert.Kind.ENDED_WHILE_STREAMING, event_id, message)
        return
    flush_remaining(event_id)


def stream_ended_receiver(sender, *, event_id: int, **kwargs) -> None:
    """transcription.signals.stream_ended: what it said is batched; of an ended event, once its last stream ends."""
    if Event.objects.filter(pk=event_id, status=Event.Status.ENDED).exists() and open_streams(event_id):
        return
    flush_remaining(event_id)


def flush_remaining(event_id: int) -> Batch | None:
    """Batch whatever is left when a stream stops or the event ends, trying again after a lost race,
    as no beat picks up an ended event's segments."""
    batch = None
    for _ in range(5):
        batch = Batch.objects.claim_segments(event_id, final=True) or batch
        if not Segment.objects.unbatched().filter(event_id=event_id).exists():
            break
    return batch


def words_waiting(event_ids: list[int]) -> dict[int, int]:
    """The words in each event's unbatched segments (events with none left out)."""
    words: dict[int, int] = {}
    unbatched = Segment.objects.unbatched().filter(event_id__in=event_ids).values_list("event_id", "text")
    for event_id, text in unbatched.iterator():
        words[event_id] = words.get(event_id, 0) + len(text.split())
    return words


def ended_with_speech_to_flush(now: datetime) -> list[int]:
    """Ended events with unbatched speech whose streams have finished, or have had their time to, in one query."""
    waited = now - timedelta(seconds=STREAMS_FINISH_SECONDS)
    streaming = StreamSession.objects.filter(event_id=OuterRef("pk"), status__in=OPEN)
    ended = Event.objects.filter(status=Event.Status.ENDED, pk__in=Segment.objects.unbatched().values("event_id"))
    return list(ended.filter(Q(ends_at__lte=waited) | ~Exists(streaming)).values_list("pk", flat=True)[:1000])


def tick(now: datetime | None = None) -> list[Batch]:
    """One beat of the batcher: a batch for every live event whose interval has passed and that has enough new speech.
    Due events with nothing new start a fresh interval, so the studio's countdown keeps its rhythm."""
    now = now or timezone.now()
    credits.resume_where_cap_allows()
    for event in Event.objects.due_to_go_live(now):
        event.go_live()
    for event_id in ended_with_speech_to_flush(now):
        flush_remaining(event_id)
    rows = Event.objects.live().drafting_on().values_list("pk", "last_batched_at", "batch_interval_seconds")
    due = [pk for pk, last, interval in rows if last is None or last + timedelta(seconds=interval) <= now]
    if not due:
        return []
    words = words_waiting(due)
    # Silence starts a fresh interval; too few words for a post stay due, drafted at the tick that has enough.
    idle = [pk for pk in due if pk not in words]
    if idle:
        Event.objects.filter(pk__in=idle).update(last_batched_at=now)
    with_segments = [pk for pk in due if words.get(pk, 0) >= settings.BATCH_MIN_WORDS]
    return Batch.objects.claim_segments_for(with_segments, now)
