"""/healthz against real processes: what it tells anyone who asks when its backends are down, and
what a load balancer's calls leave behind."""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from django.db import connection

from tests.support.processes import free_port, start_daphne

CHECKS = {"database", "channel_layer", "broker"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_without_hosts_users_or_error_text_when_its_backends_are_down():
    redis_port, postgres_port = free_port(), free_port()  # nothing listens on either
    daphne, port = start_daphne(
        REDIS_URL=f"redis://cache-user:cache-secret@127.0.0.1:{redis_port}/0",
        DATABASE_URL=f"postgres://db-user:db-secret@127.0.0.1:{postgres_port}/newsroom_db",
    )
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert body["ok"] is False
        assert body["checks"].keys() == CHECKS
        assert all(
            check == {"ok": False, "detail": "unavailable", "ms": check["ms"]} for check in body["checks"].values()
        )
        for secret in (
            "127.0.0.1",
            str(redis_port),
            str(postgres_port),
            "user",
            "secret",
            "newsroom_db",
            "rror",
            "refused",
        ):
            assert secret not in response.text, secret
        assert "no-cache" in response.headers["Cache-Control"]
        # The reason is the operator's, in the server's log.
        log = daphne.output()
        for name in CHECKS:
            assert f"health check {name} failed" in log, name
        assert str(redis_port) in log and str(postgres_port) in log
    finally:
        daphne.stop()


def _held(url: str, pid: int) -> dict[str, int]:
    """What one process holds in Redis (its clients are those on its database: each engineer's
    Redis database is its own) and PostgreSQL, and how much memory it has."""
    db = int(urlsplit(url).path.strip("/") or 0)
    server = redis.Redis.from_url(url)
    try:
        ours = [client for client in server.client_list() if int(client["db"]) == db and client["cmd"] != "client|list"]
    finally:
        server.close()
    status = Path(f"/proc/{pid}/status").read_text()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        database_clients = cursor.fetchone()[0]
    return {
        "database_clients": database_clients,
        "clients": len(ours),
        "subscriptions": sum(int(client["sub"]) + int(client["psub"]) for client in ours),
        "rss_kib": int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)),
    }


@pytest.mark.scaleout
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_health_checks_leave_redis_subscriptions_and_memory_as_they_were():
    daphne, port = start_daphne()
    url = os.environ["REDIS_URL"]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            def calls(count: int) -> None:
                for _ in range(count):
                    response = http.get("/healthz")
                    assert response.status_code == 200, response.text
                    assert response.json()["checks"]["channel_layer"]["detail"] == "RedisPubSubChannelLayer"

            calls(500)  # the allocator and every pool settle
            before = _held(url, daphne.popen.pid)
            calls(10_000)
            after = _held(url, daphne.popen.pid)
    finally:
        daphne.stop()
    daphne.assert_no_traceback()
    print(f"healthz x10,000: before {before}, after {after}")
    assert after["subscriptions"] == before["subscriptions"] <= 1
    assert after["clients"] == before["clients"]
    assert after["database_clients"] <= before["database_clients"]
    # Daphne grows by a little per request of any kind (a static file's included); a check that kept
    # its channel, or its connection, grows by several times that.
    assert after["rss_kib"] - before["rss_kib"] < 2 * 10_000
