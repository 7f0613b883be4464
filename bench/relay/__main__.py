"""Studio relay benchmark: N concurrent real-time streams through Daphne and the studio consumer to the
Deepgram emulator, against a bare `websockets` proxy to the same emulator in the same run.

    python -m bench.relay [--streams 50] [--seconds 20]

Each stream sends 100 ms linear16 frames at real-time pace: three coded words, half a second of
silence, again. Latency (after a 3 s warm-up per stream) is from sending the frame in which the
emulator's endpointing fires to the final result arriving back at the client; "added" is that minus
the same figure for clients talking to the emulator directly (measured first, in the same run).
CPU is the server process's user+system time per stream-second of audio. The relay path also stores
every final and archives the audio, as in production; the proxy only forwards bytes.

The issue's target is 200 streams; on a 2-core machine that also runs the emulator and the clients,
200 saturates even the bare proxy, so the default is 50 (pass --streams 200 to see it).
"""

import argparse
import asyncio
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME = 3200
WARMUP_FRAMES = 30
API_KEY = "bench-key"
QUERY = (
    "?model=nova-3&encoding=linear16&sample_rate=16000&channels=1&language=en&interim_results=true"
    "&punctuate=true&smart_format=true&endpointing=300&utterance_end_ms=1000&vad_events=true&diarize=false"
)


