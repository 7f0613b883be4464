"""Batchers racing over the same segments: every segment lands in one batch, batches keep their order."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Event
from publishing.batching import tick
from publishing.models import Batch
from transcription.models import Segment, StreamSession

RACERS = 4
SEGMENTS = 120


def race(event: Event, session: StreamSession) -> list[int]:
    """A writer stores segments while RACERS threads claim batches as fast as they can."""
    done = threading.Event()
    start = threading.Barrier(RACERS + 1)
    claimed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(bulk: bool) -> None:
        try:
            start.wait()
            while not done.is_set() or Segment.objects.unbatched().filter(event=event).exists():
                # Half the racers claim the way the beat does (several events at once), half one event at a time.
                if bulk:
                    batches = Batch.objects.claim_segments_for([event.pk])
                else:
                    batches = [Batch.objects.claim_segments(event.pk)]
                with lock:
                    claimed.extend(batch.pk for batch in batches if batch is not None)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(n % 2 == 1,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    start.wait()
    for n in range(SEGMENTS):
        Segment.objects.create(session=session, event=event, sequence=n, text=f"segment {n}", start=n, end=n + 0.5)
    done.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return claimed


def assert_each_segment_once_and_in_order(event: Event, claimed: list[int]) -> None:
    assert not Segment.objects.unbatched().filter(event=event).exists()
    batches = list(Batch.objects.filter(event=event).order_by("pk"))
    assert sorted(claimed) == [b.pk for b in batches]  # every batch a claimer kept is real, none lost or extra
    sequences = []
    for batch in batches:
        own = list(batch.segments.order_by("sequence").values_list("sequence", flat=True))
        assert own, f"batch {batch.pk} lost its segments to another claimer"
        assert own == list(range(own[0], own[0] + len(own))), f"batch {batch.pk} is not a contiguous run: {own}"
        sequences.extend(own)
    assert sequences == list(range(SEGMENTS))  # in order across batches, each segment exactly once


def racing_event(django_user_model) -> tuple[Event, StreamSession]:
    user = django_user_model.objects.create_user("racer")
    event = Event.objects.create(
        title="Race", slug="race", status=Event.Status.LIVE, starts_at=timezone.now() - timedelta(minutes=1)
    )
    session = StreamSession.objects.create(event=event, journalist=user, provider=StreamSession.Provider.OFFLINE)
    return event, session


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)])
@pytest.mark.django_db(transaction=True)
def test_racing_batchers_never_put_a_segment_in_two_batches(django_user_model, vendor):
    assert connection.vendor == vendor
    event, session = racing_event(django_user_model)
    assert_each_segment_once_and_in_order(event, race(event, session))


@pytest.mark.django_db
def test_one_tick_claims_every_due_event_in_one_go(django_user_model, settings):
    settings.BATCH_MIN_WORDS = 1
    event, session = racing_event(django_user_model)
    others = [
        Event.objects.create(title=f"E{n}", slug=f"e{n}", status=Event.Status.LIVE, starts_at=event.starts_at)
        for n in range(3)
    ]
    for n, each in enumerate([event, *others]):
        Segment.objects.create(session=session, event=each, sequence=n, text=f"words {n}", start=0, end=1)
    Segment.objects.create(session=session, event=event, sequence=9, text="more words", start=1, end=2)
    batches = tick()
    assert sorted(b.event_id for b in batches) == sorted(e.pk for e in [event, *others])
    assert [b.segments.count() for b in sorted(batches, key=lambda b: b.event_id)] == [2, 1, 1, 1]
    assert not Event.objects.live().filter(last_batched_at__isnull=True).exists()


@pytest.mark.django_db
def test_two_beats_in_the_same_instant_make_one_batch(event, settings):
    settings.BATCH_MIN_WORDS = 1
    session = StreamSession.objects.create(
        event=event, journalist=event.journalists.first(), provider=StreamSession.Provider.OFFLINE
    )
    Segment.objects.create(session=session, event=event, sequence=0, text="hello", start=0, end=1)
    now = timezone.now()
    assert len(tick(now)) == 1
    assert tick(now) == []  # the interval has not passed, and nothing is left anyway
    assert Batch.objects.count() == 1
