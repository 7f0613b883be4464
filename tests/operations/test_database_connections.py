"""What requests leave behind in PostgreSQL: Daphne runs each request's database work on a thread of
its own, so a connection kept per thread would outlive the request, and a stream of requests would use up
the server's connections. Each process's pool bounds them instead."""

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.support.processes import start_daphne


def _database_clients() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.scaleout
@pytest.mark.django_db(transaction=True)
def test_requests_that_read_the_database_leave_no_connection_open():
    daphne, port = start_daphne()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            before = _database_clients()
            counts = []
            for number in range(1500):
                # An unknown event: the answer reads the database every time (nothing to cache).
                response = http.get(f"/events/no-such-event-{number % 50}/posts.json")
                assert response.status_code == 404
                if number % 500 == 499:
                    counts.append(_database_clients())
    finally:
        daphne.stop()
    daphne.assert_no_traceback()
    print(f"database clients before {before}, after 500, 1,000 and 1,500 requests {counts}")
    assert counts[-1] - before <= settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert counts[0] == counts[1] == counts[2], "the pool reuses its connections: none added per request"
