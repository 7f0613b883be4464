"""Rows the tests make again and again."""

from datetime import timedelta

from django.utils import timezone

from events.models import Event


def live_event(journalist, **fields) -> Event:
    """A live event that started ten minutes ago, with `journalist` assigned to stream it."""
    event = Event.objects.create(status=Event.Status.LIVE, starts_at=timezone.now() - timedelta(minutes=10), **fields)
    event.journalists.add(journalist)
    return event
