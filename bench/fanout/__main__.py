"""Readers' fan-out benchmark: how many readers one Daphne holds, how long a published post takes
to reach the last of them, and what an idle reader costs in memory.

    python -m bench.fanout [--mode redis|embedded] [--servers 2] [--readers 20000] [--posts 5] [--top-posts 100]
                           [--clients 2] [--budget 240] [--without direct_write,heartbeat]

Readers are real WebSocket clients (in --clients worker processes) spread over --servers Daphne
processes (redis mode; embedded mode is one process by design); the post is published from this
process, so in redis mode the notice crosses processes through the Redis
channel layer and in embedded mode through the database poll. Steps of readers: 1, 1000, 5000,
10000, 20000 (up to --readers); it stops early when readers fail to connect or the time budget
runs out, and says where. Figures are printed against the 1-reader baseline of the same run;
"last" is the time until the last reader has a post (the kernel's receive time at its socket),
its p99 taken over the step's posts (the top step publishes --top-posts of them: with fewer than
100 the p99 is simply the worst post, which "last max" shows anyway); "server" is the
slowest Daphne's own time to read the change and push it to its readers, from its log. Readers are
minimal clients (bench/fanout/client.py) that run only on cores the servers leave idle, as readers
on their own machines would.

--without names fast paths (server.FASTPATHS) to measure switched off as well: after the run
with all of them on, the same steps run again on fresh Daphne processes started with that one path
off (FASTPATH_<NAME>=false), and the top step's figures are printed as ratios to the all-on run's.
The time budget applies to each run.
"""

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from collections import defaultdict

from bench.fanout.client import open_reader
from bench.fanout.stack import Daphne, configure, live_event, percentile, raise_fd_limit

STEPS = [1, 1000, 5000, 10000, 20000]


# --- reader processes ---------------------------------------------------------------------------


class Readers:
    def __init__(self, conn):
        self.conn = conn
        self.readers: list = []
        self.arrivals: dict[int, list[float]] = defaultdict(list)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command, argument = await loop.run_in_executor(None, self.conn.recv)
            if command == "connect":
                self.conn.send(await self.connect(*argument))
            elif command == "close":  # every reader, before the next run's servers
                for reader in self.readers:
                    reader.close()
                self.readers, self.arrivals = [], defaultdict(list)
                self.conn.send("closed")
            elif command == "arrivals":  # of one change: all of them would be megabytes by the last step
                self.conn.send(self.arrivals.get(argument, []))
            else:
                for reader in self.readers:
                    reader.close()
                self.conn.send("stopped")
                return

    async def connect(self, count: int, cursor: int, servers: list[tuple[str, str]]) -> tuple[int, int, str]:
        gate = asyncio.Semaphore(64)  # handshakes in flight; Daphne's listen backlog is small
        hello = f'{{"type":"hello","cursor":{cursor}}}'.encode()

        async def one(n: int):
            url, origin = servers[n % len(servers)]
            async with gate:
                reader = await asyncio.wait_for(open_reader(url, origin, hello, self.arrivals), 60)
            self.readers.append(reader)

        results = await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        return count - len(errors), len(errors), repr(errors[0])[:200] if errors else ""


def reader_process(conn) -> None:
    raise_fd_limit()
    # Deployed, readers are other machines and take none of the servers' cores. Here they share them,
    # so they run only when the servers leave a core idle (SCHED_IDLE); the kernel's receive time
    # of each change (see client.py) is what is timed, however late this process reads it.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    asyncio.run(Readers(conn).serve())


# --- the run ------------------------------------------------------------------------------------


def warm_up(event, Post) -> None:
    """One untimed publish with nobody listening: the servers' first template render is not a reader's cost."""
    Post.objects.create(event=event, body="Warm-up.").publish()
    time.sleep(1)


HEADER = (
    f"{'readers':>8} {'posts':>6} {'connect/s':>10} {'KiB/idle':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'last p50':>9} {'last p99':>9} {'last max':>9} {'server p50':>10} {'server p99':>10} "
    f"{'× base p50':>10} {'× base last':>11}"
)


