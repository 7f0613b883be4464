"""Studio relay benchmark: N concurrent real-time streams through Daphne and the studio consumer to the
Deepgram emulator, against a bare `websockets` proxy to the same emulator in the same run, and against
Daphne's own floor: a bare ASGI pipe under Daphne (bench/relay/daphne_pipe.py), what any relay served
by Daphne costs before it does anything.

    python -m bench.relay [--streams 50] [--seconds 20] [--scale-out] [--smoke]

Each stream sends 100 ms linear16 frames at real-time pace: three coded words, half a second of
silence, again. Latency is from sending the frame in which the emulator's endpointing fires to the
final result arriving back at the client. Streams start within 1.7 s of each other, so every phase
has a connect storm and a stop storm that no newsroom would make (200 sessions opened or wound down,
their audio archives closed, their last segments batched, all in 2 s). Two figures are printed:
steady state, finals from frames sent while all N streams were streaming (after the last one's
first 3 s, before the first one stopped); and the whole run, each stream's first 3 s (connect and
session setup) and last second (the final that comes from the stop) left out but the storms in.
"Added" is that minus the same figure for clients talking to the emulator directly (measured first,
in the same run).
CPU is the server process's user+system time per stream-second of audio, in the steady state (sampled
every 50 ms, read over the same window as the latencies) and over the whole phase. The relay path also
stores every final and archives the audio, as in production; the proxy only forwards bytes.

--scale-out runs every process on PostgreSQL and Redis (bench.topology: DATABASE_URL's server, in a
database the bench makes and drops, and REDIS_URL; else the local defaults), as production does, where
the relay stores through its writer thread; the floor and the proxy run in the same environment.
--smoke: 2 streams of 5 s, the same paths, a few seconds.

The issue's target is 200 streams; on a 2-core machine that also runs the emulator and the clients,
200 saturates even the bare proxy, so the default is 50 (pass --streams 200 to see it).
"""

import argparse
import asyncio
import bisect
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from bench import children, topology
from bench.fanout.stack import ROOT, cpu_seconds, free_port, live_event, percentile, raise_fd_limit, wait_port

FRAME = 3200
API_KEY = "bench-key"
QUERY = (
    "?model=nova-3&encoding=linear16&sample_rate=16000&channels=1&language=en&interim_results=true"
    "&punctuate=true&smart_format=true&endpointing=300&utterance_end_ms=1000&vad_events=true&diarize=false"
)


def journalists(count: int) -> tuple[str, list[str]]:
    """A live event with `count` assigned journalists; their session cookies."""
    from django.contrib.auth.models import Group, User

    from events.roles import JOURNALISTS
    from tests.support.emulators.studio import session_cookie

    # An id no other run used (live_event): the studio leases in a shared Redis are keyed by event and journalist.
    event = live_event("relay-bench", title="Relay bench")
    group = Group.objects.get(name=JOURNALISTS)
    cookies = []
    for number in range(count):
        user = User.objects.create_user(f"bench{number}", password=None)
        user.groups.add(group)
        event.journalists.add(user)
        cookies.append(session_cookie(user))
    return event.slug, cookies


