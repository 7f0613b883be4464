"""Readers' fan-out benchmark: how many readers the web processes hold, how long a published post takes
to reach the last of them, and what an idle reader costs in memory.

    python -m bench.fanout [--mode redis|embedded] [--servers 2] [--readers 20000] [--posts 5] [--top-posts 100]
                           [--clients 2] [--budget SECONDS] [--without direct_write,heartbeat] [--smoke]

Readers are real WebSocket clients (in reader processes) spread over Daphne processes (redis mode:
the scale-out topology, on bench.topology's PostgreSQL server and Redis; embedded mode is one process
by design); the post is published from this process, so in redis mode the notice crosses processes
through the Redis channel layer and in embedded mode through the database poll. Steps of readers: 1,
1000, 5000, 10000, 20000, 50000, 100000 (those under --readers, then --readers). No process holds
more sockets than its open-file limit allows (`ulimit -n`, less a margin): at least --servers Daphnes
and --clients reader processes, more when the top step needs them. It stops early when readers fail
to connect, a reader misses a post or the time budget runs out, and says where. Figures are printed
against the 1-reader baseline of the same run; "last" is the time until the last reader has a post
(the kernel's receive time at its socket), its p99 taken over the step's posts (the top step
publishes --top-posts of them: with fewer than 100 the p99 is simply the worst post, which "last max"
shows anyway); "server" is the slowest Daphne's own time to read the change and push it to its
readers, from its log; "dropped" counts readers the servers closed; "cores" is the Daphnes' CPU over
the step's posts (their pauses included). Readers are minimal clients (bench/fanout/client.py), and
take none of the servers' cores while a post goes out, as readers on their own machines would: the
reader processes are paused (SIGSTOP) from the publish until every Daphne has logged its push, and
then read what the kernel received, timed by its receive time. A refused handshake is tried again
(three tries), as a page reconnects. The last lines judge memory per idle reader (target ≤ 28 KiB)
and say where the run saturates: the first step that misses its target (last-reader p99: 700 ms at
50,000, 1.5 s at 100,000; none dropped, none missed), that reaches readers more slowly per second
than the step before (readers over the last reader's p50), or where it stops.

--without names fast paths (server.FASTPATHS) to measure switched off as well: after the run
with all of them on, the same steps run again on fresh Daphne processes started with that one path
off (FASTPATH_<NAME>=false), and the top step's figures are printed as ratios to the all-on run's.
The time budget applies to each run. Ctrl-C or SIGTERM stops every process the bench started.
--smoke: 1 and 20 readers, 2 posts each, the same paths.
"""

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import resource
import signal
import statistics
import time
from collections import defaultdict

from bench import children, topology
from bench.fanout.client import open_reader
from bench.fanout.stack import Daphne, configure, live_event, percentile, raise_fd_limit

STEPS = [1, 1000, 5000, 10000, 20000, 50000, 100000]
FD_MARGIN = 1000  # files a process needs besides its readers' sockets: code, logs, database, Redis
LAST_P99_TARGETS = {50000: 0.7, 100000: 1.5}  # seconds to the last reader, by step
KIB_PER_READER_TARGET = 28.0
CONNECT_TRIES = 3
HANDSHAKES_IN_FLIGHT = 128
SLOWER = 0.9  # a step whose readers per second to the last reader fall below this share of the last step's


# --- reader processes ---------------------------------------------------------------------------


