"""The whole pipeline with a real Celery worker and beat: segments → beat tick → batch → post, under faults."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count

from events.models import Event
from publishing.models import Batch, Post
from tests.support import factories
from tests.support.drafting import SENTENCES, add_segments
from tests.support.emulators.mavera import MaveraEmulator
from tests.support.processes import Process, empty_broker_queue, start_beat, start_worker, wait_until
from transcription.models import Segment, StreamSession

TICK = "0.5"


@pytest.fixture
def empty_broker():
    empty_broker_queue()


@pytest.fixture
def processes(empty_broker):
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()  # what they wrote is in the database already; a warm shutdown only costs time


def mavera_env(emulator: MaveraEmulator, **extra: str) -> dict[str, str]:
    return {
        "MAVERA_API_KEY": "mvra_live_test",
        "MAVERA_BASE_URL": emulator.base_url,
        "MAVERA_BACKOFF_SECONDS": "0.05",
        "BATCH_TICK_SECONDS": TICK,
        "BATCH_MIN_WORDS": "1",  # the drills count batches of a few sentences
        **extra,
    }


def live_event(slug: str, journalist, **fields) -> Event:
    return factories.live_event(journalist, title=f"Event {slug}", slug=slug, batch_interval_seconds=5, **fields)


def assert_one_post_per_batch_and_no_segment_lost(events: list[Event]) -> None:
    assert not Segment.objects.unbatched().filter(event__in=events).exists()
    batches = Batch.objects.filter(event__in=events).annotate(n=Count("segments"))
    assert batches.exists() and all(batch.n > 0 for batch in batches)
    assert {b.status for b in batches} == {Batch.Status.DRAFTED}, [(b.pk, b.status, b.last_error) for b in batches]
    assert Post.objects.filter(event__in=events).count() == batches.count()
    assert set(Post.objects.filter(event__in=events).values_list("batch", flat=True)) == {b.pk for b in batches}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_segments_become_batches_and_published_posts_on_the_beat(journalist, processes):
    event = live_event("e2e", journalist, auto_publish=True)
    add_segments(event, SENTENCES[:4])
    processes += [start_worker(BATCH_TICK_SECONDS=TICK), start_beat(BATCH_TICK_SECONDS=TICK)]
    wait_until(lambda: Post.objects.published().filter(event=event).exists(), 60, *processes, what="the first post")
    first = Batch.objects.get(event=event)
    assert first.segments.count() == 4 and not first.is_final
    event.refresh_from_db()
    first_batched_at = event.last_batched_at

    later = add_segments(event, SENTENCES[4:])
    wait_until(lambda: Post.objects.filter(event=event).count() == 2, 60, *processes, what="the second post")
    second = Batch.objects.exclude(pk=first.pk).get(event=event)
    assert set(second.segments.values_list("pk", flat=True)) == {s.pk for s in later}
    # The beat waits out the event's interval between batches.
    event.refresh_from_db()
    assert event.last_batched_at - first_batched_at >= timedelta(seconds=event.batch_interval_seconds)

    add_segments(event, SENTENCES[:1])
    StreamSession.objects.filter(event=event).update(status=StreamSession.Status.ENDED)  # its studio stopped
    event.end()
    wait_until(lambda: Post.objects.filter(event=event).count() == 3, 60, *processes, what="the final post")
    assert Batch.objects.filter(event=event, is_final=True).count() == 1
    assert_one_post_per_batch_and_no_segment_lost([event])
    first_two, last = list(Post.objects.filter(event=event).order_by("pk"))[:2], Post.objects.get(batch__is_final=True)
    assert all(post.status == Post.Status.PUBLISHED and post.ai_assisted for post in first_two)
    # Twelve words said, reported in fifteen: too short to go live without an editor, auto-publishing or not.
    assert last.status == Post.Status.DRAFT and last.hold_reason == "It has 15 words, fewer than 40."
    assert last.body == f"The speaker says: “{SENTENCES[0]}”" and last.checked
    for process in processes:
        process.assert_no_traceback()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fault_drill_every_batch_ends_as_exactly_one_post(journalist, processes):
    events = [live_event(f"drill-{n}", journalist) for n in range(3)]
    with MaveraEmulator(failure_ratio=0.3, failure_statuses=(500, 503, 429), retry_after=1, seed=30) as mavera:
        mavera.script.extend([429, 500, 503])  # each kind at least once, then 30 % at random
        env = mavera_env(mavera, MAVERA_MAX_ATTEMPTS="3")
        processes += [start_worker(concurrency=2, **env), start_beat(**env)]
        for event in events:
            add_segments(event, SENTENCES[:3])
        wait_until(lambda: Batch.objects.count() >= 3, 60, *processes, what="the first batches")
        for event in events:
            add_segments(event, SENTENCES[3:6])
        wait_until(lambda: Batch.objects.count() >= 6, 60, *processes, what="the second batches")
        for event in events:
            # One commit: the beat must not claim the last speech as a live batch before the end takes it.
            with transaction.atomic():
                add_segments(event, SENTENCES[6:])
                StreamSession.objects.filter(event=event).update(status=StreamSession.Status.ENDED)
                event.end()
        wait_until(
            lambda: not Batch.objects.exclude(status=Batch.Status.DRAFTED).exists()
            and Post.objects.count() == Batch.objects.count(),
            120,
            *processes,
            what="every batch drafted",
        )
        failures = [c.status for c in mavera.posts() if c.status != 200]
    assert_one_post_per_batch_and_no_segment_lost(events)
    assert Batch.objects.count() == 9 and Batch.objects.filter(is_final=True).count() == 3
    assert {429, 500, 503} <= set(failures), failures
    assert mavera.billed >= Post.objects.count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_drafting_leaves_exactly_one_post_after_restart(journalist, processes):
    kill_drill(journalist, processes)


@pytest.mark.slow
@pytest.mark.scaleout
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_drafting_on_postgresql_and_redis(journalist, processes):
    from django.db import connection

    assert connection.vendor == "postgresql" and settings.REDIS_URL
    kill_drill(journalist, processes)


def kill_drill(journalist, processes: list[Process]) -> None:
    event = live_event("killed", journalist)
    with MaveraEmulator(slow_seconds=120, slow_calls=1) as mavera:
        env = mavera_env(mavera, DRAFTING_LEASE_SECONDS="4")
        processes += [start_worker("doomed", concurrency=1, **env), start_beat(**env)]
        add_segments(event, SENTENCES)
        wait_until(
            lambda: len(mavera.calls) == 0
            and Batch.objects.filter(event=event, status=Batch.Status.DRAFTING).exists()
            and mavera.slow_calls == 0,
            60,
            *processes,
            what="the slow call in progress",
        )
        processes[0].kill()
        processes.append(start_worker("rescuer", concurrency=1, **env))
        wait_until(lambda: Post.objects.filter(event=event).exists(), 60, *processes, what="the post after restart")
        time.sleep(3)  # a few more ticks: a lapsed lease or duplicate message must not make a second post
        batch = Batch.objects.get(event=event)
    assert Post.objects.filter(event=event).count() == 1
    assert batch.status == Batch.Status.DRAFTED and batch.attempts >= 2
    assert_one_post_per_batch_and_no_segment_lost([event])
