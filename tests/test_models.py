from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Event
from publishing.models import Batch, Post, PostAction
from transcription.models import Segment, StreamSession

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def _violates(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_event_rejects_an_unknown_status(event):
    assert _violates(lambda: Event.objects.filter(pk=event.pk).update(status="paused"))


def test_event_batch_interval_must_be_between_5_seconds_and_an_hour(event):
    assert _violates(lambda: Event.objects.filter(pk=event.pk).update(batch_interval_seconds=1))
    assert _violates(lambda: Event.objects.filter(pk=event.pk).update(batch_interval_seconds=7200))
    Event.objects.filter(pk=event.pk).update(batch_interval_seconds=60)
    assert Event.objects.get(pk=event.pk).batch_interval_seconds == 60


def test_event_cannot_end_before_it_starts(event):
    assert _violates(lambda: Event.objects.filter(pk=event.pk).update(ends_at=event.starts_at - timedelta(hours=1)))


def test_event_defaults_match_the_newsroom(event):
    assert event.batch_interval_seconds == 30
    assert event.auto_publish is False
    assert event.glossary_terms == ["Ada Lovelace", "Liveblog"]


def test_one_open_stream_per_journalist_and_event(event, journalist):
    StreamSession.objects.create(event=event, journalist=journalist, provider="offline")
    assert _violates(lambda: StreamSession.objects.create(event=event, journalist=journalist, provider="offline"))
    StreamSession.objects.filter(event=event).update(status=StreamSession.Status.ENDED, ended_at=timezone.now())
    StreamSession.objects.create(event=event, journalist=journalist, provider="offline")


def test_segment_sequence_is_unique_within_a_session(event, journalist):
    session = StreamSession.objects.create(event=event, journalist=journalist, provider="offline")
    Segment.objects.create(session=session, event=event, sequence=0, text="Hello.", start=0, end=1)
    assert _violates(
        lambda: Segment.objects.create(session=session, event=event, sequence=0, text="Again.", start=1, end=2)
    )


@pytest.mark.parametrize(
    ("start", "end", "confidence", "text"),
    [(-1, 1, 0.9, "x"), (2, 1, 0.9, "x"), (0, 1, 1.5, "x"), (0, 1, 0.9, "")],
)
def test_segment_rejects_impossible_values(event, journalist, start, end, confidence, text):
    session = StreamSession.objects.create(event=event, journalist=journalist, provider="offline")
    assert _violates(
        lambda: Segment.objects.create(
            session=session, event=event, sequence=0, text=text, start=start, end=end, confidence=confidence
        )
    )


def test_session_provider_must_be_known(event, journalist):
    assert _violates(lambda: StreamSession.objects.create(event=event, journalist=journalist, provider="whisper"))


def test_a_batch_becomes_at_most_one_post(event):
    batch = Batch.objects.create(event=event)
    Post.objects.create(event=event, batch=batch, body="First draft.")
    assert _violates(lambda: Post.objects.create(event=event, batch=batch, body="Second draft."))


def test_failed_batch_must_say_why(event):
    assert _violates(lambda: Batch.objects.create(event=event, status=Batch.Status.FAILED))
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="401 Invalid credentials.")


def test_published_post_needs_a_publish_time(event):
    assert _violates(lambda: Post.objects.create(event=event, body="x", status=Post.Status.PUBLISHED))


def test_only_one_pinned_post_per_event(event):
    Post.objects.create(event=event, body="a", pinned=True)
    assert _violates(lambda: Post.objects.create(event=event, body="b", pinned=True))


def test_pinning_a_post_unpins_the_other(event, editor):
    first = Post.objects.create(event=event, body="a")
    second = Post.objects.create(event=event, body="b")
    first.set_pinned(editor, True)
    second.set_pinned(editor, True)
    first.refresh_from_db()
    assert (first.pinned, second.pinned) == (False, True)


def test_publishing_takes_the_next_change_number_and_records_who(event, editor):
    post = Post.objects.create(event=event, body="Speaker opens.")
    post.publish(editor)
    post.refresh_from_db()
    event.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at is not None
    assert post.change_seq == event.change_seq == 1
    post.edit(editor, headline="Opening", body="Speaker opens the day.")
    post.refresh_from_db()
    assert (post.revision, post.change_seq, post.last_editor) == (2, 2, editor)
    assert list(post.actions.values_list("action", flat=True).order_by("at", "pk")) == [
        PostAction.Kind.PUBLISHED,
        PostAction.Kind.EDITED,
    ]


def test_changes_to_unseen_drafts_do_not_move_the_readers_cursor(event, editor):
    post = Post.objects.create(event=event, body="Draft.")
    post.approve(editor)
    post.edit(editor, headline="", body="Draft, edited.")
    event.refresh_from_db()
    assert event.change_seq == 0
