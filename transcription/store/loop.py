"""Finals and figures saves stored on the event loop's own thread, on SQLite, when its write lock is free.

The store (`queue`) tries a job here once, and sends it to the writer thread when this says
no; `STUDIO_STORE_ON_LOOP` switches it off. Why and how: docs/architecture.md, *The path of one
final result*, step 5.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import weakref
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from transcription import sessions
from transcription.store.jobs import Job, Statement, StoreFinal

logger = logging.getLogger(__name__)


def try_store(job: Job) -> tuple[bool, Any]:
    """(True, result) when `job` was committed on this loop now; (False, None) when the writer must run it."""
    if not settings.STUDIO_STORE_ON_LOOP:
        return False, None
    loop_store = _for_this_loop()
    return loop_store.run(job) if loop_store is not None else (False, None)


def close() -> None:
    """Let this loop's connection go, once no stream is left in the process."""
    loop_store = _stores.get(asyncio.get_running_loop())
    if loop_store is not None:
        loop_store.close()


# A loop's store, or None where the loop cannot store (not SQLite, or no INSERT ... RETURNING).
_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopStore | None] = weakref.WeakKeyDictionary()


def _for_this_loop() -> _LoopStore | None:
    loop = asyncio.get_running_loop()
    if loop not in _stores:
        # Used for its settings and field conversions only: it never connects.
        database = connections.create_connection(DEFAULT_DB_ALIAS)
        usable = database.vendor == "sqlite" and database.features.can_return_rows_from_bulk_insert
        _stores[loop] = _LoopStore(database) if usable else None
    return _stores[loop]


class _LoopStore:
    """A loop's connection and the settings its values are converted with; it holds no reference to
    its loop (the key of `_stores`), so a finished loop can go."""

    def __init__(self, database) -> None:
        self.database = database
        self._opened: tuple[str, sqlite3.Connection | None] | None = None  # (file name, connection)

    def run(self, job: Job) -> tuple[bool, Any]:
        """Insert a final's row or run a job's statement, committed: see `try_store`."""
        try:  # an error here is the job's own: the writer runs it, and fails it there
            if isinstance(job, StoreFinal):
                segment = job.row()
                statement = sessions.insert_statement([segment], self.database) if segment is not None else None
            else:
                segment, statement = None, job.statement(self.database)
        except Exception:
            return False, None
        if statement is None:
            return False, None
        rows = self._write(statement)
        if rows is None:
            return False, None
        if segment is None:
            return True, None
        sessions.set_inserted_keys([segment], rows, self.database.alias)
        return True, segment

    def close(self) -> None:
        if self._opened is not None and self._opened[1] is not None:
            self._opened[1].close()
        self._opened = None

    def _write(self, statement: Statement) -> list | None:
        """The rows of `statement`, run and committed; None if the lock was taken or anything failed."""
        database = self._connection()
        if database is None:
            return None
        try:
            database.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return None  # the write lock is taken: the writer waits for it
        try:
            sql, params = statement
            rows = database.execute(sql.replace("%s", "?"), params).fetchall()
            database.execute("COMMIT")
        except Exception as error:  # the writer runs the job instead (or fails it, logged)
            if not isinstance(error, sqlite3.IntegrityError):  # another relay stored in between: the writer sorts it
                logger.warning("storing on the event loop failed, the writer does it: %s", error)
            with contextlib.suppress(sqlite3.Error):
                database.execute("ROLLBACK")
            return None
        return rows

    def _connection(self) -> sqlite3.Connection | None:
        """The connection to the database's file; None if there is none or it is not in WAL mode."""
        name = self.database.settings_dict["NAME"]
        if self._opened is not None and self._opened[0] == name:
            return self._opened[1]
        self.close()
        connection = None
        try:
            connection = sqlite3.connect(name, timeout=0, isolation_level=None)
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA wal_autocheckpoint = 0")
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        except sqlite3.Error as error:
            logger.warning("no connection for storing finals on the event loop: %s", error)
            mode = None
        if mode != "wal" and connection is not None:
            connection.close()
            connection = None
        self._opened = (name, connection)
        return connection