class Readers:
    def __init__(self, conn):
        self.conn = conn
        self.readers: list = []
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.retries = 0

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
                self.conn.send((self.arrivals.pop(argument, []), sum(reader.dropped for reader in self.readers)))
            else:
                for reader in self.readers:
                    reader.close()
                self.conn.send("stopped")
                return

    async def connect(
        self, count: int, cursor: int, servers: list[tuple[str, str]], processes: int
    ) -> tuple[int, int, str, int]:
        # Handshakes in flight, all reader processes together: more only queue in the servers, past
        # Daphne's connect timeout (5 s), where they would queue here.
        gate = asyncio.Semaphore(max(8, HANDSHAKES_IN_FLIGHT // processes))
        hello = f'{{"type":"hello","cursor":{cursor}}}'.encode()
        first = len(self.readers)

        async def one(n: int):
            url, origin = servers[n % len(servers)]
            for attempt in range(CONNECT_TRIES):  # as a page reconnects when its socket is refused
                try:
                    async with gate:
                        reader = await asyncio.wait_for(open_reader(url, origin, hello, self.arrivals), 60)
                    break
                except (OSError, TimeoutError):
                    if attempt == CONNECT_TRIES - 1:
                        raise
                    self.retries += 1
                    await asyncio.sleep(1 + attempt)
            self.readers.append(reader)

        results = await asyncio.gather(*(one(first + n) for n in range(count)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        retries, self.retries = self.retries, 0
        return count - len(errors), len(errors), repr(errors[0])[:200] if errors else "", retries


def reader_process(conn) -> None:
    children.in_child()
    raise_fd_limit()
    asyncio.run(Readers(conn).serve())


# --- the run ------------------------------------------------------------------------------------


def per_process() -> int:
    """Readers' sockets one process may hold under its open-file limit (raised to the hard limit)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1] - FD_MARGIN


def steps_up_to(readers: int) -> list[int]:
    return [step for step in STEPS if step < readers] + [readers]


def warm_up(event, Post) -> None:
    """One untimed publish with nobody listening: the servers' first template render is not a reader's cost."""
    Post.objects.create(event=event, body="Warm-up.").publish()
    time.sleep(1)


HEADER = (
    f"{'readers':>8} {'posts':>6} {'connect/s':>10} {'KiB/idle':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'last p50':>9} {'last p99':>9} {'last max':>9} {'server p50':>10} {'server p99':>10} "
    f"{'× base p50':>10} {'× base last':>11} {'dropped':>8} {'cores':>6}"
)


class Step(dict):
    """One step's figures, and whether it missed a target."""

    def misses(self, before: "Step | None") -> str:
        """Why this step is past what the servers hold: its target missed, readers dropped, or each reader
        reached more slowly than at the step before (the rate to the last reader fell)."""
        reasons = []
        target = LAST_P99_TARGETS.get(int(self["readers"]))
        if target is not None and self["last p99"] > target:
            reasons.append(f"last-reader p99 {self['last p99'] * 1000:.0f} ms > {target * 1000:.0f} ms")
        if self["dropped"]:
            reasons.append(f"{self['dropped']:.0f} readers dropped")
        if before is not None and self["rate"] < SLOWER * before["rate"]:
            reasons.append(
                f"readers reached per second (to the last, p50) fell from {before['rate']:,.0f} to {self['rate']:,.0f}"
            )
        return "; ".join(reasons)


@contextlib.contextmanager
def paused(workers: list[multiprocessing.Process]):
    """The reader processes stopped (SIGSTOP) while the block runs, then continued."""
    for worker in workers:
        os.kill(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for worker in workers:
            os.kill(worker.pid, signal.SIGCONT)


def run_steps(args, env: dict[str, str], event, Post, pipes, workers, servers_count: int) -> dict[str, float]:
    """All steps against fresh Daphne processes started with `env`; the top step's figures."""
    started = time.monotonic()
    servers = [Daphne(env) for _ in range(servers_count)]
    targets = [(f"ws://127.0.0.1:{d.port}/ws/events/{event.slug}/", d.origin) for d in servers]
    print(HEADER, flush=True)
    rss_empty = sum(d.rss_kib() for d in servers)
    warm_up(event, Post)
    connected = 0
    baseline: tuple[float, float] | None = None
    stopped_because = ""
    saturated = ""
    previous: Step | None = None
    memory: list[float] = []  # KiB per idle reader, by step
    top: dict[str, float] = {}
    aborted = True
    try:
        steps = steps_up_to(args.readers)
        for step in steps:
            if time.monotonic() - started > args.budget:
                stopped_because = f"time budget of {args.budget:.0f} s spent before {step} readers"
                break
            event.refresh_from_db(fields=["change_seq"])
            add = step - connected
            shares = [add // len(pipes) + (1 if i < add % len(pipes) else 0) for i in range(len(pipes))]
            rss_before, t0 = sum(d.rss_kib() for d in servers), time.monotonic()
            for pipe, share in zip(pipes, shares, strict=True):
                pipe.send(("connect", (share, event.change_seq, targets, len(pipes))))
            replies = [pipe.recv() for pipe in pipes]
            connect_seconds = time.monotonic() - t0
            ok, failed = sum(r[0] for r in replies), sum(r[1] for r in replies)
            retried = sum(r[3] for r in replies)
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
            dropped = 0
            posts = args.top_posts if step == steps[-1] else args.posts
            cpu_before, posting_from = sum(d.cpu_seconds() for d in servers), time.monotonic()
            for n in range(posts):
                post = Post.objects.create(event=event, body=f"Benchmark update {step}/{n}. " + "Words. " * 40)
                # Deployed, readers are other machines: here they wait, paused, until the servers have
                # pushed; the kernel's receive time of each change (see client.py) is what is timed.
                with paused(workers):
                    sent = time.time()
                    post.publish()
                    cursor = post.change_seq
                    pushed_by = time.monotonic() + 30
                    while sum(d.server_ms(cursor) is not None for d in servers) < min(len(servers), connected):
                        if time.monotonic() > pushed_by:
                            break
                        time.sleep(0.05)
                deadline = time.monotonic() + 30
                times: list[float] = []
                while True:
                    time.sleep(0.25)
                    for pipe in pipes:
                        pipe.send(("arrivals", cursor))
                    answers = [pipe.recv() for pipe in pipes]
                    times += [t for arrived, _ in answers for t in arrived]
                    dropped = sum(lost for _, lost in answers)
                    if len(times) >= connected - dropped or time.monotonic() > deadline:
                        break
                if len(times) < connected:
                    stopped_because = f"only {len(times)} of {connected} readers got post {n} within 30 s"
                latencies += [t - sent for t in times]
                lasts.append(max(times) - sent if times else float("nan"))
                logged = [d.server_ms(cursor) for d in servers]
                pushes.append(max(sum(ms) for ms in logged if ms) / 1000 if any(logged) else float("nan"))
                time.sleep(0.5)
            # The Daphnes' share of the machine while posts went out (the sleeps between them included).
            cores = (sum(d.cpu_seconds() for d in servers) - cpu_before) / (time.monotonic() - posting_from)

            if not latencies:
                stopped_because = f"no reader got any of the {posts} posts at step {step}"
                break
            p50, p99 = statistics.median(latencies), percentile(latencies, 99)
            last_p50, last_p99, last_max = statistics.median(lasts), percentile(lasts, 99), max(lasts)
            push_p50, push_p99 = statistics.median(pushes), percentile(pushes, 99)
            baseline = baseline or (p50, last_p50)
            measured = Step(readers=connected, p50=p50, p99=p99, dropped=dropped, rate=connected / last_p50)
            measured.update({"last p50": last_p50, "last p99": last_p99})
            if add >= 1000:  # memory is judged over a thousand readers or more: a few are lost in the noise
                memory.append(per_reader_kib)
            top = dict(measured)
            kib = f"{per_reader_kib:.1f}" if add > 1 else "—"  # the first reader also loads the code
            print(
                f"{connected:>8} {posts:>6} {ok / connect_seconds:>10.0f} {kib:>9} {p50 * 1000:>8.1f} "
                f"{p99 * 1000:>8.1f} {last_p50 * 1000:>9.1f} {last_p99 * 1000:>9.1f} {last_max * 1000:>9.1f} "
                f"{push_p50 * 1000:>10.1f} {push_p99 * 1000:>10.1f} "
                f"{p50 / baseline[0]:>10.1f} {last_p50 / baseline[1]:>11.1f} {dropped:>8} {cores:>6.2f}",
                flush=True,
            )
            if retried:
                print(f"{'':>8} {retried} handshakes refused or timed out and tried again", flush=True)
            misses = measured.misses(previous)
            if not saturated and (misses or stopped_because):
                saturated = f"{connected} readers: {misses or stopped_because}"
            previous = measured
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
            saturated = saturated or f"{connected} readers: {stopped_because}"
        if memory:
            worst = max(memory)
            print(
                f"memory per idle reader: at most {worst:.1f} KiB over the steps (target ≤ "
                f"{KIB_PER_READER_TARGET:.0f} KiB): {'met' if worst <= KIB_PER_READER_TARGET else 'NOT met'}"
            )
        if saturated:
            print(f"saturates at {saturated}")
        else:
            print(f"no saturation up to {connected} readers: every target met, none dropped, none missed")
        aborted = False
    finally:
        if not aborted:  # on Ctrl-C or SIGTERM the reader processes are stopped, not asked
            for pipe in pipes:
                pipe.send(("close", None))
            for pipe in pipes:
                pipe.recv()
        children.stop(*(daphne.popen for daphne in servers))
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["redis", "embedded"], default="redis")
    parser.add_argument("--servers", type=int, default=2, help="Daphne processes at least (redis mode)")
    parser.add_argument("--readers", type=int, default=20000)
    parser.add_argument("--posts", type=int, default=5, help="posts published at each step")
    parser.add_argument("--top-posts", type=int, default=100, help="posts at the last step: a p99 needs 100")
    parser.add_argument("--clients", type=int, default=2, help="reader processes at least")
    parser.add_argument("--budget", type=float, default=None, help="seconds before each run stops by itself")
    parser.add_argument("--without", default="", help="comma-separated fast paths to measure switched off too")
    parser.add_argument("--redis-url", default=None, help="default: REDIS_URL, else bench.topology's")
    parser.add_argument(
        "--database-url",
        default=None,
        help="the PostgreSQL server (default: DATABASE_URL, else bench.topology's); the bench makes its own "
        "database there and drops only that",
    )
    parser.add_argument("--smoke", action="store_true", help="1 and 20 readers, 2 posts each: a smoke test")
    args = parser.parse_args()
    if args.smoke:
        args.readers, args.posts, args.top_posts = 20, 2, 2
    if args.budget is None:
        args.budget = 240.0 if args.readers <= 20000 else 240.0 + args.readers / 100
    without = [name for name in args.without.split(",") if name]
    raise_fd_limit()
    if args.mode == "embedded" and args.readers > per_process():
        parser.error(f"embedded mode is one Daphne: at most {per_process()} readers under this open-file limit")
    servers = args.servers if args.mode == "redis" else 1
    servers = max(servers, math.ceil(args.readers / per_process()))
    clients = max(args.clients, math.ceil(args.readers / per_process()))

    env = configure(args.mode, args.redis_url, args.database_url, purpose="fanout")
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
    for _ in range(clients):
        parent, child = multiprocessing.Pipe()
        worker = multiprocessing.Process(target=reader_process, args=(child,), daemon=True)
        worker.start()
        children.track(worker)
        pipes.append(parent)
        workers.append(worker)

    print(
        f"fan-out benchmark · {topology.describe(env)} · {servers} Daphne · {clients} reader processes · "
        f"{per_process()} sockets at most per process · {os.cpu_count()} cores"
    )
    tops: dict[str, dict[str, float]] = {}
    for label, variant_env in variants.items():
        print(f"--- fast paths {label}", flush=True)
        tops[label] = run_steps(args, variant_env, event, Post, pipes, workers, servers)
    for pipe in pipes:
        pipe.send(("stop", None))
    for pipe in pipes:
        pipe.recv()
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
    children.run_main(main)
