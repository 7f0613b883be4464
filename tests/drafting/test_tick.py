"""The beat's tick hands the broker one message for many batches (a few get one each); a worker fans them out,
one message per batch, each drafted once and retried on its own."""

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from events.models import Event
from publishing import queueing, tasks
from publishing.batching import STREAMS_FINISH_SECONDS, tick
from publishing.models import Batch, Post
from tests.support import factories
from tests.support.drafting import SENTENCES, add_segments
from transcription.models import Segment, StreamSession

pytestmark = pytest.mark.portable  # the claim and the requeue are one statement each on either database


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent to the broker, recorded (not run): the test runs them as the worker would."""
    recorded: list[tuple[str, tuple]] = []
    app = current_app._get_current_object()
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **kwargs: recorded.append((name, tuple(args))))
    return recorded


def events_with_speech(journalist, count: int) -> list[Event]:
    events = [factories.live_event(journalist, title=f"Event {n}", slug=f"event-{n}") for n in range(count)]
    for event in events:
        add_segments(event, SENTENCES[:2])
    return events


def run_sent(sent: list[tuple[str, tuple]], name: str) -> list:
    """Run, as the worker would, every recorded message of task `name` not run yet; their results."""
    waiting = [args for task, args in sent if task == name]
    sent[:] = [(task, args) for task, args in sent if task != name]
    return [current_app.tasks[name].apply(args=args).get() for args in waiting]


@pytest.mark.django_db
def test_a_tick_sends_one_message_and_a_redelivered_fan_out_drafts_no_batch_twice(
    journalist, settings, sent, django_capture_on_commit_callbacks
):
    settings.BATCH_MIN_WORDS = 1
    many = queueing.SENT_DIRECTLY + 1
    events = events_with_speech(journalist, many)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.batch_live_events() == many
    batches = sorted(Batch.objects.filter(event__in=events).values_list("pk", flat=True))
    assert sent == [(queueing.DRAFT_BATCHES, (batches,))]

    assert run_sent(sent, queueing.DRAFT_BATCHES) == [many]
    assert sent == [(queueing.DRAFT_BATCH, (pk,)) for pk in batches]
    tasks.draft_batches.apply(args=(batches,))  # the fan-out delivered again: its worker died before the ack
    assert sorted(sent) == sorted(2 * [(queueing.DRAFT_BATCH, (pk,)) for pk in batches])

    posts = [post for post in run_sent(sent, queueing.DRAFT_BATCH) if post is not None]
    assert len(posts) == many and Post.objects.filter(batch__in=batches).count() == many
    assert set(Batch.objects.filter(pk__in=batches).values_list("status", "attempts")) == {(Batch.Status.DRAFTED, 1)}


@pytest.mark.django_db
def test_a_tick_with_a_few_batches_sends_each_its_own_message(
    journalist, settings, sent, django_capture_on_commit_callbacks
):
    settings.BATCH_MIN_WORDS = 1
    events = events_with_speech(journalist, 2)  # no hop through a fan-out for what a newsroom's tick usually holds
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.batch_live_events() == 2
    batches = sorted(Batch.objects.filter(event__in=events).values_list("pk", flat=True))
    assert sorted(sent) == [(queueing.DRAFT_BATCH, (pk,)) for pk in batches]


@pytest.mark.django_db
def test_a_batch_the_drafter_turns_away_is_retried_alone(journalist, settings, sent, mavera):
    settings.BATCH_MIN_WORDS = 1
    settings.MAVERA_MAX_ATTEMPTS = 1  # the first refusal hands the batch back to the queue
    events = events_with_speech(journalist, 2)
    first, second = Batch.objects.claim_segments_for([event.pk for event in events])
    tasks.draft_batches.apply(args=([first.pk, second.pk],))
    mavera.script.extend([429])  # the first batch's call is turned away; its retry and the second batch's answer
    assert all(run_sent(sent, queueing.DRAFT_BATCH))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts, second.status, second.attempts) == ("drafted", 2, "drafted", 1)
    assert [call.status for call in mavera.posts()] == [429, 200, 200]
    assert Post.objects.filter(batch__in=[first, second]).count() == 2


@pytest.mark.django_db
def test_lapsed_batches_go_back_to_the_queue_in_one_message(event, sent, django_capture_on_commit_callbacks):
    past = timezone.now() - timedelta(seconds=1)
    statuses = [Batch.Status.PENDING, Batch.Status.DRAFTING] * (queueing.SENT_DIRECTLY // 2 + 1)
    lapsed = [Batch.objects.create(event=event, status=status, lease_expires_at=past) for status in statuses]
    with django_capture_on_commit_callbacks(execute=True):
        requeued = Batch.objects.requeue_stale()
    assert sorted(requeued) == sorted(batch.pk for batch in lapsed)
    assert [name for name, _ in sent] == [queueing.DRAFT_BATCHES]
    assert Batch.objects.requeue_stale() == []  # pending again, with a new lease


@pytest.mark.django_db
def test_an_ended_events_last_speech_waits_for_its_open_stream_or_its_time(journalist, settings):
    settings.BATCH_MIN_WORDS = 1
    streaming, finished = events_with_speech(journalist, 2)
    StreamSession.objects.filter(event=finished).update(status=StreamSession.Status.ENDED)
    ended = timezone.now()
    Event.objects.filter(pk__in=[streaming.pk, finished.pk]).update(status=Event.Status.ENDED, ends_at=ended)

    tick(ended)
    assert Batch.objects.get(event=finished).is_final
    assert Segment.objects.unbatched().filter(event=streaming).count() == 2  # its stream may still store a final
    tick(ended + timedelta(seconds=STREAMS_FINISH_SECONDS))
    assert Batch.objects.get(event=streaming).is_final
    assert not Segment.objects.unbatched().filter(event__in=[streaming, finished]).exists()
