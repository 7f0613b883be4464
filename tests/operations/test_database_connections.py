"""What requests leave behind in PostgreSQL: Daphne runs each request's database work on a thread of
its own, so a connection kept open after the request would outlive it until the thread's objects are
collected, and a stream of requests would use up the server's connections."""

import httpx
import pytest
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
            for number in range(1500):
                # An unknown event: the answer reads the database every time (nothing to cache).
                response = http.get(f"/events/no-such-event-{number % 50}/posts.json")
                assert response.status_code == 404
            after = _database_clients()
    finally:
        daphne.stop()
    daphne.assert_no_traceback()
    print(f"database clients before {before}, after 1,500 requests {after}")
    assert after - before <= 2
