"""Real processes for the tests: Daphne, a Celery worker and beat, sharing the test database.

Each process gets the environment of the test run, pointed at the database pytest-django made,
and its output is kept so a test can assert that no traceback was logged.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, process: "Process | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.output()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


def empty_broker_queue() -> None:
    """Start a worker's queue empty: messages left by earlier tests point at rows that no longer exist,
    and a fresh worker would work through them before anything the test sends."""
    folder = settings.BROKER_DIR / "in"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def wait_until(check: Callable[[], object], timeout: float = 30.0, *processes: "Process", what: str = "") -> None:
    """Poll `check` until it holds; past `timeout` s, fail with the tail of each process's log."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "".join(f"\n--- {p.name}\n{p.output()[-4000:]}" for p in processes)
            pytest.fail(f"timed out after {timeout} s waiting for {what or 'the condition'}{logs}")
        time.sleep(0.2)


def test_database_env() -> dict[str, str]:
    """Environment that points a child process at the database this test run uses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(db["NAME"])}
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {"DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"}


def child_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(test_database_env())
    env["LIVEBLOG_DATA_DIR"] = str(settings.DATA_DIR)
    env["HTTPS"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def prepare_data_dir(env: dict[str, str]) -> None:
    """What the run command does first, for the data folder `env` names: its folders and secret key."""
    subprocess.run([sys.executable, "-m", "liveblog_site.datadir"], cwd=ROOT, env=env, check=True, capture_output=True)


def settings_in_child(extra_env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    """`expression` over the settings (`s`) printed by a fresh Python that reads them from the test run's
    environment, less what the test run sets for itself, plus `extra_env`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "HTTPS", "REDIS_URL", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY"}
    }
    env.update(extra_env)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'liveblog_site.settings'; django.setup(); "
        f"from django.conf import settings as s; print({expression})"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str]):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def assert_no_traceback(self) -> None:
        text = self.output()
        assert "Traceback (most recent call last)" not in text, f"{self.name} logged a traceback:\n{text[-5000:]}"

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, not a shutdown."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def start_daphne(port: int | None = None, **env: str) -> tuple[Process, int]:
    port = port or free_port()
    process = Process(
        "daphne",
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "liveblog_site.asgi:application"],
        child_env(**env),
    )
    wait_for_port(port, process=process)
    return process, port


def start_worker(name: str = "worker", concurrency: int = 1, **env: str) -> Process:
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "liveblog_site",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--hostname={name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--pool=prefork",
        ],
        child_env(**env),
    )
    return process


def start_beat(**env: str) -> Process:
    schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
    return Process(
        "beat",
        [sys.executable, "-m", "celery", "-A", "liveblog_site", "beat", "--loglevel=INFO", f"--schedule={schedule}"],
        child_env(**env),
    )
