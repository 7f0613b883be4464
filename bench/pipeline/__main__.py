"""Drafting pipeline benchmark.

    python -m bench.pipeline [--samples 40] [--events 1000] [--concurrency 2] [--mode embedded|redis]

Figures, each printed as a ratio to a baseline measured in the same run (a bare segment insert plus
select-back round trip on the same database):
* pipeline latency: from the final segment stored to its post visible to readers (published, the
  readers' cursor bumped), through a real Celery worker and the Mavera emulator on loopback. The batch
  wait is excluded (the claim runs at once, as the beat does when an interval has passed) and so is the
  API's own time (the batch's recorded call latency is subtracted). Target p99 ≤ 1 s.
* the batching tick with 1,000 live events: all due with new segments (1,000 claims), and none due.
"""

import argparse
import statistics
import subprocess
import sys
import time

from bench.fanout.stack import ROOT, configure, percentile


def baseline_round_trip(samples: int) -> list[float]:
    from bench.pipeline.setup import live_event, session_for
    from transcription.models import Segment

    event = live_event("baseline")
    session = session_for(event)
    times = []
    for n in range(samples):
        start = time.perf_counter()
        segment = Segment.objects.create(session=session, event=event, sequence=n, text="baseline", start=n, end=n)
        Segment.objects.filter(pk=segment.pk).values_list("text", flat=True).get()
        times.append(time.perf_counter() - start)
    event.__class__.objects.filter(pk=event.pk).update(status="scheduled")  # out of the tick's way
    return times


def pipeline_latency(
    samples: int, env: dict[str, str], stages: list[tuple[float, float]], concurrency: int
) -> list[float]:
    from bench.pipeline.setup import live_event, session_for
    from publishing.models import Batch, Post
    from tests.support.emulators.mavera import MaveraEmulator
    from transcription.models import Segment

    with MaveraEmulator() as mavera:
        worker_env = {**env, "MAVERA_API_KEY": "mvra_live_bench", "MAVERA_BASE_URL": mavera.base_url}
        worker_env["HOLD_DRAFTS_UNDER_WORDS"] = "1"  # each sample is a short batch that must auto-publish
        command = [sys.executable, "-m", "celery", "-A", "liveblog_site", "worker", "--loglevel=WARNING"]
        command += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"]
        worker = subprocess.Popen(
            command, cwd=ROOT, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            warm = live_event("warm-up", auto_publish=True)
            Segment.objects.create(session=session_for(warm), event=warm, sequence=0, text="Warm up.", start=0, end=1)
            Batch.objects.claim_segments(warm.pk, final=True)
            _wait(lambda: Post.objects.published().filter(event=warm).exists(), 60)
            times = []
            for n in range(samples):
                event = live_event(f"sample-{n}", auto_publish=True)
                session = session_for(event)
                for i in range(5):
                    Segment.objects.create(
                        session=session,
                        event=event,
                        sequence=i,
                        text=f"Sentence {i} of sample {n}.",
                        start=i,
                        end=i + 1,
                    )
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
                event.end()  # out of the next ticks' way
            return times
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def _wait(check, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the post never became visible: is the worker running?")
        time.sleep(0.002)


def tick_durations(events: int) -> tuple[float, float]:
    from django.utils import timezone

    from bench.pipeline.setup import live_events_with_segments
    from events.models import Event
    from publishing.batching import tick

    live_events_with_segments(events)
    start = time.perf_counter()
    claimed = tick()
    all_due = time.perf_counter() - start
    assert len(claimed) == events, f"claimed {len(claimed)} of {events}"
    assert Event.objects.live().filter(last_batched_at__isnull=True).count() == 0
    start = time.perf_counter()
    assert tick(timezone.now()) == []
    none_due = time.perf_counter() - start
    return all_due, none_due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--events", type=int, default=1000)
    # As deployed (supervisord.conf). With 1, the filesystem broker's deferred late ack adds ~2 s per task.
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--mode", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/liveblog_bench_pipeline")
    args = parser.parse_args()
    env = configure(args.mode, args.redis_url, args.database_url)
    import os

    env = {**os.environ, **env}

    base = baseline_round_trip(200)
    b50 = statistics.median(base)
    stages: list[tuple[float, float]] = []
    latency = pipeline_latency(args.samples, env, stages, args.concurrency)
    all_due, none_due = tick_durations(args.events)

    print(
        f"mode: {args.mode}, worker concurrency {args.concurrency}; "
        f"baseline (segment insert + select back): p50 {b50 * 1000:.2f} ms"
    )
    p50, p99 = statistics.median(latency), percentile(latency, 99)
    print(f"segment stored → post visible, {len(latency)} samples, batch wait and API time excluded:")
    print(
        f"  p50 {p50 * 1000:.0f} ms = {p50 / b50:.0f}× baseline;  p99 {p99 * 1000:.0f} ms = {p99 / b50:.0f}× baseline"
    )
    queued, drafting = statistics.median(s[0] for s in stages), statistics.median(s[1] for s in stages)
    print(
        f"  of which (p50): claim → worker starts {queued * 1000:.0f} ms, drafting without API {drafting * 1000:.0f} ms"
    )
    print(f"  target p99 ≤ 1 s: {'met' if p99 <= 1.0 else 'NOT met'}")
    print(f"batching tick, {args.events} live events:")
    print(f"  all due (a batch each): {all_due * 1000:.0f} ms = {all_due / b50:.0f}× baseline "
          f"({all_due / args.events / b50:.1f}× baseline per event)")  # fmt: skip
    print(f"  none due: {none_due * 1000:.1f} ms = {none_due / b50:.1f}× baseline")


if __name__ == "__main__":
    main()
