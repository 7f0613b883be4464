"""Rows for the pipeline benchmark: live events, their stream session, unbatched segments."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import Event
from transcription.models import Segment, StreamSession


def live_event(slug: str, **fields) -> Event:
    return Event.objects.create(
        title=slug, slug=slug, status=Event.Status.LIVE, starts_at=timezone.now() - timedelta(minutes=1), **fields
    )


def session_for(event: Event) -> StreamSession:
    user, _ = get_user_model().objects.get_or_create(username="bench-journalist")
    return StreamSession.objects.create(event=event, journalist=user, provider=StreamSession.Provider.OFFLINE)


def live_events_with_segments(count: int, per_event: int = 3) -> None:
    user, _ = get_user_model().objects.get_or_create(username="bench-journalist")
    start = timezone.now() - timedelta(minutes=1)
    events = Event.objects.bulk_create(
        Event(title=f"Tick {n}", slug=f"tick-{n}", status=Event.Status.LIVE, starts_at=start) for n in range(count)
    )
    sessions = StreamSession.objects.bulk_create(
        StreamSession(event=event, journalist=user, provider=StreamSession.Provider.OFFLINE) for event in events
    )
    Segment.objects.bulk_create(
        Segment(session=session, event_id=session.event_id, sequence=i, text=f"Words {i}.", start=i, end=i + 1)
        for session in sessions
        for i in range(per_event)
    )
