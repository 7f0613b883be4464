"""An event's credit cap: reserved before each drafting call, lifted at the next beat once raised or cleared."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from publishing import credits, drafting
from publishing.batching import flush_remaining, tick
from publishing.brief import build_brief
from publishing.drafters.base import DraftingUnavailable, get_drafter
from publishing.models import Batch
from tests.support.drafting import SENTENCES, add_segments
from tests.support.factories import live_event
from transcription.models import Segment

CALL_COST = 12  # what the Mavera emulator bills per call


def capped_event_after_one_batch(event: Event, cap: int) -> Batch:
    """The event, capped, with one batch drafted and billed through the emulator."""
    event.credit_cap = cap
    event.save()
    add_segments(event, SENTENCES)
    [batch] = tick(timezone.now())
    assert drafting.draft_batch(batch.pk) is not None
    return batch


@pytest.mark.django_db
@pytest.mark.parametrize("new_cap", [100, None], ids=["raised", "cleared"])
def test_raising_or_clearing_the_cap_drafts_the_waiting_segments_at_the_next_tick(event, mavera, new_cap):
    capped_event_after_one_batch(event, cap=20)
    event.refresh_from_db()
    assert event.cap_pause == {"cap": 20, "used": 12, "reserved": 0, "next_batch": 12}
    assert event.pause_reason().startswith("Credit cap of 20 reached: 12 credits used")
    add_segments(event, SENTENCES)
    next_beat = timezone.now() + timedelta(seconds=event.batch_interval_seconds)
    assert tick(next_beat) == []  # paused: the new segments wait
    assert Segment.objects.unbatched().filter(event=event).count() == len(SENTENCES)

    event.credit_cap = new_cap
    event.save()
    [waiting] = tick(next_beat)
    assert waiting.segments.count() == len(SENTENCES)
    event.refresh_from_db()
    assert not event.drafting_paused and event.pause_reason() == ""
    assert drafting.draft_batch(waiting.pk) is not None
    assert len(mavera.posts()) == 2


@pytest.mark.django_db
def test_a_batch_the_cap_stopped_is_drafted_once_the_cap_is_raised(event, mavera):
    capped_event_after_one_batch(event, cap=20)
    add_segments(event, SENTENCES)
    stopped = flush_remaining(event.pk)  # a stream stopped: its final batch meets the cap
    assert drafting.draft_batch(stopped.pk) is None
    stopped.refresh_from_db()
    assert stopped.status == Batch.Status.FAILED and stopped.stopped_by_cap
    assert stopped.last_error.startswith("Drafting paused: Credit cap of 20 reached")

    Event.objects.filter(pk=event.pk).update(credit_cap=40)
    tick(timezone.now())
    stopped.refresh_from_db()
    assert stopped.status == Batch.Status.PENDING and not stopped.stopped_by_cap
    assert drafting.draft_batch(stopped.pk) is not None
    assert credits.credits_of(event).used == 2 * CALL_COST
    assert len(mavera.posts()) == 2


@pytest.mark.django_db
def test_a_cap_too_low_for_another_batch_keeps_the_event_paused(event, mavera):
    capped_event_after_one_batch(event, cap=20)
    Event.objects.filter(pk=event.pk).update(credit_cap=23)  # raised, but 12 used + 12 more would pass it
    add_segments(event, SENTENCES)
    assert tick(timezone.now() + timedelta(seconds=event.batch_interval_seconds)) == []
    event.refresh_from_db()
    assert event.pause_reason().startswith("Credit cap of 20 reached")


@pytest.mark.django_db
def test_a_dead_workers_reservation_lapses_with_its_lease(event, mavera):
    event.credit_cap = 20
    event.save()
    batches = []
    for _ in range(3):
        add_segments(event, SENTENCES[:2])
        batches.append(Batch.objects.claim_segments(event.pk, final=True))
    dead, refused, later = (Batch.objects.start_drafting(batch.pk) for batch in batches)
    assert credits.reserve(dead, CALL_COST) == ""  # this worker then dies in the drafter's call
    assert credits.reserve(refused, CALL_COST).startswith("Credit cap of 20 reached: 0 credits used, 12 reserved")
    Batch.objects.filter(pk=dead.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert credits.reserve(later, CALL_COST) == ""
    assert credits.credits_of(event).reserved == CALL_COST  # the dead worker's no longer counts


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("broker_left_empty")
def test_two_workers_drafting_at_once_near_the_cap_do_not_overshoot_it(django_user_model, mavera):
    journalist = django_user_model.objects.create_user("capped")
    event = live_event(journalist, title="Capped", slug="capped")
    event.journalists.add(journalist)
    capped_event_after_one_batch(event, cap=30)  # 12 used: room for one more call, not two
    racing = []
    for _ in range(2):
        add_segments(event, SENTENCES)
        racing.append(Batch.objects.claim_segments(event.pk).pk)
    mavera.slow_seconds, mavera.slow_calls = 1.0, 2  # both calls would be in flight together
    start = threading.Barrier(len(racing))
    errors: list[BaseException] = []

    def worker(batch_id: int) -> None:
        try:
            start.wait()
            drafting.draft_batch(batch_id)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(pk,)) for pk in racing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(mavera.posts()) == 2  # the first batch and one of the racers
    assert credits.credits_of(event).used == 2 * CALL_COST
    statuses = sorted(Batch.objects.filter(pk__in=racing).values_list("status", flat=True))
    assert statuses == [Batch.Status.DRAFTED, Batch.Status.FAILED]
    assert Batch.objects.filter(event=event, credits_reserved__gt=0).count() == 0


WORKERS = 4
CAP = 250
# Sentences per batch, the longest first: a first batch billed for many calls must not pass the cap either.
BATCH_SENTENCES = [42, 36, 30, 24, 2, 18, 5, 12, 3, 27, 9, 6, 15, 4, 21, 8]


def numbered(count: int) -> list[str]:
    return [f"Point {n}: {SENTENCES[n % len(SENTENCES)]}" for n in range(count)]


def draft_in_parallel(batch_ids: list[int]) -> None:
    """WORKERS threads draft these batches, each taking the next one left, as Celery's workers would."""
    left = list(batch_ids)
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            while True:
                with lock:
                    if not left:
                        return
                    batch_id = left.pop(0)
                with contextlib.suppress(DraftingUnavailable):  # handed back: drafted again next round
                    drafting.draft_batch(batch_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("broker_left_empty")
def test_batches_of_any_length_drafted_at_once_never_bill_past_the_cap(django_user_model, mavera, settings):
    settings.MAVERA_CHUNK_CHARS = 500  # a long batch is drafted in parts: up to eight calls
    journalist = django_user_model.objects.create_user("capped")
    event = live_event(journalist, title="Capped", slug="capped", credit_cap=CAP)
    for count in BATCH_SENTENCES:
        add_segments(event, numbered(count))
        Batch.objects.claim_segments(event.pk)
    mavera.fewest_credits_per_call = 10  # each call bills 10 to 12 credits: 12 reserved, settled to the bill
    mavera.slow_seconds, mavera.slow_calls = 0.05, 10_000  # every call in flight a while, beside the others'
    mavera.failure_ratio, mavera.failure_statuses = 0.05, (503,)  # retried, and not billed
    for _ in range(20):  # each round, then the beat: it queues what the cap stopped again once the largest fits
        pending = (
            Batch.objects.filter(event=event, status=Batch.Status.PENDING).order_by("pk").values_list("pk", flat=True)
        )
        if not pending:
            break
        draft_in_parallel(list(pending))
        billed = mavera.credits_billed
        assert billed <= CAP, f"{billed} credits billed, past the cap of {CAP}"
        credits.resume_where_cap_allows()
    else:
        pytest.fail("batches were still pending after 20 rounds")

    billed = mavera.credits_billed
    drafted = Batch.objects.filter(event=event, status=Batch.Status.DRAFTED).count()
    print(f"{len(BATCH_SENTENCES)} batches, {drafted} drafted in {mavera.billed} calls, cap {CAP}: billed {billed}")
    assert credits.credits_of(event).used == billed  # each batch settled to its bill
    assert not Batch.objects.filter(event=event, credits_reserved__gt=0).exists()
    event.refresh_from_db()
    assert event.pause_reason().startswith(f"Credit cap of {CAP} reached")
    stopped = Batch.objects.filter(event=event, status=Batch.Status.FAILED)
    largest = max(get_drafter().max_credits(build_brief(batch)) for batch in stopped)
    assert billed + largest > CAP  # it drafted until the largest batch left could not fit


@pytest.mark.django_db
def test_calls_billed_before_a_failed_one_count_against_the_cap(event, mavera, settings):
    settings.MAVERA_CHUNK_CHARS = 500
    event.credit_cap = 1000
    event.save()
    add_segments(event, numbered(12))
    batch = Batch.objects.claim_segments(event.pk)
    mavera.script.extend([200, 200, 400])  # two parts summarised, then the draft refused
    assert drafting.draft_batch(batch.pk) is None
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FAILED and batch.credits_used == 2 * CALL_COST
    assert credits.credits_of(event).used == mavera.credits_billed


@pytest.mark.django_db
def test_the_queue_shows_credits_used_against_the_cap(client, editor, event):
    event.credit_cap = 20
    event.save()
    Event.objects.filter(pk=event.pk).update(cap_pause={"cap": 20, "used": 12, "reserved": 0, "next_batch": 12})
    Batch.objects.create(event=event, status=Batch.Status.DRAFTED, credits_used=12)
    Batch.objects.create(
        event=event,
        status=Batch.Status.DRAFTING,
        credits_reserved=5,
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )
    client.force_login(editor)
    page = client.get(reverse("admin:publishing_post_queue", args=[event.pk])).content.decode()
    assert "Credits: 12 of 20 (5 reserved by drafting in progress)." in page
    assert "Drafting paused: Credit cap of 20 reached: 12 credits used" in page
