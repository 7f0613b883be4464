"""Drafting pipeline benchmark.

    python -m bench.pipeline [--scale-out] [--samples 40] [--events 500] [--live-seconds 120] [--quotes 10]
                             [--drafts 10] [--spoken-interval 15] [--only latency|tick|many|spoken] [--smoke]

Figures, each printed against a baseline measured in the same run (a bare segment insert plus
select-back round trip on the same database), one function per measured path:
* pipeline latency: from the final segment stored to its post visible to readers (published, the
  readers' cursor bumped), through a real Celery worker and the Mavera emulator on loopback. The batch
  wait is excluded (the claim runs at once, as the beat does when an interval has passed) and so is the
  API's own time (the batch's recorded call latency is subtracted). Target p99 ≤ 1 s.
* the batching tick with --events live events: all due with enough new speech (a claim each), and none due.
* many live events: --events live events, one stream each storing a final every few seconds (a
  process of its own, one committed insert per final, as the web processes store them), each event's
  interval due at its own time (batch_interval_seconds, 30 s by default), the beat's task run every
  BATCH_TICK_SECONDS for --live-seconds, a real Celery worker drafting every batch (offline drafter).
  Printed: the tick's p50 and p99 and the database time per tick; then, once the worker is done, that
  every batch was drafted once. Target: the tick's p99 under a second.
* spoken → reader (bench/pipeline/spoken.py): from a post's first words spoken into the studio socket, at real-time
  pace with their capture time, to the post arriving on a reader's socket, through a real Daphne, worker and beat
  (the Deepgram and Mavera emulators on loopback): --quotes quotes a journalist flashes, each published from the
  draft queue by an editor 2 s after it appears there (target p50 ≤ 10 s), and --drafts auto-published drafts of
  an event batched every --spoken-interval s (target p50 ≤ the interval + 15 s), both at once.

--scale-out runs on PostgreSQL and Redis (bench.topology: DATABASE_URL's server, with a database the
bench makes and drops, and REDIS_URL; else the local defaults). --smoke: tiny sizes, the same paths.
"""

import argparse
import math
import random
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from bench import children, topology
from bench.fanout.stack import celery_worker, percentile


@dataclass
class Run:
    args: argparse.Namespace
    env: dict[str, str]
    baseline: float  # seconds: the median segment insert + select back


def baseline_round_trip(samples: int) -> list[float]:
    from bench.pipeline.setup import live_event, session_for
    from transcription.models import Segment

    event = live_event(topology.unique_slug("baseline"))
    session = session_for(event)
    times = []
    for n in range(samples):
        start = time.perf_counter()
        segment = Segment.objects.create(session=session, event=event, sequence=n, text="baseline", start=n, end=n)
        Segment.objects.filter(pk=segment.pk).values_list("text", flat=True).get()
        times.append(time.perf_counter() - start)
    event.__class__.objects.filter(pk=event.pk).update(status="scheduled")  # out of the tick's way
    return times


def finish(event) -> None:
    """Out of the next ticks' way: its stream finished, then the event ended."""
    from transcription.models import StreamSession

    StreamSession.objects.filter(event=event).update(status=StreamSession.Status.ENDED)
    event.end()


# --- path 1: one batch from its last segment to a visible post ------------------------------------


