"""Alerts for readers: a key event told by Web Push to every subscriber, from the Celery worker.

    python -m bench.push_alerts [--subscribers 10000] [--rounds 3] [--worker-concurrency 2]
                                [--batch 1000] [--in-flight 64] [--scale-out] [--smoke]

The push service is the emulator (tests/support/emulators/push.py) in a process of its own on loopback: it checks
each push's VAPID JWT and decrypts each payload with the subscription's own private key, as a browser's push
service and the browser do between them. A key event is published here (Post.publish, as an editor's request
does); the worker fans it out in batches and sends them. Timed: from the publish call to the last delivery the
emulator decrypted (both read the machine's monotonic clock), per round, once the worker has told a warm-up event;
the first round, in which the worker opens its connections, is shown apart.

Baselines in the same run, against the same emulator: the floor, the HTTP alone (the same client in this process
posting the same number of pushes encrypted beforehand: no database, no worker, no encryption in the timing), at
the same number in flight; and pywebpush's own webpush() one push at a time over a kept-alive requests session,
timed on a sample and scaled to the subscribers. Also printed: the CPU time per push of the worker's processes and
of the emulator, and what their sum would take on this machine's cores with nothing else running.
--smoke: 200 subscribers, one round.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import children, topology
from bench.fanout.stack import celery_worker

TARGET_SECONDS = 5.0


def start_emulator(key: str, count: int):
    from bench.push_alerts.service import serve

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = children.track(context.Process(target=serve, args=(theirs, key, count), daemon=True))
    process.start()
    return ours, ours.recv(), process.pid


def ask(pipe, command: str = "report") -> dict:
    pipe.send(command)
    return pipe.recv()


def wait_for(pipe, count: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        report = ask(pipe)
        if report["delivered"] + report["refused"] >= count:
            return report
        if time.monotonic() > deadline:
            raise SystemExit(f"only {report['delivered']} of {count} delivered after {timeout:.0f} s: {report}")
        time.sleep(0.02)


def floor(pipe, made, in_flight: int) -> float:
    """The HTTP alone: every push encrypted beforehand, then posted by the same client as fast as the emulator
    takes them, from this one process."""
    from readers import webpush
    from readers.push_client import Client

    keys = webpush.server_keys()
    payload = b'{"title":"Keynote","body":"Key event: floor"}'
    origin = webpush.origin_of(made[0][0])
    authorization = keys.vapid.sign({"aud": origin, "sub": keys.subject, "exp": int(time.time()) + 3600})
    bodies = [webpush.encrypt(webpush.Push(0, *row), payload) for row in made]
    headers = {"TTL": "60", "Content-Encoding": "aes128gcm", **authorization}

    async def run() -> float:
        client = Client(timeout=30)
        pending = iter(zip(made, bodies, strict=True))
        began = time.monotonic()

        async def work() -> None:
            for (endpoint, _p256dh, _auth), body in pending:
                await client.post(endpoint, headers, body)

        await asyncio.gather(*(work() for _ in range(in_flight)))
        await client.close()
        return began

    ask(pipe, "reset")
    began = asyncio.run(run())
    report = wait_for(pipe, len(made), 120)
    assert report["distinct"] == len(made) and not report["refused"], report
    return report["last_at"] - began


def one_at_a_time(made, sample: int) -> float:
    """pywebpush.webpush() per subscription, as its documentation shows: seconds per push."""
    import requests
    from pywebpush import webpush as library_webpush

    from readers import webpush

    keys = webpush.server_keys()
    session = requests.Session()
    began = time.perf_counter()
    for endpoint, p256dh, auth in made[:sample]:
        library_webpush(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            '{"title":"Keynote","body":"Key event: one at a time"}',
            vapid_private_key=keys.vapid,
            vapid_claims={"sub": keys.subject},
            requests_session=session,
            ttl=60,
        )
    return (time.perf_counter() - began) / sample


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes and their children so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    family, total = set(pids), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) in family or int(fields[1]) in family:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class Round:
    seconds: float
    worker_cpu: float  # per push, seconds
    service_cpu: float


def round_from_publish(pipe, event, count: int, n: int, pids: tuple[int, int], timeout: float = 120) -> Round:
    from publishing.models import Post

    post = Post.objects.create(event=event, headline=f"Key event {n}", body="The motion is carried.", key_event=True)
    ask(pipe, "reset")
    worker_pid, service_pid = pids
    worker_before, service_before = cpu_seconds([worker_pid]), cpu_seconds([service_pid])
    began = time.monotonic()
    post.publish()
    report = wait_for(pipe, count, timeout)
    worker_cpu = (cpu_seconds([worker_pid]) - worker_before) / count
    service_cpu = (cpu_seconds([service_pid]) - service_before) / count
    if report["distinct"] != count or report["delivered"] != count or report["refused"]:
        raise SystemExit(f"round {n}: not exactly one decrypted push per subscriber: {report}")
    [payload] = report["payloads"]
    assert json.loads(payload)["url"].endswith(f"/posts/{post.pk}/"), payload
    return Round(report["last_at"] - began, worker_cpu, service_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000, help="PUSH_BATCH_SIZE")
    parser.add_argument("--in-flight", type=int, default=64, help="PUSH_CONCURRENCY")
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL and Redis (bench.topology)")
    parser.add_argument("--smoke", action="store_true", help="200 subscribers, one round")
    args = parser.parse_args()
    if args.smoke:
        args.subscribers, args.rounds = 200, 1
    settings_env = {
        "PUSH_SERVICE_HOSTS": "127.0.0.1",
        "PUSH_BATCH_SIZE": str(args.batch),
        "PUSH_CONCURRENCY": str(args.in_flight),
    }
    os.environ.update(settings_env)
    env = {**os.environ, **topology.configure("push-alerts", scale_out=args.scale_out), **settings_env}

    from bench.pipeline.setup import live_event
    from events.models import Event
    from readers import webpush
    from readers.models import PushSubscription

    count = args.subscribers
    print(
        f"alerts benchmark · {count} subscribers · worker concurrency {args.worker_concurrency} · "
        f"batches of {args.batch}, {args.in_flight} in flight each · {topology.describe(env)}"
    )
    pipe, made, service_pid = start_emulator(webpush.public_key(), count)
    event: Event = live_event(topology.unique_slug("alerts"))
    PushSubscription.objects.bulk_create(
        PushSubscription(event=event, endpoint=endpoint, p256dh=p256dh, auth=auth) for endpoint, p256dh, auth in made
    )

    floor_seconds = floor(pipe, made, args.in_flight)
    print(
        f"floor: the HTTP alone, {count} pushes encrypted beforehand, posted from one process, "
        f"{args.in_flight} in flight: "
        f"{floor_seconds:.2f} s to the last decrypted ({count / floor_seconds:.0f} pushes/s)"
    )
    sample = min(count, 200)
    serial = one_at_a_time(made, sample)
    print(
        f"pywebpush webpush() one at a time (kept-alive session, {sample} timed): {serial * 1000:.2f} ms per push, "
        f"≈ {serial * count:.1f} s for {count}"
    )

    # A few of the same subscribers on another event: told once the worker is up, so no round waits for its start.
    warm_up = live_event(topology.unique_slug("alerts-warm-up"))
    PushSubscription.objects.bulk_create(
        PushSubscription(event=warm_up, endpoint=endpoint, p256dh=p256dh, auth=auth)
        for endpoint, p256dh, auth in made[:4]
    )
    process = celery_worker(env, args.worker_concurrency)
    pids = (process.pid, service_pid)
    try:
        round_from_publish(pipe, warm_up, min(count, 4), 0, pids, timeout=300)
        first = round_from_publish(pipe, event, count, 1, pids)
        rounds = [round_from_publish(pipe, event, count, n, pids) for n in range(2, args.rounds + 2)]
    finally:
        children.stop(process)
        pipe.send("stop")
    times = [r.seconds for r in rounds]
    p50, worst = statistics.median(times), max(times)
    worker_us = statistics.median(r.worker_cpu for r in rounds) * 1e6
    service_us = statistics.median(r.service_cpu for r in rounds) * 1e6
    print(f"first key event to all (the worker opening its connections): publish → last delivery {first.seconds:.2f} s")
    print(
        f"publish → last delivery from the worker, {len(rounds)} rounds: p50 {p50:.2f} s, max {worst:.2f} s "
        f"({count / p50:.0f} pushes/s) · {p50 / floor_seconds:.2f}× the floor · "
        f"{serial * count / p50:.1f}× faster than one at a time · "
        f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if worst <= TARGET_SECONDS else 'NOT met'}"
    )
    cores = os.cpu_count() or 1
    print(
        f"CPU per push: worker {worker_us:.0f} µs, push service emulator {service_us:.0f} µs; "
        f"their sum over {cores} cores, had they the machine to themselves: "
        f"{(worker_us + service_us) * count / 1e6 / cores:.2f} s for {count} · load average now "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    children.run_main(main)
