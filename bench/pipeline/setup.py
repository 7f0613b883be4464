"""Rows for the pipeline benchmark: live events, their stream session, unbatched segments of real-looking speech."""

import itertools
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import Event
from transcription.models import Segment, StreamSession

SENTENCES = [
    "The minister said the new hospital will open in the spring",
    "We have spent three hundred million dollars on roads this year",
    "Our players worked hard and deserved to win tonight",
    "The mayor will answer questions after the meeting",
    "Schools will stay closed for the rest of the week",
    "The union has called a strike for next Monday",
]


def speech(words: int, seed: int = 0) -> str:
    """About `words` words of plain sentences (at least that many), different for each seed."""
    out: list[str] = []
    for sentence in itertools.islice(itertools.cycle(SENTENCES), seed % len(SENTENCES), None):
        out += sentence.split()
        out[-1] += "."
        if len(out) >= words:
            return " ".join(out)
    raise AssertionError("unreachable")


def enough_words_per_segment(segments: int) -> int:
    """Words each of `segments` segments needs for them to make a batch (settings.BATCH_MIN_WORDS) together."""
    return -(-settings.BATCH_MIN_WORDS // segments) + 1


def journalist():
    user, _ = get_user_model().objects.get_or_create(username="bench-journalist")
    return user


def live_event(slug: str, **fields) -> Event:
    return Event.objects.create(
        title=slug, slug=slug, status=Event.Status.LIVE, starts_at=timezone.now() - timedelta(minutes=1), **fields
    )


def session_for(event: Event) -> StreamSession:
    return StreamSession.objects.create(event=event, journalist=journalist(), provider=StreamSession.Provider.OFFLINE)


def live_events(count: int, prefix: str, **fields) -> list[StreamSession]:
    """`count` live events, one live stream session each; the sessions, with their event ids."""
    user = journalist()
    start = timezone.now() - timedelta(minutes=1)
    events = Event.objects.bulk_create(
        Event(title=f"{prefix} {n}", slug=f"{prefix}-{n}", status=Event.Status.LIVE, starts_at=start, **fields)
        for n in range(count)
    )
    return StreamSession.objects.bulk_create(
        StreamSession(event=event, journalist=user, provider=StreamSession.Provider.OFFLINE) for event in events
    )


def live_events_with_segments(count: int, per_event: int = 3) -> None:
    """`count` live events, each with enough unbatched speech for a batch."""
    words = enough_words_per_segment(per_event)
    Segment.objects.bulk_create(
        Segment(
            session=session,
            event_id=session.event_id,
            sequence=i,
            text=speech(words, i),
            start=i,
            end=i + 1,
        )
        for session in live_events(count, "tick")
        for i in range(per_event)
    )