def pipeline_latency(run: Run) -> None:
    from bench.pipeline.setup import live_event, session_for, speech
    from publishing.models import Batch, Post
    from tests.support.emulators.mavera import MaveraEmulator
    from transcription.models import Segment

    samples = run.args.samples
    times: list[float] = []
    stages: list[tuple[float, float]] = []
    with MaveraEmulator() as mavera:
        worker_env = {**run.env, "MAVERA_API_KEY": "mvra_live_bench", "MAVERA_BASE_URL": mavera.base_url}
        worker_env["HOLD_DRAFTS_UNDER_WORDS"] = "1"  # each sample is a short batch that must auto-publish
        process = celery_worker(worker_env, run.args.concurrency)
        try:
            warm = live_event(topology.unique_slug("warm-up"), auto_publish=True)
            Segment.objects.create(session=session_for(warm), event=warm, sequence=0, text="Warm up.", start=0, end=1)
            Batch.objects.claim_segments(warm.pk, final=True)
            _wait(lambda: Post.objects.published().filter(event=warm).exists(), 60)
            finish(warm)
            for n in range(samples):
                event = live_event(topology.unique_slug(f"sample-{n}"), auto_publish=True)
                session = session_for(event)
                for i in range(5):
                    text = speech(8, n + i)
                    Segment.objects.create(session=session, event=event, sequence=i, text=text, start=i, end=i + 1)
                stored = time.perf_counter()  # the final segment is committed
                Batch.objects.claim_segments(event.pk, final=True)
                _wait(lambda event=event: Post.objects.published().filter(event=event).exists(), 60)
                visible = time.perf_counter()
                batch = Batch.objects.get(event=event)
                api_ms = batch.latency_ms or 0
                times.append(visible - stored - api_ms / 1000)
                stages.append(
                    (
                        (batch.drafting_started_at - batch.created_at).total_seconds(),
                        (batch.finished_at - batch.drafting_started_at).total_seconds() - api_ms / 1000,
                    )
                )
                finish(event)
        finally:
            children.stop(process, timeout=30)

    b50 = run.baseline
    p50, p99 = statistics.median(times), percentile(times, 99)
    print(f"segment stored → post visible, {len(times)} samples, batch wait and API time excluded:")
    print(
        f"  p50 {p50 * 1000:.0f} ms = {p50 / b50:.0f}× baseline;  p99 {p99 * 1000:.0f} ms = {p99 / b50:.0f}× baseline"
    )
    queued, drafting = statistics.median(s[0] for s in stages), statistics.median(s[1] for s in stages)
    print(
        f"  of which (p50): claim → worker starts {queued * 1000:.0f} ms, drafting without API {drafting * 1000:.0f} ms"
    )
    print(f"  target p99 ≤ 1 s: {'met' if p99 <= 1.0 else 'NOT met'}")


