"""The web process, the worker and beat on a new data folder: each stops at once, in one line naming the command
that prepares the folder, and creates nothing; once the command ran, each starts."""

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, child_env, free_port, start_beat, start_daphne, start_worker, wait_until

COMMAND = "python -m liveblog_site.datadir"
PROCESSES = {
    "web": ["daphne", "-b", "127.0.0.1", "-p", str(free_port()), "liveblog_site.asgi:application"],
    "worker": ["celery", "-A", "liveblog_site", "worker", "--loglevel=INFO", "--concurrency=1"],
    "beat": ["celery", "-A", "liveblog_site", "beat", "--loglevel=INFO"],
}


def run_module(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("secret_key", [None, "k" * 60], ids=["key file", "SECRET_KEY set"])
@pytest.mark.parametrize("process", PROCESSES)
def test_a_process_on_a_new_data_folder_stops_in_one_line_naming_the_command(tmp_path, process, secret_key):
    data = tmp_path / "data"
    data.mkdir()
    result = run_module(PROCESSES[process], child_env(LIVEBLOG_DATA_DIR=str(data), SECRET_KEY=secret_key))
    assert result.returncode != 0
    assert result.stderr.startswith(f"The data folder {data} is not prepared (no ")
    assert result.stderr.endswith(f"): run `{COMMAND}` first\n") and result.stderr.count("\n") == 1, result.stderr
    assert list(data.iterdir()) == []


@pytest.mark.slow
def test_once_the_command_ran_each_process_starts(tmp_path, django_db_setup):
    data = str(tmp_path / "data")
    prepared = run_module(COMMAND.split()[2:], child_env(LIVEBLOG_DATA_DIR=data))
    assert prepared.returncode == 0 and prepared.stderr == "", prepared.stderr
    web, _port = start_daphne(LIVEBLOG_DATA_DIR=data)
    worker, beat = start_worker(LIVEBLOG_DATA_DIR=data), start_beat(LIVEBLOG_DATA_DIR=data)
    try:
        wait_until(lambda: " ready." in worker.output(), 60, worker, what="the worker to be ready")
        wait_until(lambda: "beat: Starting" in beat.output(), 60, beat, what="beat to start")
        assert all(process.popen.poll() is None for process in (web, worker, beat))
    finally:
        for process in (web, worker, beat):
            process.stop()
    for process in (web, worker, beat):
        process.assert_no_traceback()
