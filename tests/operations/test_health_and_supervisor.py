"""Operating the newsroom: health checks and the supervisor that keeps the processes up."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.factories import live_event
from tests.support.netclients import ReaderSocket
from tests.support.processes import ROOT, child_env, free_port, start_daphne, wait_for_port


@pytest.mark.django_db
def test_healthz_reports_database_channel_layer_and_broker(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["ok"] is True
    assert set(body["checks"]) == {"database", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_reports_an_unreachable_redis_as_unhealthy():
    code = (
        "import django, json; django.setup(); from liveblog_site.health import run_checks; "
        "print(json.dumps(run_checks()))"
    )
    env = child_env(REDIS_URL="redis://127.0.0.1:1/0", DJANGO_SETTINGS_MODULE="liveblog_site.settings")
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    checks = json.loads(result.stdout.strip().splitlines()[-1])
    assert checks["database"]["ok"] is True
    assert checks["channel_layer"]["ok"] is False
    assert checks["broker"]["ok"] is False
    assert "Error" in checks["broker"]["detail"]


@pytest.mark.scaleout
@pytest.mark.django_db
def test_healthz_on_redis_and_postgres(client):
    body = client.get("/healthz").json()
    assert body["ok"] is True
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert body["checks"]["channel_layer"]["detail"] == "RedisPubSubChannelLayer"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_daphne_stops_cleanly_with_a_request_half_received_and_a_reader_connected(django_user_model):
    """Daphne 4.2's shutdown raised KeyError on a connection without a running application and then
    cancelled none of the others (liveblog_site/asgi.py replaces it)."""
    event = live_event(django_user_model.objects.create_user("journalist"), slug="keynote", title="Keynote")
    daphne, port = start_daphne()
    base = f"http://127.0.0.1:{port}"
    try:
        reader = ReaderSocket(base, event.slug)  # accepted: its consumer is running
        with socket.create_connection(("127.0.0.1", port)) as half_request:
            half_request.sendall(b"GET /events/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)  # the request line is in; its headers never end
            daphne.stop()
            assert daphne.popen.returncode == 0, daphne.output()
        assert reader.wait_closed(timeout=10) in (1001, 1006, 1012)
    finally:
        daphne.stop()
    daphne.assert_no_traceback()


def _program_pid(run_dir, program: str) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", "liveblog_site/supervisord.conf", "pid", program],
        cwd=ROOT,
        env={**os.environ, "LIVEBLOG_RUN_DIR": str(run_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    return int(result.stdout.strip() or 0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_supervisor_restarts_a_crashed_process_and_stops_all_on_ctrl_c(tmp_path):
    port = free_port()
    env = child_env(
        LIVEBLOG_PORT=str(port),
        LIVEBLOG_HOST="127.0.0.1",
        LIVEBLOG_RUN_DIR=str(tmp_path),
        LIVEBLOG_DAPHNE_PROXY_HEADERS="",  # as scripts/run.sh sets it without BEHIND_PROXY
    )
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", "liveblog_site/supervisord.conf"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        web_pid = _program_pid(tmp_path, "web")
        assert web_pid > 0
        os.kill(web_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        new_pid = 0
        while time.monotonic() < deadline:
            new_pid = _program_pid(tmp_path, "web")
            if new_pid and new_pid != web_pid:
                break
            time.sleep(0.5)
        assert new_pid and new_pid != web_pid, "web was not restarted"
        wait_for_port(port, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert json.load(response)["checks"]["database"]["ok"] is True
        children = [_program_pid(tmp_path, name) for name in ("web", "worker", "beat", "follower")]
        assert all(children)
    finally:
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait(timeout=60)
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
