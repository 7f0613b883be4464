"""Rows the tests make again and again."""

from datetime import timedelta

from django.utils import timezone

from events.models import Event
from events.sentences import Sentence
from publishing import batching, credits, drafting
from publishing.drafters.base import DraftingUnavailable
from publishing.models import Batch, Post
from tests.support.drafting import SENTENCES, add_segments
from transcription.models import Segment, StreamSession
from transcription.relay import storage_stopped
from transcription.signals import stream_failed
from transcription.speech.deepgram import FATAL_HANDSHAKE


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
    """What the draft queue shows: a draft traced to the transcript, one the checks hold (a quote nobody said, too
    short), failed batches and an alert of each kind."""
    add_segments(event, SENTENCES[:3])
    batch = Batch.objects.claim_segments(event.pk)
    draft = Post.objects.create_drafted(batch, "Ada Lovelace opens the keynote.", [], batch.trace("Ada Lovelace"))
    add_segments(event, SENTENCES[3:5])
    batch = Batch.objects.claim_segments(event.pk)
    untraced = 'She says "the pipeline never sleeps".'
    checked = batch.trace(untraced)
    held = Post.objects.create_drafted(batch, untraced, drafting.hold_reasons(untraced, checked.untraced), checked)
    alerts_of_each_kind(event)
    return {"draft": draft, "held": held}


def alerts_of_each_kind(event) -> None:
    """An alert of each kind, raised as the code raises it: a batch the drafter gave up on, drafting paused by the
    credit cap (a batch stopped by it), a stream the speech provider refused, one whose storage stayed down, and the
    event ended while one streamed (the event stays live: only the alert is wanted)."""
    batch = Batch.objects.create(event=event, status=Batch.Status.DRAFTING)
    drafting.call_drafter(batch, _mavera_down, last_try=True)
    Event.objects.filter(pk=event.pk).update(credit_cap=1)
    credits.reserve(Batch.objects.create(event=event, status=Batch.Status.DRAFTING), 12)
    session = StreamSession.objects.filter(event=event, status=StreamSession.Status.LIVE).first()
    session = session or stream_session(event, event.journalists.first())
    stream_failed.send(None, event_id=event.pk, session_id=session.pk, message=Sentence.gettext(FATAL_HANDSHAKE[402]))
    stream_failed.send(None, event_id=event.pk, session_id=session.pk, message=storage_stopped(120), reason="storage")
    batching.event_ended_receiver(None, event_id=event.pk)


def _mavera_down():
    raise DraftingUnavailable("Mavera answered 503")
