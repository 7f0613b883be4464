"""Threads released together, as racing workers or requests are, each with its own database connection."""

import threading

from django.db import connection


def at_once(work, count: int) -> list[object]:
    """`work(n)` in `count` threads released together: what each returned or raised."""
    start = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(n: int) -> None:
        try:
            start.wait()
            outcomes[n] = work(n)
        except BaseException as exc:  # kept for the test to look at
            outcomes[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