def _wait(check, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the post never became visible: is the worker running?")
        time.sleep(0.002)


# --- path 2: one tick over many events, all due, then none ------------------------------------------


def tick_all_due(run: Run) -> None:
    from django.utils import timezone

    from bench.pipeline.setup import live_events_with_segments
    from events.models import Event
    from publishing.batching import tick

    events = run.args.events
    live_events_with_segments(events)
    start = time.perf_counter()
    claimed = tick()
    all_due = time.perf_counter() - start
    if len(claimed) != events:
        raise SystemExit(f"the tick claimed {len(claimed)} batches of {events} live events with enough speech")
    assert Event.objects.live().filter(last_batched_at__isnull=True).count() == 0
    start = time.perf_counter()
    assert tick(timezone.now()) == []
    none_due = time.perf_counter() - start
    # Gone, with their batches: the next path's worker finds nothing of them to draft.
    Event.objects.filter(slug__startswith="tick-").delete()

    b50 = run.baseline
    print(f"batching tick, {events} live events:")
    print(f"  all due (a batch each): {all_due * 1000:.0f} ms = {all_due / b50:.0f}× baseline "
          f"({all_due / events / b50:.1f}× baseline per event)")  # fmt: skip
    print(f"  none due: {none_due * 1000:.1f} ms = {none_due / b50:.1f}× baseline")


# --- path 3: many live events streaming, the beat ticking, a worker drafting ------------------------


class BrokerTime:
    """Time spent handing messages to the broker (Celery's before/after_task_publish signals), and how many."""

    def __init__(self) -> None:
        self.seconds, self.messages, self._began = 0.0, 0, 0.0

    def before(self, **kwargs) -> None:
        self._began = time.perf_counter()

    def after(self, **kwargs) -> None:
        self.seconds += time.perf_counter() - self._began
        self.messages += 1


class DatabaseTime:
    """Time spent in the database's round trips (execute_wrapper), and how many."""

    def __init__(self) -> None:
        self.seconds, self.queries = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.queries += 1


def many_live_events(run: Run) -> None:
    from celery.signals import after_task_publish, before_task_publish
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from bench.pipeline.setup import enough_words_per_segment, live_events, speech
    from bench.pipeline.streams import WORDS_PER_FINAL, Streams
    from events.models import Event
    from publishing.models import Batch, Post
    from publishing.tasks import batch_live_events
    from transcription.models import Segment

    events, seconds, interval = run.args.events, run.args.live_seconds, run.args.interval
    tick_every = run.args.tick_seconds or settings.BATCH_TICK_SECONDS
    prefix = topology.unique_slug("live")
    sessions = live_events(events, prefix, batch_interval_seconds=interval)
    seed_words = enough_words_per_segment(3)
    Segment.objects.bulk_create(
        Segment(session=s, event_id=s.event_id, sequence=i, text=speech(seed_words, i), start=i, end=i + 1)
        for s in sessions
        for i in range(3)
    )
    # A final every few seconds: enough speech for a batch by each interval's end.
    every = min(4.0, interval / (math.ceil(settings.BATCH_MIN_WORDS / WORDS_PER_FINAL) + 1))
    ids = [(s.pk, s.event_id) for s in sessions]
    mine = Batch.objects.filter(event__slug__startswith=prefix)

    durations: list[float] = []
    database: list[tuple[float, int]] = []
    brokered: list[tuple[float, int]] = []
    claims: list[int] = []
    process = celery_worker({**run.env, "HOLD_DRAFTS_UNDER_WORDS": "1"}, run.args.concurrency)
    try:
        with Streams(ids, every, seconds):
            # Each event's interval comes due at its own time, as in a newsroom whose events started apart.
            now, rng = timezone.now(), random.Random(27)
            for session in sessions:
                last = now - timedelta(seconds=rng.uniform(0, interval))
                Event.objects.filter(pk=session.event_id).update(last_batched_at=last)
            began = time.monotonic()
            next_tick = began
            while next_tick - began < seconds:
                time.sleep(max(0.0, next_tick - time.monotonic()))
                timer, broker = DatabaseTime(), BrokerTime()
                before_task_publish.connect(broker.before, weak=False)
                after_task_publish.connect(broker.after, weak=False)
                start = time.perf_counter()
                try:
                    with connection.execute_wrapper(timer):
                        claims.append(batch_live_events())
                finally:
                    durations.append(time.perf_counter() - start)
                    before_task_publish.disconnect(broker.before)
                    after_task_publish.disconnect(broker.after)
                database.append((timer.seconds, timer.queries))
                brokered.append((broker.seconds, broker.messages))
                next_tick += tick_every
        streamed = time.monotonic()
        # The worker drafts what is left for as long as it keeps making progress (a minute without any: it
        # has stopped), 15 minutes at most.
        pending = [Batch.Status.PENDING, Batch.Status.DRAFTING]
        left, progressed, deadline = mine.filter(status__in=pending).count(), time.monotonic(), streamed + 900
        while left and time.monotonic() - progressed < 60 and time.monotonic() < deadline:
            time.sleep(0.5)
            now_left = mine.filter(status__in=pending).count()
            if now_left < left:
                left, progressed = now_left, time.monotonic()
        drafting_ended = time.monotonic()
    finally:
        children.stop(process, timeout=30)

    batches = mine.count()
    drafted = mine.filter(status=Batch.Status.DRAFTED)
    once = drafted.filter(attempts=1).count()
    twice = mine.filter(attempts__gt=1).count()
    failed = mine.filter(status=Batch.Status.FAILED).count()
    waiting = mine.filter(status__in=pending).count()
    posts = Post.objects.filter(batch__in=mine).count()
    doubled = Post.objects.filter(batch__in=mine).values("batch").annotate(n=Count("pk")).filter(n__gt=1).count()
    Event.objects.filter(slug__startswith=prefix).update(status=Event.Status.ENDED, ends_at=timezone.now())

    b50 = run.baseline
    p50, p99 = statistics.median(durations), percentile(durations, 99)
    db50 = statistics.median(seconds for seconds, _ in database)
    db99 = percentile([seconds for seconds, _ in database], 99)
    queries = statistics.median(count for _, count in database)
    broker50 = statistics.median(seconds for seconds, _ in brokered)
    broker99 = percentile([seconds for seconds, _ in brokered], 99)
    messages = statistics.median(count for _, count in brokered)
    print(
        f"many live events: {events} events, one stream each (a final every {every:.1f} s), interval {interval} s, "
        f"the beat's tick every {tick_every:g} s for {seconds:g} s:"
    )
    print(
        f"  tick: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms over "
        f"{len(durations)} ticks (p99 {p99 / b50:.0f}× baseline); batches claimed per tick p50 "
        f"{statistics.median(claims):.0f}, max {max(claims)}"
    )
    print(f"  database time per tick: p50 {db50 * 1000:.1f} ms, p99 {db99 * 1000:.1f} ms ({queries:.0f} queries p50)")
    print(
        f"  broker time per tick (handing the claimed batches to the workers): p50 {broker50 * 1000:.1f} ms, "
        f"p99 {broker99 * 1000:.1f} ms ({messages:.0f} messages p50); the rest of the tick is Python"
    )
    all_once = batches > 0 and once == posts == batches and not (twice or failed or waiting or doubled)
    print(
        f"  batches: {batches} claimed, {once} drafted once, {twice} drafted more than once, {failed} failed, "
        f"{waiting} still waiting; posts {posts}; the worker finished {drafting_ended - streamed:.0f} s after "
        f"the streams ({batches / (drafting_ended - began):.1f} batches/s drafted, "
        f"{batches / seconds:.1f}/s claimed)"
    )
    print(f"  target tick p99 < 1 s: {'met' if p99 < 1.0 else 'NOT met'}; every batch drafted once: "
          f"{'yes' if all_once else 'NO'}")  # fmt: skip


# --- path 4: spoken words to a reader's socket, through the studio, the worker, beat and the queue ------------


def speech_to_reader(run: Run) -> None:
    from bench.pipeline.spoken import Plan, report, run_clock

    args = run.args
    env = dict(run.env)
    if args.tick_seconds:
        env["BATCH_TICK_SECONDS"] = str(args.tick_seconds)
    if args.smoke:  # a post from a few seconds of speech: a 5 s interval's words, drafted and auto-published
        env["BATCH_MIN_WORDS"], env["HOLD_DRAFTS_UNDER_WORDS"] = "8", "1"
    plan = Plan(quotes=args.quotes, drafts=args.drafts, interval=args.spoken_interval)
    report(run_clock(env, args.concurrency, plan), plan)


PATHS = {"latency": pipeline_latency, "tick": tick_all_due, "many": many_live_events, "spoken": speech_to_reader}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--events", type=int, default=500, help="live events in the tick and many-events paths")
    parser.add_argument("--live-seconds", type=float, default=120.0, help="how long the many-events path streams")
    parser.add_argument("--interval", type=int, default=30, help="each event's batch_interval_seconds (5 to 3600)")
    parser.add_argument("--tick-seconds", type=float, default=None, help="the beat's tick (BATCH_TICK_SECONDS)")
    # As deployed (supervisord.conf). With 1, the filesystem broker's deferred late ack adds ~2 s per task.
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL and Redis (bench.topology)")
    parser.add_argument("--mode", choices=["embedded", "redis"], default=None, help="--mode redis: --scale-out")
    parser.add_argument("--quotes", type=int, default=10, help="quotes flashed in the spoken → reader path")
    parser.add_argument("--drafts", type=int, default=10, help="auto-published drafts in the spoken → reader path")
    # 15 s: the shortest an editor may set in the draft queue.
    parser.add_argument("--spoken-interval", type=int, default=15, help="the auto-publishing event's batch interval")
    parser.add_argument("--only", choices=list(PATHS), action="append", help="this path only (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, the same paths: a smoke test")
    args = parser.parse_args()
    if args.smoke:
        args.samples, args.events, args.live_seconds, args.interval, args.tick_seconds = 2, 10, 6.0, 5, 1.0
        args.quotes, args.drafts, args.spoken_interval = 1, 1, 5
    scale_out = args.scale_out or args.mode == "redis"
    env = topology.configure("pipeline", scale_out=scale_out)
    import os

    env = {**os.environ, **env}
    base = baseline_round_trip(200)
    run = Run(args, env, statistics.median(base))
    print(
        f"pipeline benchmark · {topology.describe(env)} · worker concurrency {args.concurrency} · "
        f"{os.cpu_count()} cores"
    )
    print(f"baseline (segment insert + select back): p50 {run.baseline * 1000:.2f} ms")
    for name, measure in PATHS.items():
        if args.only is None or name in args.only:
            measure(run)


if __name__ == "__main__":
    children.run_main(main)
