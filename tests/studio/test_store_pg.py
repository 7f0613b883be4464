"""The relay's writer thread on PostgreSQL: one kept connection, when PostgreSQL drops it no final is lost,
and a turn is one transaction of prepared statements."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.studio.test_storage import (
    _first_finals,
    _in_one_turn,
    each_final_of_a_turn_goes_its_own_way_after_another_relay_stored,
    stored,
)
from transcription.models import Segment, StreamSession
from transcription.speech.base import Transcript
from transcription.store.jobs import SaveProgress
from transcription.store.queue import StoreQueue
from transcription.store.writer import close_connection, writer

pytestmark = [pytest.mark.scaleout, pytest.mark.django_db(transaction=True)]


def _writer_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _final(text: str, start: float) -> Transcript:
    return Transcript(text=text, start=start, end=start + 1, is_final=True)


async def test_a_final_is_stored_once_after_the_database_drops_the_writers_connection(event, journalist):
    session = await StreamSession.objects.acreate(event=event, journalist=journalist, provider="offline")
    stored: list[Segment] = []
    queue = StoreQueue(max_seconds=120)

    async def store(text: str, start: float) -> None:
        stored.append(queue.add_final(session.pk, event.pk, _final(text, start), None))

    await store("Before.", 0.0)
    assert await queue.drain(timeout=30)
    writer_pid = await writer.call(_writer_backend_pid)

    def terminate() -> bool:  # from another thread's connection, as a database restart would
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [writer_pid])
            return cursor.fetchone()[0]

    assert await sync_to_async(terminate)() is True
    await store("After.", 1.0)
    assert await queue.drain(timeout=30)
    assert [s.result().sequence for s in stored] == [0, 1] and await writer.call(_writer_backend_pid) != writer_pid
    texts = [s.text async for s in Segment.objects.filter(session=session).order_by("sequence")]
    assert texts == ["Before.", "After."]
    # Connections kept by the writer and by the async ORM's thread would hold the test database open.
    await writer.call(close_connection)
    await sync_to_async(close_connection)()


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def _transactions_of(session_ids: list[int], sequence: int) -> set[str]:
    """The transactions that last wrote these sessions' rows and their segment `sequence`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM transcription_streamsession WHERE id = ANY(%s)", [session_ids])
        written = {xmin for (xmin,) in cursor.fetchall()}
        cursor.execute(
            "SELECT xmin::text FROM transcription_segment WHERE session_id = ANY(%s) AND sequence = %s",
            [session_ids, sequence],
        )
        return written | {xmin for (xmin,) in cursor.fetchall()}


async def test_a_turn_of_finals_and_figures_saves_is_one_prepared_statement(event, journalist, other_journalist):
    streams = await _first_finals(event, (journalist, other_journalist))
    figures = {"audio_seconds": 12.5, "reconnects": 1, "dropped_audio_seconds": 0.0, "request_ids": ["r1"]}
    saves = [SaveProgress(stream.session.pk, figures) for stream in streams]
    outcomes = await _in_one_turn([*(stream.following("Next.") for stream in streams), *saves])
    assert [s.sequence for s in outcomes[:2]] == [1, 1] and all(s.pk for s in outcomes[:2])
    assert outcomes[2:] == [None, None]
    for stream in streams:
        assert [s.text for s in await stored(stream.session.pk)] == ["First.", "Next."]
        session = await StreamSession.objects.aget(pk=stream.session.pk)
        assert (session.audio_seconds, session.reconnects, session.request_ids) == (12.5, 1, ["r1"])
    ids = [stream.session.pk for stream in streams]
    assert len(await sync_to_async(_transactions_of)(ids, 1)) == 1, "one commit for the turn"
    prepared = await writer.call(_prepared_statements)
    assert any("INSERT INTO" in statement and "UPDATE" in statement for statement in prepared), prepared
    await _close_connections()


async def test_when_another_relay_stored_in_between_each_final_of_a_turn_goes_its_own_way(event, journalist):
    await each_final_of_a_turn_goes_its_own_way_after_another_relay_stored(event, journalist)  # the ORM path again
    await _close_connections()


async def test_two_saves_of_one_sessions_figures_in_a_turn_leave_the_later(event, journalist):
    session = await StreamSession.objects.acreate(event=event, journalist=journalist, provider="offline")
    figures = {"audio_seconds": 1.0, "reconnects": 0, "dropped_audio_seconds": 0.0, "request_ids": []}
    later = {**figures, "audio_seconds": 2.0, "reconnects": 1}
    await _in_one_turn([SaveProgress(session.pk, figures), SaveProgress(session.pk, later)])
    session = await StreamSession.objects.aget(pk=session.pk)
    assert (session.audio_seconds, session.reconnects) == (2.0, 1)
    await _close_connections()


async def _close_connections() -> None:
    # Connections kept by the writer and by the async ORM's thread would hold the test database open.
    await writer.call(close_connection)
    await sync_to_async(close_connection)()
