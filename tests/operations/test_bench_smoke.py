"""Every bench runs: `python -m bench.<name> --smoke` (tiny sizes, the same code paths) exits 0 and prints
its key lines, on the embedded default and, where it has one, on the scale-out topology; stopping a
bench stops every process it started. The figures are the benches' to judge, not the suite's."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench import topology
from tests.support.processes import ROOT

NUMBER = r"[\d.]+"

# Each bench's lines that must be there, with figures in them.
KEY_LINES = {
    "archive": [
        rf"FLAC, clean speech\s+{NUMBER} MB\s+ratio {NUMBER}",
        rf"SessionArchive \(WAV chunks\)\s+{NUMBER} s\s+ratio {NUMBER}",
        rf"archive's share of the stream\s+-?{NUMBER} %",
    ],
    "confidence": [rf"recommended threshold: {NUMBER}, the highest that flags"],
    "fanout": [
        r"^\s+1\s+2\s",
        r"^\s+20\s+2\s",
        rf"Daphne memory: {NUMBER} MiB empty per process, {NUMBER} KiB per reader over 20 readers",
        r"^(saturates at \d+ readers|no saturation up to 20 readers)",
    ],
    "page": [rf"cached event page: {NUMBER} × the static file's rate"],
    "pipeline": [
        rf"segment stored → post visible, 2 samples.*\n  p50 {NUMBER} ms",
        rf"batching tick, 10 live events:\n  all due \(a batch each\): {NUMBER} ms",
        r"many live events: 10 events, one stream each",
        rf"tick: p50 {NUMBER} ms, p99 {NUMBER} ms, max {NUMBER} ms over \d+ ticks",
        rf"database time per tick: p50 {NUMBER} ms, p99 {NUMBER} ms",
        r"every batch drafted once: yes$",
        rf"^flashed quote: spoken → reader p50 {NUMBER} s, p95 {NUMBER} s$",
        rf"^auto-published draft: spoken → reader p50 {NUMBER} s, p95 {NUMBER} s$",
        r"^targets \(quotes: 1, drafts: 1, batch interval 5 s\): flashed quote p50 ≤ 10 s ",
    ],
    "push": [
        rf"Hub\._push, all on:\s+{NUMBER} µs per reader · +{NUMBER}× baseline",
        rf"a published change through the Hub .* publish → last write p50 {NUMBER} ms; read {NUMBER} ms per change",
    ],
    "push_alerts": [
        rf"publish → last delivery from the worker, 1 rounds: p50 {NUMBER} s, max {NUMBER} s",
        rf"CPU per push: worker {NUMBER} µs, push service emulator {NUMBER} µs",
    ],
    "quotes": [r"fabrications caught \d+/\d+", r"^targets: every fabrication caught: "],
    "recognition": [rf"after: left context\s+{NUMBER}", r"WER vs script"],
    "relay": [
        rf"^ratios relay/daphne floor: added p50 .*, CPU {NUMBER}×$",
        rf"^daphne: CPU {NUMBER} ms per stream-second .* finals \d+/\d+",
        rf"^ relay: CPU {NUMBER} ms per stream-second .* finals \d+/\d+",
        r"^targets: CPU ",
    ],
}
SCALE_OUT_ARGS = {"fanout": ["--mode", "redis"], "page": ["--mode", "redis"]}
# Each starts servers of its own, or decodes speech for most of its run; quotes also runs in tests/drafting.
SLOW = {"confidence", "fanout", "page", "pipeline", "push", "push_alerts", "quotes", "recognition", "relay"}


def bench_env(*, scale_out: bool) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["PYTHONUNBUFFERED"] = "1"
    if not scale_out:
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    return env


def smoke_command(name: str, *, scale_out: bool) -> list[str]:
    args = (SCALE_OUT_ARGS.get(name, ["--scale-out"]) if scale_out else []) + ["--smoke"]
    if name == "fanout" and not scale_out:
        args = ["--mode", "embedded", *args]
    return [sys.executable, "-m", f"bench.{name}", *args]


class Smoke:
    """One bench's smoke run, started in the background."""

    def __init__(self, name: str, *, scale_out: bool, folder: Path):
        self.name = name
        self.out = folder / f"{name}-{'scale-out' if scale_out else 'embedded'}.txt"
        with self.out.open("w") as out:
            self.popen = subprocess.Popen(
                smoke_command(name, scale_out=scale_out),
                cwd=ROOT,
                env=bench_env(scale_out=scale_out),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def output(self, timeout: float = 300) -> str:
        """Its output once it has exited 0 with every key line."""
        returncode = self.popen.wait(timeout)
        out = self.out.read_text()
        assert returncode == 0, f"bench.{self.name} exited {returncode}:\n{out[-5000:]}"
        missing = [line for line in KEY_LINES[self.name] if not re.search(line, out, re.MULTILINE)]
        assert missing == [], f"bench.{self.name} --smoke printed:\n{out}"
        return out

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()  # the bench stops its own processes
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@pytest.fixture(scope="module")
def smokes(request, tmp_path_factory):
    """Every smoke run this session selected, all started at once: they mostly wait on sockets and timers,
    so together they take about as long as the slowest."""
    folder = tmp_path_factory.mktemp("bench-smoke")
    wanted = set()
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.module is request.module and "name" in params:
            wanted.add((params["name"], item.originalname.startswith("test_scale_out")))
    runs = {(name, scale_out): Smoke(name, scale_out=scale_out, folder=folder) for name, scale_out in sorted(wanted)}
    yield runs
    for run in runs.values():
        run.stop()


def marked(names):
    return [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in names]


@pytest.mark.parametrize("name", marked(sorted(KEY_LINES)))
def test_every_bench_runs_its_smoke_mode(name, smokes):
    out = smokes[name, False].output()

    if name == "relay":
        stored = re.search(r"segments stored by the relay: (\d+) \(finals seen by its clients: (\d+)\)", out)
        assert stored and stored.group(1) == stored.group(2) != "0"


def bench_databases() -> set[str]:
    import psycopg

    server = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(server._replace(path="/postgres")), autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [topology.PREFIX + "%"])
        return {name for (name,) in rows}


