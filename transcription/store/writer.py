"""The relays' database writer: one thread, over a connection it keeps, for every relay of the process.

`call(func, *args)` runs one call on its own; every `store(job)` (a `jobs.Job`) waiting when
the writer takes its turn is committed in one transaction, and a result is handed back only after its commit. Why one
thread, and how a turn fails: docs/architecture.md, *The path of one final result*, step 5.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)

from transcription import sessions
from transcription.models import Segment
from transcription.store import postgres
from transcription.store.jobs import Call, Job, SaveProgress, StoreFinal


@dataclass
class _Work:
    job: Job
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    together: bool
    outcome: tuple[bool, Any] | None = None


class Writer:
    def __init__(self) -> None:
        self._waiting: list[_Work] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`func(*args, **kwargs)` on the writer thread, on its own."""
        return await self._submit(Call(lambda: func(*args, **kwargs)), together=False)

    async def store(self, job: Job) -> Any:
        """`job.run()` on the writer thread, committed together with the other jobs waiting for it."""
        return await self._submit(job, together=True)

    def _submit(self, job: Job, *, together: bool) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        work = _Work(job, loop, loop.create_future(), together)
        with self._ready:
            self._waiting.append(work)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="relay-writer", daemon=True)
                self._thread.start()
            self._ready.notify()
        return work.future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                turn, self._waiting = self._waiting, []
            try:
                _do(turn)
            except Exception as error:  # a bug here must not leave the callers waiting forever
                for work in turn:
                    if work.outcome is None:
                        work.outcome = (False, error)
            by_loop: dict[asyncio.AbstractEventLoop, list[_Work]] = defaultdict(list)
            for work in turn:
                by_loop[work.loop].append(work)
            for loop, done in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a loop closed meanwhile: nobody waits for these
                    loop.call_soon_threadsafe(_hand_back, done)


def _do(turn: list[_Work]) -> None:
    together = [work for work in turn if work.together]
    if together:
        for work, outcome in zip(together, _store_together([w.job for w in together]), strict=True):
            work.outcome = outcome
    for work in turn:
        if not work.together:
            work.outcome = _call(work.job)


def _hand_back(done: list[_Work]) -> None:
    for work in done:
        if work.future.done():  # its caller gave up waiting
            continue
        assert work.outcome is not None
        ok, value = work.outcome
        if ok:
            work.future.set_result(value)
        else:
            work.future.set_exception(value)


def _call(job: Job) -> tuple[bool, Any]:
    try:
        return True, job.run()
    except (InterfaceError, OperationalError) as error:
        _after_database_error()
        return False, error
    except Exception as error:
        return False, error


def _after_database_error() -> None:
    """Close the kept connection if it no longer works (a database restart), as Django does between
    requests, so the next call reconnects."""
    connection.close_if_unusable_or_obsolete()


def _store_together(jobs: list[Job]) -> list[tuple[bool, Any]]:
    try:
        outcomes = _store_at_once(jobs)
        if outcomes is None:
            with transaction.atomic():
                outcomes = _store_one_by_one(jobs)
        return outcomes
    except (InterfaceError, OperationalError) as error:
        _after_database_error()
        return [(False, error)] * len(jobs)


def _store_at_once(jobs: list[Job]) -> list[tuple[bool, Any]] | None:
    """The usual turn, without a savepoint; None when any error but the database's (another relay's
    final in between, a job's own error) rolled it back, for `_store_one_by_one`."""
    try:
        # This thread's connection itself: every use of the `connection` proxy looks it up again.
        database = connections[DEFAULT_DB_ALIAS]
        if postgres.usable(database) and (outcomes := _store_in_one_trip(database, jobs)) is not None:
            return outcomes
        with transaction.atomic():
            rows = _rows(jobs)
            if rows:
                sessions.insert_segments(list(rows.values()))
            return [(True, rows[index]) if index in rows else (True, job.run()) for index, job in enumerate(jobs)]
    except (InterfaceError, OperationalError):
        raise
    except Exception:
        return None


def _store_in_one_trip(database, jobs: list[Job]) -> list[tuple[bool, Any]] | None:
    """The usual turn on PostgreSQL, as one statement (`store.postgres`): the finals that follow on and
    the other jobs' statements; None, with nothing run, when a job has no statement (a stream's first
    final) or two write one row (two figures saves of a session, in a takeover)."""
    saves = [job.session_id for job in jobs if isinstance(job, SaveProgress)]
    if len(saves) != len(set(saves)):
        return None
    rows = _rows(jobs)
    statements = []
    for index, job in enumerate(jobs):
        if index not in rows:
            statement = job.statement(database)
            if statement is None:
                return None
            statements.append(statement)
    if rows:
        statements.append(sessions.insert_statement(list(rows.values()), database))
    keys = postgres.run_as_one(database, statements)
    if rows:
        sessions.set_inserted_keys(list(rows.values()), keys, database.alias)
    return [(True, rows.get(index)) for index in range(len(jobs))]


def _store_one_by_one(jobs: list[Job]) -> list[tuple[bool, Any]]:
    rows = _rows(jobs)
    if rows:
        try:
            with transaction.atomic():
                sessions.insert_segments(list(rows.values()))
        except IntegrityError:
            rows = {}  # another relay stored in between (a takeover): each goes its own way below
    outcomes: dict[int, tuple[bool, Any]] = {index: (True, row) for index, row in rows.items()}
    for index, job in enumerate(jobs):
        if index in outcomes:
            continue
        try:
            with transaction.atomic():
                outcomes[index] = (True, job.run())
        except (InterfaceError, OperationalError):
            raise
        except Exception as error:
            outcomes[index] = (False, error)
    return [outcomes[index] for index in range(len(jobs))]


def _rows(jobs: list[Job]) -> dict[int, Segment]:
    """The unsaved segment of each final that follows straight on (`StoreFinal.row`), by its place in the turn."""
    rows = {}
    for index, job in enumerate(jobs):
        if not isinstance(job, StoreFinal):
            continue
        try:
            segment = job.row()
        except Exception:
            segment = None  # the job goes its own way, where its error is its own
        if segment is not None:
            rows[index] = segment
    return rows


writer = Writer()


def close_connection() -> None:
    """Run on the writer (`writer.call(close_connection)`): let its kept connection go."""
    connection.close()