def start(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    log = tempfile.NamedTemporaryFile(prefix="bench-relay-", suffix=".log", delete=False)  # noqa: SIM115
    process = children.spawn(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    process.log_path = log.name  # type: ignore[attr-defined]
    wait_port(port, process, log.name)
    return process


def speech(seconds: float) -> bytes:
    from tests.support.emulators.deepgram import silence, word_audio

    audio = b""
    word = 0
    while len(audio) < seconds * 32000:
        audio += word_audio([word % 250, (word + 1) % 250, (word + 2) % 250]) + silence(0.5)
        word += 3
    return audio[: len(audio) - len(audio) % FRAME]


@dataclass(frozen=True)
class Pace:
    """Which frames count (a stream's first `warmup` and last `cooldown` frames do not) and over how many
    seconds the streams start."""

    warmup: int = 30
    cooldown: int = 10
    spread: float = 1.7


SMOKE_PACE = Pace(warmup=5, cooldown=5, spread=0.2)


async def stream(url: str, audio: bytes, *, headers: dict, studio: bool, delay: float, out: dict, pace: Pace) -> None:
    from websockets.asyncio.client import connect

    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []
    latencies: list[tuple[float, float]] = []
    interims: list[tuple[float, float]] = []
    finals = 0
    done = asyncio.Event()

    async with connect(url, additional_headers=headers, max_size=2**20, compression=None) as ws:
        if studio:
            await ws.send(json.dumps({"type": "start", "encoding": "linear16", "sample_rate": 16000, "channels": 1}))
            while json.loads(await ws.recv())["type"] != "ready":
                pass

        async def receive() -> None:
            nonlocal finals
            async for raw in ws:
                arrived = loop.time()
                message = json.loads(raw)
                if studio:
                    result = message.get("type") == "transcript"
                    end = message.get("end", 0.0)
                else:
                    result = message.get("type") == "Results" and message["channel"]["alternatives"][0]["transcript"]
                    end = message.get("start", 0.0) + message.get("duration", 0.0)
                final = result and message["is_final"]
                if message.get("type") in ("stopped", "Metadata"):
                    done.set()
                if final:
                    finals += 1
                    frame = math.ceil(round(end * 10, 6)) - 1
                    # Steady state only: the first 3 s hold every stream's connect and session setup.
                    if pace.warmup <= frame < min(len(sent_at), total_frames - pace.cooldown):
                        latencies.append((sent_at[frame], (arrived - sent_at[frame]) * 1000))
                elif result:
                    # Interim results take the same way back without being stored: the latency split.
                    frame = math.ceil(round(end * 10, 6)) - 1
                    if pace.warmup <= frame < min(len(sent_at), total_frames - pace.cooldown):
                        interims.append((sent_at[frame], (arrived - sent_at[frame]) * 1000))

        total_frames = len(audio) // FRAME
        reader = asyncio.create_task(receive())
        began = loop.time()
        out["windows"].append((began + pace.warmup * 0.1, began + (total_frames - pace.cooldown) * 0.1))
        for index, offset in enumerate(range(0, len(audio), FRAME)):
            due = began + index * 0.1
            await asyncio.sleep(max(0.0, due - loop.time()))
            sent_at.append(loop.time())
            await ws.send(audio[offset : offset + FRAME])
        await ws.send(json.dumps({"type": "stop"} if studio else {"type": "CloseStream"}))
        try:
            await asyncio.wait_for(done.wait(), timeout=30)
        except TimeoutError:
            out["timeouts"] = out.get("timeouts", 0) + 1
        reader.cancel()
    out["latencies"].extend(latencies)
    out["interims"].extend(interims)
    out["finals"] += finals


async def run_phase(urls: list[str], headers: list[dict], audio: bytes, studio: bool, pace: Pace) -> dict:
    out: dict = {"latencies": [], "interims": [], "finals": 0, "windows": []}
    results = await asyncio.gather(
        *(
            stream(url, audio, headers=h, studio=studio, delay=random.uniform(0, pace.spread), out=out, pace=pace)
            for url, h in zip(urls, headers, strict=True)
        ),
        return_exceptions=True,
    )
    # A stream refused or cut (say, its handshake timed out in the connect storm) is counted, not fatal.
    out["failed"] = [result for result in results if isinstance(result, BaseException)]
    if not out["windows"]:
        raise SystemExit(f"no stream got through: {out['failed'][0]!r}")
    # Steady: while every stream is streaming, none still setting up and none stopping yet.
    steady_from, steady_to = max(start for start, _ in out["windows"]), min(end for _, end in out["windows"])
    out["steady"] = [latency for sent, latency in out["latencies"] if steady_from <= sent < steady_to]
    out["whole"] = [latency for _, latency in out["latencies"]]
    out["steady_interims"] = [latency for sent, latency in out["interims"] if steady_from <= sent < steady_to]
    out["steady_seconds"] = steady_to - steady_from
    out["steady_window"] = (steady_from, steady_to)
    return out


class CpuSampler:
    """The server's CPU time every 50 ms on the monotonic clock (asyncio's loop.time()), so the CPU spent
    in any stretch of the phase, such as the steady state, can be read afterwards."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "CpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while self.pid and not self._stop.is_set():
            self.samples.append((time.monotonic(), cpu_seconds(self.pid)))
            self._stop.wait(0.05)

    def between(self, start: float, end: float) -> float:
        """CPU seconds used between two monotonic times, interpolated between samples."""
        if not self.samples:
            return 0.0
        times = [t for t, _ in self.samples]
        return self._at(times, end) - self._at(times, start)

    def _at(self, times: list[float], when: float) -> float:
        index = min(max(bisect.bisect_left(times, when), 1), len(times) - 1)
        (t0, c0), (t1, c1) = self.samples[index - 1], self.samples[index]
        return c0 + (c1 - c0) * min(max((when - t0) / (t1 - t0), 0.0), 1.0) if t1 > t0 else c1


def phase(name: str, urls, headers, audio, studio: bool, server_pid: int | None, emulator_pid: int, pace: Pace) -> dict:
    # One untimed stream first: a server's first connection imports and sets up what the rest reuse.
    asyncio.run(run_phase(urls[:1], headers[:1], audio[: 10 * FRAME], studio, Pace(warmup=0, cooldown=0, spread=0)))
    from transcription.models import Segment

    stored_before = Segment.objects.count()
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    emulator_before, clients_before = cpu_seconds(emulator_pid), time.process_time()
    began = time.monotonic()
    with CpuSampler(server_pid) as sampler:
        result = asyncio.run(run_phase(urls, headers, audio, studio, pace))
    result["wall"] = time.monotonic() - began
    result["cpu"] = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    result["steady_cpu"] = sampler.between(*result["steady_window"])
    # The rest of the machine's load: what the server under test competes with for the cores.
    result["emulator_cpu"] = cpu_seconds(emulator_pid) - emulator_before
    result["clients_cpu"] = time.process_time() - clients_before
    result["name"] = name
    result["stored"] = Segment.objects.count() - stored_before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL and Redis (bench.topology)")
    parser.add_argument("--smoke", action="store_true", help="2 streams of 5 s: a smoke test of the same paths")
    args = parser.parse_args()
    pace = Pace()
    if args.smoke:
        args.streams, args.seconds, pace = 2, 5.0, SMOKE_PACE
    raise_fd_limit()

    load_at_start = os.getloadavg()[0]  # other work on the machine competes for the same cores
    env = topology.configure("relay", scale_out=args.scale_out)
    slug, cookies = journalists(args.streams)
    audio = speech(args.seconds)
    expected = args.streams * sum(1 for _ in range(0, int(len(audio) / 32000 / 1.7 + 0.999)))

    emulator_port, proxy_port, pipe_port, daphne_port = free_port(), free_port(), free_port(), free_port()
    emulator = start(
        ["-m", "tests.support.emulators.deepgram", "--port", str(emulator_port), "--api-key", API_KEY],
        emulator_port,
        env,
    )
    upstream = f"ws://127.0.0.1:{emulator_port}"
    proxy = start(["-m", "bench.relay.proxy", "--port", str(proxy_port), "--upstream", upstream], proxy_port, env)
    pipe = start(
        ["-m", "daphne", "-b", "127.0.0.1", "-p", str(pipe_port), "bench.relay.daphne_pipe:application"],
        pipe_port,
        {**env, "BENCH_UPSTREAM": upstream},
    )
    daphne_env = {**env, "DEEPGRAM_API_KEY": API_KEY, "DEEPGRAM_URL": f"{upstream}/v1/listen"}
    daphne = start(
        ["-m", "daphne", "-b", "127.0.0.1", "-p", str(daphne_port), "liveblog_site.asgi:application"],
        daphne_port,
        daphne_env,
    )
    auth = {"Authorization": f"Token {API_KEY}"}
    n = args.streams
    try:
        direct = phase(
            "direct", [f"{upstream}/v1/listen{QUERY}"] * n, [auth] * n, audio, False, None, emulator.pid, pace
        )
        bare = phase(
            "proxy",
            [f"ws://127.0.0.1:{proxy_port}/v1/listen{QUERY}"] * n,
            [auth] * n,
            audio,
            False,
            proxy.pid,
            emulator.pid,
            pace,
        )
        floor = phase(
            "daphne",
            [f"ws://127.0.0.1:{pipe_port}/v1/listen{QUERY}"] * n,
            [auth] * n,
            audio,
            False,
            pipe.pid,
            emulator.pid,
            pace,
        )
        studio_headers = [
            {"Origin": f"http://127.0.0.1:{daphne_port}", "Cookie": f"sessionid={cookie}"} for cookie in cookies
        ]
        relay = phase(
            "relay",
            [f"ws://127.0.0.1:{daphne_port}/ws/studio/{slug}/"] * n,
            studio_headers,
            audio,
            True,
            daphne.pid,
            emulator.pid,
            pace,
        )
    finally:
        children.stop(daphne, pipe, proxy, emulator, timeout=10)

    stored = relay["stored"]
    audio_seconds = n * len(audio) / 32000
    print(f"relay bench: {n} concurrent real-time streams × {len(audio) / 32000:.1f} s, {os.cpu_count()} cores")
    print(f"topology: {topology.describe(env)}; the floor, the proxy and the relay all run in it")
    print(f"machine load average (1 min) at the start {load_at_start:.2f}, at the end {os.getloadavg()[0]:.2f}")
    empty = [result["name"] for result in (direct, bare, floor, relay) if not result["steady"]]
    if empty:
        sys.exit(f"no final came while all {n} streams were streaming ({', '.join(empty)}): use a longer --seconds")
    rows = []
    for span, title in (
        ("steady", f"steady state, all {n} streaming ({relay['steady_seconds']:.1f} s of the relay phase)"),
        (
            "whole",
            f"whole run, with the connect and stop storms (every stream's first {pace.warmup / 10:g} s "
            f"and last {pace.cooldown / 10:g} s left out)",
        ),
    ):
        base50, base99 = percentile(direct[span], 50), percentile(direct[span], 99)
        print(f"{title}:")
        print(f"  direct to emulator: p50 {base50:.2f} ms, p99 {base99:.2f} ms ({len(direct[span])} finals)")
        for result in (bare, floor, relay):
            added50 = percentile(result[span], 50) - base50
            added99 = percentile(result[span], 99) - base99
            if span == "steady":
                # Per stream that streamed: one refused at its handshake costs the server next to nothing.
                steady_stream_seconds = (n - len(result["failed"])) * result["steady_seconds"]
                rows.append((added50, added99, result["steady_cpu"] / steady_stream_seconds * 1000))
            interims = ""
            if span == "steady" and result["steady_interims"]:
                interim50 = percentile(result["steady_interims"], 50) - percentile(direct["steady_interims"], 50)
                interims = f"; interim results added p50 {interim50:+.2f} ms"
            print(
                f"  {result['name']:>6}: added p50 {added50:+.2f} ms, added p99 {added99:+.2f} ms "
                f"({len(result[span])} finals){interims}"
            )
    for result, (_, _, cpu) in zip((bare, floor, relay), rows, strict=True):
        print(
            f"{result['name']:>6}: CPU {cpu:.2f} ms per stream-second in the steady state "
            f"({result['cpu'] / audio_seconds * 1000:.2f} over the whole phase, storms included), "
            f"finals {result['finals']}/{expected}, timeouts {result.get('timeouts', 0)}"
            + (f", failed {len(result['failed'])}: {result['failed'][0]!r:.160}" if result["failed"] else "")
        )
    for result in (direct, bare, floor, relay):
        emulator_cores, clients_cores = result["emulator_cpu"] / result["wall"], result["clients_cpu"] / result["wall"]
        print(
            f"{result['name']:>6} phase, cores busy: emulator {emulator_cores:.2f}, clients {clients_cores:.2f}, "
            f"server under test {result['cpu'] / result['wall']:.2f} (of {os.cpu_count()})"
        )
    (p50, p99, cpu), (f50, f99, fcpu), (r50, r99, rcpu) = rows
    print("ratios (steady state):")
    print(f"ratios relay/proxy: added p50 {_ratio(r50, p50)}, added p99 {_ratio(r99, p99)}, CPU {_ratio(rcpu, cpu)}")
    print(
        f"ratios relay/daphne floor: added p50 {_ratio(r50, f50)}, added p99 {_ratio(r99, f99)}, "
        f"CPU {_ratio(rcpu, fcpu)}"
    )
    print(f"segments stored by the relay: {stored} (finals seen by its clients: {relay['finals']})")
    print(_targets(rows, relay["finals"], stored, expected, n - len(relay["failed"]), n))
    logs = ", ".join(f"{name} {p.log_path}" for name, p in (("daphne", daphne), ("pipe", pipe), ("proxy", proxy)))  # type: ignore[attr-defined]
    print(f"logs: {logs}, emulator {emulator.log_path}")  # type: ignore[attr-defined]


def _ratio(value: float, baseline: float) -> str:
    if baseline <= 0:
        return f"{value:.2f} ms vs {baseline:.2f} ms (baseline ≤ 0)"
    return f"{value / baseline:.2f}×"


def _targets(
    rows: list[tuple[float, float, float]], delivered: int, stored: int, expected: int, streamed: int, streams: int
) -> str:
    """The relay's targets against Daphne's floor in this run (issue 16), each with whether it holds."""
    _, (f50, f99, fcpu), (r50, r99, rcpu) = rows
    checks = [
        (f"CPU {rcpu / fcpu:.2f}× the floor", "≤ 1.30×", rcpu <= 1.3 * fcpu),
        (f"added p50 +{r50:.2f} ms", f"≤ floor + 2 = +{f50 + 2:.2f}", r50 <= f50 + 2),
        (f"added p99 +{r99:.2f} ms", f"≤ 2 × floor + 10 = +{2 * f99 + 10:.2f}", r99 <= 2 * f99 + 10),
        (f"finals delivered {delivered}, stored {stored}", f"= {expected}", delivered == stored == expected),
        (f"streams connected {streamed}", f"= {streams}", streamed == streams),
    ]
    return "targets: " + "; ".join(f"{figure} ({target}) {'met' if ok else 'NOT met'}" for figure, target, ok in checks)


if __name__ == "__main__":
    children.run_main(main)