@pytest.mark.scaleout
@pytest.mark.parametrize("name", marked(["fanout", "page", "pipeline", "push", "relay"]))
def test_scale_out_benches_run_on_a_database_of_their_own_and_drop_it(name, smokes):
    out = smokes[name, True].output()

    made = re.search(rf"scale-out \(PostgreSQL [\w.:]+/({topology.PREFIX}\w+), made for this run", out)
    assert made, out
    assert made.group(1) not in bench_databases()


def test_a_bench_refuses_to_drop_a_database_it_did_not_make():
    with pytest.raises(ValueError, match="did not make it"):
        topology.drop_database("postgres://postgres@127.0.0.1:5432/postgres", "liveblog")
    with pytest.raises(ValueError, match="did not make it"):
        topology.drop_database("postgres://postgres@127.0.0.1:5432/postgres", topology.PREFIX + "fanout_0123abcd")


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_a_bench_stops_every_process_it_started(signum):
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.fanout", "--mode", "embedded", "--smoke"],
        cwd=ROOT,
        env=bench_env(scale_out=False),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started: set[int] = set()
        deadline = time.monotonic() + 120
        # Its Daphne and its two reader processes (three at least), once the steps have begun.
        while len(started) < 3 and bench.poll() is None and time.monotonic() < deadline:
            started |= descendants(bench.pid)
            time.sleep(0.2)
        assert len(started) >= 3, f"the bench started {len(started)} processes"

        bench.send_signal(signum)
        out, _ = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()

    assert bench.returncode == 128 + signum, out
    deadline = time.monotonic() + 5
    while [pid for pid in started if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if alive(pid)] == []
