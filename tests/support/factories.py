"""Rows the tests make again and again."""

from datetime import timedelta

from django.utils import timezone

from events.models import Event
from publishing.models import Alert, Batch, Post
from tests.support.drafting import SENTENCES, add_segments
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


def posts_of_each_kind(event, editor) -> dict[str, Post]:
    """Published posts of each kind a page shows: a key event, a pinned post and a corrected one."""
    key = published_post(event, "The keynote opens with a story.", headline="Doors open", editor=editor)
    key.set_key_event(editor, True)
    pinned = published_post(event, "Follow the keynote here.", editor=editor)
    pinned.set_pinned(editor, True)
    corrected = published_post(event, "Twelve languages next year.", editor=editor)
    corrected.edit(editor, headline="", body="Twelve more languages next year.", correction="We misheard a number.")
    return {"key": key, "pinned": pinned, "corrected": corrected}


def queue_of_each_kind(event) -> dict[str, Post]:
    """What the draft queue shows: a draft traced to the transcript, a held one, a failed batch and its alert."""
    add_segments(event, SENTENCES[:3])
    batch = Batch.objects.claim_segments(event.pk)
    draft = Post.objects.create_drafted(batch, "Ada Lovelace opens the keynote.", "", batch.trace("Ada Lovelace"))
    add_segments(event, SENTENCES[3:5])
    batch = Batch.objects.claim_segments(event.pk)
    untraced = 'She says "the pipeline never sleeps".'
    held = Post.objects.create_drafted(batch, untraced, "A quote is not in the transcript.", batch.trace(untraced))
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="Mavera answered 503")
    Alert.objects.raise_alert(Alert.Kind.BATCH_FAILED, event.pk, "Drafting failed three times.")
    return {"draft": draft, "held": held}