def run_steps(args, env: dict[str, str], event, Post, pipes) -> dict[str, float]:
    """All steps against fresh Daphne processes started with `env`; the top step's figures."""
    started = time.monotonic()
    servers = [Daphne(env) for _ in range(args.servers if args.mode == "redis" else 1)]
    targets = [(f"ws://127.0.0.1:{d.port}/ws/events/{event.slug}/", d.origin) for d in servers]
    print(HEADER, flush=True)
    rss_empty = sum(d.rss_kib() for d in servers)
    warm_up(event, Post)
    connected = 0
    baseline: tuple[float, float] | None = None
    stopped_because = ""
    top: dict[str, float] = {}
    try:
        steps = [s for s in STEPS if s <= args.readers]
        for step in steps:
            if time.monotonic() - started > args.budget:
                stopped_because = f"time budget of {args.budget:.0f} s spent before {step} readers"
                break
            event.refresh_from_db(fields=["change_seq"])
            add = step - connected
            shares = [add // args.clients + (1 if i < add % args.clients else 0) for i in range(args.clients)]
            rss_before, t0 = sum(d.rss_kib() for d in servers), time.monotonic()
            for pipe, share in zip(pipes, shares, strict=True):
                pipe.send(("connect", (share, event.change_seq, targets)))
            replies = [pipe.recv() for pipe in pipes]
            connect_seconds = time.monotonic() - t0
            ok, failed = sum(r[0] for r in replies), sum(r[1] for r in replies)
            connected += ok
            time.sleep(2 + connected / 5000)  # every hello handled
            per_reader_kib = (sum(d.rss_kib() for d in servers) - rss_before) / max(ok, 1)
            if failed:
                first_error = next(r[2] for r in replies if r[2])
                stopped_because = f"{failed} of {add} readers failed to connect at step {step}: {first_error}"
                if failed > add * 0.01:
                    break

            latencies: list[float] = []
            lasts: list[float] = []
            pushes: list[float] = []  # the slowest server's read + push of each post
            posts = args.top_posts if step == steps[-1] else args.posts
            for n in range(posts):
                post = Post.objects.create(event=event, body=f"Benchmark update {step}/{n}. " + "Words. " * 40)
                sent = time.time()
                post.publish()
                cursor = post.change_seq
                deadline = time.monotonic() + 30
                while True:
                    time.sleep(0.25)
                    for pipe in pipes:
                        pipe.send(("arrivals", cursor))
                    times = [t for pipe in pipes for t in pipe.recv()]
                    if len(times) >= connected or time.monotonic() > deadline:
                        break
                if len(times) < connected:
                    stopped_because = f"only {len(times)} of {connected} readers got post {n} within 30 s"
                latencies += [t - sent for t in times]
                lasts.append(max(times) - sent if times else float("nan"))
                logged = [d.server_ms(cursor) for d in servers]
                pushes.append(max(sum(ms) for ms in logged if ms) / 1000 if any(logged) else float("nan"))
                time.sleep(0.5)

            if not latencies:
                stopped_because = f"no reader got any of the {posts} posts at step {step}"
                break
            p50, p99 = statistics.median(latencies), percentile(latencies, 99)
            last_p50, last_p99, last_max = statistics.median(lasts), percentile(lasts, 99), max(lasts)
            push_p50, push_p99 = statistics.median(pushes), percentile(pushes, 99)
            baseline = baseline or (p50, last_p50)
            top = {"readers": connected, "p50": p50, "p99": p99, "last p50": last_p50, "last p99": last_p99}
            kib = f"{per_reader_kib:.1f}" if add > 1 else "—"  # the first reader also loads the code
            print(
                f"{connected:>8} {posts:>6} {ok / connect_seconds:>10.0f} {kib:>9} {p50 * 1000:>8.1f} "
                f"{p99 * 1000:>8.1f} {last_p50 * 1000:>9.1f} {last_p99 * 1000:>9.1f} {last_max * 1000:>9.1f} "
                f"{push_p50 * 1000:>10.1f} {push_p99 * 1000:>10.1f} "
                f"{p50 / baseline[0]:>10.1f} {last_p50 / baseline[1]:>11.1f}",
                flush=True,
            )
            if stopped_because:
                break
        total_kib = sum(d.rss_kib() for d in servers) - rss_empty
        cpu = sum(d.cpu_seconds() for d in servers)
        print(
            f"Daphne memory: {rss_empty / 1024 / len(servers):.0f} MiB empty per process, "
            f"{total_kib / max(connected, 1):.1f} KiB per reader over {connected} readers; "
            f"Daphne CPU {cpu:.1f} s; run {time.monotonic() - started:.0f} s"
        )
        if stopped_because:
            print(f"stopped early: {stopped_because}")
    finally:
        for pipe in pipes:
            pipe.send(("close", None))
        for pipe in pipes:
            pipe.recv()
        for daphne in servers:
            daphne.stop()
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["redis", "embedded"], default="redis")
    parser.add_argument("--servers", type=int, default=2, help="Daphne processes (redis mode)")
    parser.add_argument("--readers", type=int, default=20000)
    parser.add_argument("--posts", type=int, default=5, help="posts published at each step")
    parser.add_argument("--top-posts", type=int, default=100, help="posts at the last step: a p99 needs 100")
    parser.add_argument("--clients", type=int, default=2, help="reader processes")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds before each run stops by itself")
    parser.add_argument("--without", default="", help="comma-separated fast paths to measure switched off too")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/liveblog_bench_fanout",
    )
    args = parser.parse_args()
    without = [name for name in args.without.split(",") if name]

    env = configure(args.mode, args.redis_url, args.database_url)
    from publishing.models import Post
    from server import FASTPATHS

    unknown = sorted(set(without) - set(FASTPATHS))
    if unknown:
        parser.error(f"no fast path named {', '.join(unknown)}; the fast paths are {', '.join(FASTPATHS)}")
    event = live_event()
    daphne_env = {**env, "LOG_LEVEL": "INFO"}  # the Hub logs how long each push took
    variants = {"all on": daphne_env} | {
        f"without {name}": {**daphne_env, f"FASTPATH_{name.upper()}": "false"} for name in without
    }
    pipes, workers = [], []
    for _ in range(args.clients):
        parent, child = multiprocessing.Pipe()
        worker = multiprocessing.Process(target=reader_process, args=(child,), daemon=True)
        worker.start()
        pipes.append(parent)
        workers.append(worker)

    servers = args.servers if args.mode == "redis" else 1
    print(
        f"fan-out benchmark · mode {args.mode} · {servers} Daphne · {args.clients} reader processes · "
        f"{os.cpu_count()} cores"
    )
    tops: dict[str, dict[str, float]] = {}
    try:
        for label, variant_env in variants.items():
            print(f"--- fast paths {label}", flush=True)
            tops[label] = run_steps(args, variant_env, event, Post, pipes)
    finally:
        for pipe in pipes:
            pipe.send(("stop", None))
        for pipe in pipes:
            pipe.recv()
        for worker in workers:
            worker.join(timeout=10)
    if len(tops) > 1 and tops.get("all on"):
        on = tops["all on"]
        print(f"top step, against all on ({on['readers']:.0f} readers):")
        for label, top in tops.items():
            if not top:
                continue
            print(
                f"  {label:<30} {top['readers']:>6.0f} readers · p50 {top['p50'] * 1000:7.1f} ms "
                f"({top['p50'] / on['p50']:4.2f}×) · p99 {top['p99'] * 1000:7.1f} ms ({top['p99'] / on['p99']:4.2f}×) "
                f"· last p99 {top['last p99'] * 1000:7.1f} ms ({top['last p99'] / on['last p99']:4.2f}×)"
            )


if __name__ == "__main__":
    main()
