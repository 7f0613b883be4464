"""A writer turn on PostgreSQL as one prepared statement: the one place the store uses psycopg beneath Django.

Django's cursors bind values on the client and prepare nothing, and a transaction of several
statements is a round trip for BEGIN, each statement and COMMIT. Here the writer's own connection
(`connection.connection`, still opened, wrapped and closed by Django) runs the turn's statements as
one, the others as data-modifying WITH queries of the last: one round trip, committed on its own
(autocommit), bound and prepared on the server once per connection. Why: docs/architecture.md,
*The path of one final result*, step 5.
"""

from __future__ import annotations

import psycopg

from transcription.store.jobs import Statement

# Prepare nothing unasked: only the statement run here asks (`prepare=True`). Django's own cursors
# bind on the client, which never prepares, so the setting changes nothing for them.
_ONLY_WHEN_ASKED = 2**31 - 1


def usable(database) -> bool:
    """Whether `database` (a Django connection) is PostgreSQL over psycopg 3, which this runs on."""
    return database.vendor == "postgresql" and database.Database is psycopg


def run_as_one(database, statements: list[Statement]) -> list[tuple]:
    """The rows of the last statement, with every statement run and committed as one. Statements
    may not write the same row twice: which write would win is not defined. Errors are Django's."""
    sql, params = _as_one(statements)
    database.ensure_connection()
    with database.wrap_database_errors:
        raw = database.connection
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        cursor = psycopg.Cursor(raw)
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []


def _as_one(statements: list[Statement]) -> Statement:
    *before, (last_sql, last_params) = statements
    if not before:
        return last_sql, last_params
    queries = ", ".join(f"j{index} AS ({sql})" for index, (sql, _) in enumerate(before))
    return f"WITH {queries} {last_sql}", [value for _, params in before for value in params] + last_params
