"""Rows the tests make again and again."""

from datetime import timedelta

from django.utils import timezone

from events.models import Event
from publishing.models import Post
from transcription.models import Segment, StreamSession


def live_event(journalist, **fields) -> Event:
    """A live event that started ten minutes ago, with `journalist` assigned to stream it."""
    event = Event.objects.create(status=Event.Status.LIVE, starts_at=timezone.now() - timedelta(minutes=10), **fields)
    event.journalists.add(journalist)
    return event


def stream_session(event, journalist, **fields) -> StreamSession:
    """A studio session of `journalist` on `event`, on the offline recognizer."""
    return StreamSession.objects.create(
        event=event, journalist=journalist, provider=StreamSession.Provider.OFFLINE, **fields
    )


def segment(session, text: str, *, sequence: int = 0, start: float = 0.0, end: float = 1.0, **fields) -> Segment:
    """A final of `session`, on the session's event."""
    return Segment.objects.create(
        session=session, event=session.event, sequence=sequence, text=text, start=start, end=end, **fields
    )


def published_post(event, body: str = "An update.", *, headline: str = "", editor=None, **fields) -> Post:
    """A post on `event`, published as an editor publishes it (a change number, the page's cache forgotten)."""
    post = Post.objects.create(event=event, headline=headline, body=body, **fields)
    post.publish(editor)
    return post
