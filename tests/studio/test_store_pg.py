"""The relay's writer thread keeps one database connection; when PostgreSQL drops it, no final is lost."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from transcription.models import Segment, StreamSession
from transcription.speech.base import Transcript
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