def configure() -> dict[str, str]:
    data = tempfile.mkdtemp(prefix="liveblog-bench-relay-")
    env = {"LIVEBLOG_DATA_DIR": data, "HTTPS": "false", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DEEPGRAM_API_KEY", "MAVERA_API_KEY"):
        os.environ.pop(name, None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def journalists(count: int) -> tuple[str, list[str]]:
    """A live event with `count` assigned journalists; their session cookies."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from events.models import Event
    from events.roles import JOURNALISTS
    from tests.emulators.studio import session_cookie

    event = Event.objects.create(
        title="Relay bench", slug="relay-bench", status=Event.Status.LIVE, starts_at=timezone.now()
    )
    group = Group.objects.get(name=JOURNALISTS)
    cookies = []
    for number in range(count):
        user = User.objects.create_user(f"bench{number}", password=None)
        user.groups.add(group)
        event.journalists.add(user)
        cookies.append(session_cookie(user))
    return event.slug, cookies


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen) -> None:
    import socket

    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing on port {port}")


def start(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    log = tempfile.NamedTemporaryFile(prefix="bench-relay-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    process.log_path = log.name  # type: ignore[attr-defined]
    wait_port(port, process)
    return process


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speech(seconds: float) -> bytes:
    from tests.emulators.deepgram import silence, word_audio

    audio = b""
    word = 0
    while len(audio) < seconds * 32000:
        audio += word_audio([word % 250, (word + 1) % 250, (word + 2) % 250]) + silence(0.5)
        word += 3
    return audio[: len(audio) - len(audio) % FRAME]


async def stream(url: str, audio: bytes, *, headers: dict, studio: bool, delay: float, out: dict) -> None:
    from websockets.asyncio.client import connect

    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []
    latencies: list[float] = []
    finals = 0
    done = asyncio.Event()

    async with connect(url, additional_headers=headers, max_size=2**20) as ws:
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
                    final = message.get("type") == "transcript" and message["is_final"]
                    end = message.get("end", 0.0)
                else:
                    final = (
                        message.get("type") == "Results"
                        and message["is_final"]
                        and message["channel"]["alternatives"][0]["transcript"]
                    )
                    end = message.get("start", 0.0) + message.get("duration", 0.0)
                if message.get("type") in ("stopped", "Metadata"):
                    done.set()
                if final:
                    finals += 1
                    frame = math.ceil(round(end * 10, 6)) - 1
                    # Steady state only: the first 3 s hold every stream's connect and session setup.
                    if WARMUP_FRAMES <= frame < len(sent_at):
                        latencies.append((arrived - sent_at[frame]) * 1000)

        reader = asyncio.create_task(receive())
        began = loop.time()
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
    out["finals"] += finals


async def run_phase(urls: list[str], headers: list[dict], audio: bytes, studio: bool) -> dict:
    out: dict = {"latencies": [], "finals": 0}
    await asyncio.gather(
        *(
            stream(url, audio, headers=h, studio=studio, delay=random.uniform(0, 1.7), out=out)
            for url, h in zip(urls, headers, strict=True)
        )
    )
    return out


def phase(name: str, urls, headers, audio, studio: bool, server_pid: int | None) -> dict:
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    began = time.monotonic()
    result = asyncio.run(run_phase(urls, headers, audio, studio))
    result["wall"] = time.monotonic() - began
    result["cpu"] = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    result["name"] = name
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    env = configure()
    slug, cookies = journalists(args.streams)
    audio = speech(args.seconds)
    expected = args.streams * sum(1 for _ in range(0, int(len(audio) / 32000 / 1.7 + 0.999)))

    emulator_port, proxy_port, daphne_port = free_port(), free_port(), free_port()
    emulator = start(
        ["-m", "tests.emulators.deepgram", "--port", str(emulator_port), "--api-key", API_KEY], emulator_port, env
    )
    upstream = f"ws://127.0.0.1:{emulator_port}"
    proxy = start(["-m", "bench.relay.proxy", "--port", str(proxy_port), "--upstream", upstream], proxy_port, env)
    daphne_env = {**env, "DEEPGRAM_API_KEY": API_KEY, "DEEPGRAM_URL": f"{upstream}/v1/listen"}
    daphne = start(
        ["-m", "daphne", "-b", "127.0.0.1", "-p", str(daphne_port), "liveblog_site.asgi:application"],
        daphne_port,
        daphne_env,
    )
    auth = {"Authorization": f"Token {API_KEY}"}
    n = args.streams
    try:
        direct = phase("direct", [f"{upstream}/v1/listen{QUERY}"] * n, [auth] * n, audio, False, None)
        bare = phase(
            "proxy", [f"ws://127.0.0.1:{proxy_port}/v1/listen{QUERY}"] * n, [auth] * n, audio, False, proxy.pid
        )
        studio_headers = [
            {"Origin": f"http://127.0.0.1:{daphne_port}", "Cookie": f"sessionid={cookie}"} for cookie in cookies
        ]
        relay = phase(
            "relay", [f"ws://127.0.0.1:{daphne_port}/ws/studio/{slug}/"] * n, studio_headers, audio, True, daphne.pid
        )
    finally:
        for process in (daphne, proxy, emulator):
            process.terminate()
            process.wait(10)

    from transcription.models import Segment

    stored = Segment.objects.count()
    base50, base99 = percentile(direct["latencies"], 50), percentile(direct["latencies"], 99)
    audio_seconds = n * len(audio) / 32000
    print(f"relay bench: {n} concurrent real-time streams × {len(audio) / 32000:.1f} s, {os.cpu_count()} cores")
    print(f"direct to emulator: p50 {base50:.2f} ms, p99 {base99:.2f} ms ({len(direct['latencies'])} finals)")
    rows = []
    for result in (bare, relay):
        added50 = percentile(result["latencies"], 50) - base50
        added99 = percentile(result["latencies"], 99) - base99
        cpu = result["cpu"] / audio_seconds * 1000
        rows.append((added50, added99, cpu))
        print(
            f"{result['name']:>6}: added p50 {added50:+.2f} ms, added p99 {added99:+.2f} ms, "
            f"CPU {cpu:.2f} ms per stream-second, finals {result['finals']}/{expected}, "
            f"timeouts {result.get('timeouts', 0)}"
        )
    (p50, p99, cpu), (r50, r99, rcpu) = rows
    print(f"ratios relay/proxy: added p50 {_ratio(r50, p50)}, added p99 {_ratio(r99, p99)}, CPU {_ratio(rcpu, cpu)}")
    print(f"segments stored by the relay: {stored} (finals seen by its clients: {relay['finals']})")
    print(f"logs: daphne {daphne.log_path}, proxy {proxy.log_path}, emulator {emulator.log_path}")  # type: ignore[attr-defined]


def _ratio(value: float, baseline: float) -> str:
    if baseline <= 0:
        return f"{value:.2f} ms vs {baseline:.2f} ms (baseline ≤ 0)"
    return f"{value / baseline:.1f}×"


if __name__ == "__main__":
    main()
