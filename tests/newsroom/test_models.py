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


def test_a_pending_batch_is_claimed_for_drafting_once(event):
    batch = Batch.objects.create(event=event)
    claimed = Batch.objects.start_drafting(batch.pk)
    assert (claimed.status, claimed.attempts) == (Batch.Status.DRAFTING, 1)
    assert claimed.lease_expires_at > timezone.now()
    assert Batch.objects.start_drafting(batch.pk) is None  # a duplicate message finds it taken


def test_a_dead_workers_claim_lapses_and_another_worker_takes_the_batch(event):
    batch = Batch.objects.create(
        event=event, status=Batch.Status.DRAFTING, attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Batch.objects.start_drafting(batch.pk).attempts == 2


def test_only_a_batch_being_drafted_can_fail_or_be_handed_back(event):
    drafted = Batch.objects.create(event=event, status=Batch.Status.DRAFTED)
    drafted.fail("late error from a worker that lost its lease")
    drafted.hand_back("late retry", retry_in=5)
    drafted.refresh_from_db()
    assert (drafted.status, drafted.last_error) == (Batch.Status.DRAFTED, "")
    failing = Batch.objects.start_drafting(Batch.objects.create(event=event).pk)
    failing.fail("")
    failing.refresh_from_db()
    assert (failing.status, failing.last_error, failing.lease_expires_at) == (Batch.Status.FAILED, "failed", None)
    retrying = Batch.objects.start_drafting(Batch.objects.create(event=event).pk)
    retrying.hand_back("503 busy", retry_in=60)
    retrying.refresh_from_db()
    assert (retrying.status, retrying.last_error) == (Batch.Status.PENDING, "503 busy")
    assert retrying.lease_expires_at > timezone.now() + timedelta(seconds=60)


def test_a_failed_batch_is_retried_once_however_many_editors_ask(event):
    failed = Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="500")
    pending = Batch.objects.create(event=event)
    assert Batch.objects.filter(pk__in=[failed.pk, pending.pk]).retry_failed() == 1
    assert Batch.objects.filter(pk=failed.pk).retry_failed() == 0
    failed.refresh_from_db()
    assert failed.status == Batch.Status.PENDING and failed.lease_expires_at > timezone.now()


def test_only_lapsed_batches_are_requeued(event):
    past, future = timezone.now() - timedelta(seconds=1), timezone.now() + timedelta(minutes=5)
    lapsed = Batch.objects.create(event=event, status=Batch.Status.DRAFTING, lease_expires_at=past)
    held = Batch.objects.create(event=event, status=Batch.Status.DRAFTING, lease_expires_at=future)
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="500", lease_expires_at=past)
    assert Batch.objects.requeue_stale() == [lapsed.pk]
    lapsed.refresh_from_db()
    held.refresh_from_db()
    assert (lapsed.status, held.status) == (Batch.Status.PENDING, Batch.Status.DRAFTING)
    assert lapsed.lease_expires_at > timezone.now()


def test_a_post_records_who_wrote_it_and_that_a_draft_was_generated(event, editor):
    written = Post(event=event, body="Lunch break.")
    written.write(editor)
    assert (written.author, written.last_editor) == (editor, editor)
    assert list(written.actions.values_list("user", "action")) == [(editor.pk, PostAction.Kind.CREATED)]
    batch = Batch.objects.create(event=event)
    body = "The keynote opens."
    drafted = Post.objects.create_drafted(batch, body, held=[], checked=batch.trace(body))
    assert drafted.ai_assisted and drafted.author is None
    assert list(drafted.actions.values_list("user", "action")) == [(None, PostAction.Kind.DRAFTED)]
