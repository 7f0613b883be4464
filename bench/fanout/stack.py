"""A throwaway liveblog for the readers' benchmarks: its own data folder and database, migrated,
one live event, and a real Daphne serving it."""

import contextlib
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import children, topology

ROOT = Path(__file__).resolve().parents[2]
PUSH_LOG = re.compile(r"change (\d+): (\d+) readers on \d+ cursors, read in ([\d.]+) ms, pushed in ([\d.]+) ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank: the figure every bench prints as p50 / p99."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def wait_port(port: int, process: subprocess.Popen, log_path: str | None = None, timeout: float = 30.0) -> None:
    """Waits until something listens on `port`; fails at once, with the log's tail, if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = Path(log_path).read_text()[-3000:] if log_path else ""
            raise RuntimeError(f"{process.args} exited with {process.returncode}: {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configure(mode: str, redis_url: str | None = None, database_url: str | None = None, purpose: str = "readers"):
    """Point this process (and the children it starts) at a fresh bench installation (bench.topology):
    mode "redis" is the scale-out topology, on a database of the bench's own."""
    return topology.configure(purpose, scale_out=mode == "redis", database_url=database_url, redis_url=redis_url)


def live_event(slug: str = "bench", title: str = "Benchmark keynote"):
    from django.utils import timezone

    from events.models import Event

    # An id and slug no other run used: a shared Redis keys cached answers, channel groups and leases by them.
    return Event.objects.create(
        pk=random.randrange(10**6, 2**31),
        title=title,
        slug=topology.unique_slug(slug),
        status=Event.Status.LIVE,
        starts_at=timezone.now(),
    )


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def celery_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen:
    """A real Celery worker on `env` (quiet), stopped with the bench (bench.children)."""
    command = [sys.executable, "-m", "celery", "-A", "liveblog_site", "worker", "--loglevel=WARNING"]
    command += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"]
    return children.spawn(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


class Daphne:
    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self._log_read, self._pushes = 0, {}
        self.log = tempfile.NamedTemporaryFile(prefix="bench-daphne-", suffix=".log", delete=False)  # noqa: SIM115
        self.popen = children.spawn(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "liveblog_site.asgi:application"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_fd_limit,
        )
        wait_port(self.port, self.popen, self.log.name)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.popen.pid)

    def server_ms(self, change_seq: int) -> tuple[float, float] | None:
        """(read, push) milliseconds this server's Hub logged for a change, or None. Reads only what the log
        gained since the last call: with every reader's connection logged, it grows by megabytes."""
        with open(self.log.name, "rb") as log:
            log.seek(self._log_read)
            gained = log.read()
        whole = gained.rfind(b"\n") + 1
        self._log_read += whole
        for match in PUSH_LOG.finditer(gained[:whole].decode(errors="replace")):
            self._pushes[int(match.group(1))] = float(match.group(3)), float(match.group(4))
        return self._pushes.get(change_seq)

    def stop(self) -> None:
        children.stop(self.popen)
