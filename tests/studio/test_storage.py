"""A stream rides out a database that refuses its writes: finals wait in order, the journalist is told,
and past the bound the stream stops with 4504 (the outage drills are tests/operations/test_outages_scaleout.py)."""

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import OperationalError, connection

from publishing.models import Alert
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription import sessions
from transcription.models import Segment, StreamSession, spoken_at
from transcription.protocol import Close
from transcription.speech.base import Transcript
from transcription.store.jobs import Call, Job, SaveProgress, StoreFinal
from transcription.store.queue import StoreQueue
from transcription.store.writer import writer

SEGMENTS = Segment._meta.db_table
HIDDEN = f"{SEGMENTS}_away"


class Database:
    """A writer that refuses every write while `down`, as a stopped server does, and keeps what it stored:
    a final's text, or what a `Call` returns."""

    def __init__(self):
        self.down = False
        self.tries = 0
        self.stored: list[str] = []

    async def run(self, job) -> str:
        self.tries += 1
        if self.down:
            raise OperationalError("connection refused")
        item = job.result.text if isinstance(job, StoreFinal) else job.run()
        self.stored.append(item)
        return item


def not_on_the_loop(job) -> tuple[bool, Any]:
    return False, None


def final(text: str, start: float) -> Transcript:
    return Transcript(text=text, start=start, end=start + 1, is_final=True)


async def watch(queue: StoreQueue, told: list) -> None:
    """What a relay hears of the queue: its state at each change."""
    while True:
        await queue.changed()
        told.append((queue.delayed, queue.waiting_finals, queue.overflowed))


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_queue_holds_finals_in_order_while_the_database_is_down_and_stores_each_once():
    database, told = Database(), []
    queue = StoreQueue(
        max_seconds=10,
        first_retry=0.01,
        last_retry=0.04,
        try_on_loop=not_on_the_loop,
        run_on_writer=database.run,
    )
    watcher = asyncio.create_task(watch(queue, told))
    database.down = True
    stored = []
    for n in range(5):
        stored.append(queue.add_final(1, 1, final(f"final {n}", n), None))
        queue.add(Call(lambda n=n: f"progress {n}"), key="progress")
        while database.tries <= n:  # the head is tried again and again, nothing behind it overtakes
            await asyncio.sleep(0.01)
    await settled()
    assert database.stored == [] and not any(f.done() for f in stored) and queue.delayed
    assert queue.waiting_finals == 5 and queue.waiting_seconds == 5
    assert told[0][0] is True and told[-1] == (True, 5, False)

    database.down = False
    assert await queue.drain(timeout=10)
    await settled()
    # One progress save survives: the later figures replaced the earlier ones still waiting.
    assert database.stored == ["final 0", "progress 4", "final 1", "final 2", "final 3", "final 4"]
    assert [f.result() for f in stored] == [f"final {n}" for n in range(5)]
    assert told[-1] == (False, 0, False)

    # Past the bound (stream time covered by the finals waiting), the queue says so, once.
    database.down = True
    for n in range(12):
        queue.add_final(1, 1, final(f"late {n}", 100 + n), None)
    while not queue.overflowed:
        await queue.changed()
    assert queue.waiting_seconds > queue.max_seconds
    database.down = False
    assert await queue.drain(timeout=10)
    assert database.stored[6:] == [f"late {n}" for n in range(12)]
    watcher.cancel()


async def test_a_final_with_nothing_ahead_is_stored_at_once_and_one_behind_a_job_waits_its_turn():
    database = Database()
    refuse_at_once = False
    on_loop: list[str] = []
    loop_tries = 0

    def at_once(job):
        nonlocal loop_tries
        loop_tries += 1
        if refuse_at_once or not isinstance(job, StoreFinal):
            return False, None
        on_loop.append(job.result.text)
        return True, job.result.text

    queue = StoreQueue(max_seconds=10, try_on_loop=at_once, run_on_writer=database.run)
    first = queue.add_final(1, 1, final("first", 0), None)
    assert first.done() and first.result() == "first", "stored before add_final returned, with no turn of the loop"

    queue.add(Call(lambda: "progress", together=True), key="progress")  # queued, not yet run
    second = queue.add_final(1, 1, final("second", 1), None)
    assert not second.done() and queue.waiting_finals == 1, "behind a queued job, a final waits its turn"
    assert await queue.drain(timeout=5)
    assert on_loop == ["first", "second"] and database.stored == ["progress"], "the loop refused the save"
    assert second.result() == "second" and queue.last == "second"

    refuse_at_once = True  # as when the write lock is taken: the writer stores it, the loop is not tried again
    third = queue.add_final(1, 1, final("third", 2), None)
    assert not third.done()
    assert await queue.drain(timeout=5)
    assert database.stored[-1] == "third" and third.result() == "third" and database.tries == 2
    assert loop_tries == 4, "each job tried on the loop once"


async def test_a_final_given_up_on_is_cancelled_and_one_that_fails_carries_its_error():
    database = Database()
    database.down = True
    queue = StoreQueue(
        max_seconds=10, first_retry=0.01, last_retry=0.02, try_on_loop=not_on_the_loop, run_on_writer=database.run
    )
    waiting = queue.add_final(1, 1, final("lost", 0), None)
    assert not await queue.drain(timeout=0.1)
    assert waiting.cancelled()

    async def broken(job):
        raise ValueError("not the database")

    queue = StoreQueue(max_seconds=10, try_on_loop=not_on_the_loop, run_on_writer=broken)
    failed = queue.add_final(1, 1, final("bad", 0), None)
    assert await queue.drain(timeout=5)
    assert isinstance(failed.exception(), ValueError)


def utterance(n: int) -> bytes:
    return word_audio([n]) + silence(0.5)


@sync_to_async
def refuse_segments() -> None:
    """The database refuses every segment write: the table is away, as for a real error from the server."""
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{SEGMENTS}" RENAME TO "{HIDDEN}"')


@sync_to_async
def accept_segments() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{HIDDEN}" RENAME TO "{SEGMENTS}"')


@sync_to_async
def stored(session_id: int) -> list[Segment]:
    return list(Segment.objects.filter(session_id=session_id).order_by("sequence"))


def storage_states(studio: Studio) -> list[str]:
    states = [m["storage"] for m in studio.messages if m["type"] == "status"]
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_finals_wait_while_the_database_refuses_them_and_are_stored_in_order_after(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(utterance(1))
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and m["text"] == "word1")
    await refuse_segments()
    try:
        for n in range(2, 6):
            await studio.audio(utterance(n))
        delayed = await studio.wait_for(lambda m: m["type"] == "status" and m["waiting"] == 4)
        assert delayed["storage"] == "delayed"
        assert [f["text"] for f in studio.finals()] == ["word1"], "nothing is shown as stored before it is"
    finally:
        await accept_segments()
    await studio.wait_for(lambda m: m["type"] == "status" and m["storage"] == "saved" and m["waiting"] == 0)
    await studio.audio(utterance(6))
    await studio.stop()

    segments = await stored(ready["session"])
    assert [s.text for s in segments] == [f"word{n}" for n in range(1, 7)]
    assert [s.sequence for s in segments] == list(range(6))
    assert all(a.end <= b.start for a, b in pairwise(segments))
    assert [f["segment"] for f in studio.finals()] == [s.pk for s in segments]
    assert storage_states(studio) == ["saved", "delayed", "saved"]
    assert studio.close_code == 1000
    await studio.disconnect()


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_past_the_bound_the_stream_stops_with_storage_unavailable(deepgram, event, journalist, settings):
    settings.STUDIO_STORE_BACKLOG_SECONDS = 3
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await refuse_segments()
    try:
        for n in range(1, 8):
            await studio.audio(utterance(n))
            if studio.close_code is not None:
                break
        code = await studio.wait_closed()
    finally:
        await accept_segments()
    assert code == Close.STORAGE_UNAVAILABLE == 4504
    [error] = studio.errors()
    assert error["code"] == "storage_unavailable" and "audio is archived" in error["message"]
    assert studio.finals() == []

    async def ended() -> StreamSession:
        while (session := await StreamSession.objects.aget(pk=ready["session"])).status == "live":
            await asyncio.sleep(0.1)
        return session

    session = await asyncio.wait_for(ended(), 30)
    assert session.status == StreamSession.Status.FAILED and "could not be saved" in session.last_error
    segments = await stored(ready["session"])
    assert [s.sequence for s in segments] == list(range(len(segments))), "whatever was stored, in order, once"
    # The desk hears why, once the database takes writes again.
    alerts = Alert.objects.filter(event=event, kind=Alert.Kind.STORAGE_UNAVAILABLE)
    while not await alerts.aexists():
        await asyncio.sleep(0.1)
    alert = await alerts.aget()
    assert f"Stream {ready['session']} from {journalist.username} stopped" in alert.message
    assert "database stayed unreachable" in alert.message
    await studio.disconnect()


def _turn_of_the_writer() -> tuple[bool, int]:
    """Whether a job runs inside a transaction, and which (the outermost atomic block is one per transaction)."""
    return connection.in_atomic_block, id(connection.atomic_blocks[0])


def _add_group(name: str):
    return Group.objects.create(name=name).name


def _refuse():
    raise OperationalError("connection refused")


def _fail():
    raise ValueError("not the database")


@contextlib.asynccontextmanager
async def writer_held():
    """The writer thread kept busy until the block ends."""
    busy, go_on = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        go_on.wait(10)

    held = asyncio.ensure_future(writer.call(hold))
    await asyncio.to_thread(busy.wait, 10)
    try:
        yield
    finally:
        go_on.set()
        await held


async def _in_one_turn(jobs: list[Job]) -> list[Any]:
    """Store `jobs` as one turn of the writer (it is held busy until all of them wait); their
    results, or the exceptions they raised."""
    async with writer_held():
        stores = [asyncio.ensure_future(writer.store(job)) for job in jobs]
        await asyncio.sleep(0)
    return list(await asyncio.gather(*stores, return_exceptions=True))


@pytest.mark.django_db(transaction=True)
async def test_finals_waiting_for_the_writer_together_are_committed_in_one_transaction():
    turns = await _in_one_turn([Call(_turn_of_the_writer, together=True)] * 4)
    assert all(inside for inside, _ in turns)
    assert len({block for _, block in turns}) == 1, "one commit for the four finals"


def _together(*funcs: Callable[[], Any]) -> list[Job]:
    return [Call(func, together=True) for func in funcs]


@pytest.mark.django_db(transaction=True)
async def test_a_database_error_in_a_group_commit_stores_none_of_its_jobs_and_fails_each():
    outcomes = await _in_one_turn(_together(lambda: _add_group("first"), _refuse, lambda: _add_group("third")))
    assert all(isinstance(outcome, OperationalError) for outcome in outcomes), "each is retried by its own queue"
    assert not await Group.objects.filter(name__in=["first", "third"]).aexists(), "none half stored"


@pytest.mark.django_db(transaction=True)
async def test_another_error_in_a_group_commit_fails_only_its_own_job():
    outcomes = await _in_one_turn(_together(lambda: _add_group("first"), _fail, lambda: _add_group("third")))
    assert outcomes[0] == "first" and outcomes[2] == "third"
    assert isinstance(outcomes[1], ValueError)
    assert {g.name async for g in Group.objects.filter(name__in=["first", "third"])} == {"first", "third"}


class Stream:
    """A stream's store as a relay holds it, and the segments it heard were stored."""

    def __init__(self, session: StreamSession):
        self.session = session
        self.stored: list[Segment] = []
        self.store = StoreQueue(max_seconds=60)

    def following(self, text: str, **fields: Any) -> StoreFinal:
        """The final after the last one stored, as the store hands it to the writer."""
        after = self.stored[-1]
        result = Transcript(text=text, start=after.end, end=after.end + 1, is_final=True, **fields)
        at = spoken_at(self.session.started_at, result.start)
        return StoreFinal(self.session.pk, self.session.event_id, result, at, after=after)

    async def final(self, text: str, **fields: Any) -> Segment:
        """`text` stored as the stream's next final; the stored segment."""
        start = self.stored[-1].end if self.stored else 0.0
        result = Transcript(text=text, start=start, end=start + 1, is_final=True, **fields)
        at = spoken_at(self.session.started_at, start)
        stored = self.store.add_final(self.session.pk, self.session.event_id, result, at)
        assert await self.store.drain(timeout=10)
        self.stored.append(stored.result())
        return self.stored[-1]

    async def save(self, job: Job) -> None:
        self.store.add(job)
        assert await self.store.drain(timeout=10)


async def _first_finals(event, people) -> list[Stream]:
    """A stream of each person's, with its first final stored."""
    streams = []
    for person in people:
        session = await StreamSession.objects.acreate(
            event=event, journalist=person, provider="offline", status="ended"
        )
        stream = Stream(session)
        await stream.final("First.")
        streams.append(stream)
    return streams


@contextlib.asynccontextmanager
async def writers_statements():
    """The SQL the writer thread runs in the block (on its own connection: `connection` is per thread)."""
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    await writer.call(lambda: connection.execute_wrappers.append(record))
    try:
        yield statements
    finally:
        await writer.call(lambda: connection.execute_wrappers.remove(record))


def counted(statements: list[str], verb: str) -> int:
    return sum(sql.lstrip().upper().startswith(verb) for sql in statements)


async def done_once_the_write_lock_is_free(storing: Awaitable[Any]) -> Any:
    """`storing` while another connection holds SQLite's write lock, as a Celery worker or another
    Daphne process writing: it must not finish before the lock is free; then its result."""
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        store = asyncio.ensure_future(storing)
        await asyncio.sleep(0.3)
        assert not store.done(), "the loop does not wait for the lock, the writer does"
        other.execute("COMMIT")
        return await asyncio.wait_for(store, timeout=10)
    finally:
        other.close()


async def store_theirs(stream: Stream) -> None:
    """A takeover's relay stores the session's next sequence meanwhile."""
    theirs = Transcript(text="Theirs.", start=1.0, end=2.0, is_final=True)
    await writer.call(sessions.store_final, stream.session.pk, stream.session.event_id, theirs)


@pytest.mark.django_db(transaction=True)
async def test_finals_of_several_streams_that_follow_on_go_in_as_one_insert_without_a_savepoint(
    event, journalist, other_journalist
):
    streams = await _first_finals(event, (journalist, other_journalist, journalist))
    async with writers_statements() as statements:
        stored_now = await _in_one_turn([stream.following("Next.") for stream in streams])
    assert [s.sequence for s in stored_now] == [1, 1, 1] and all(s.pk for s in stored_now)
    assert counted(statements, "INSERT") == 1, statements
    assert not any("SAVEPOINT" in sql.upper() for sql in statements), "the usual turn needs no savepoint"
    for stream in streams:
        assert [s.text for s in await stored(stream.session.pk)] == ["First.", "Next."]


async def each_final_of_a_turn_goes_its_own_way_after_another_relay_stored(event, journalist) -> None:
    streams = await _first_finals(event, (journalist,) * 3)
    await store_theirs(streams[1])
    stored_now = await _in_one_turn([stream.following("Mine.") for stream in streams])
    assert [s.sequence for s in stored_now] == [1, 2, 1]
    assert [s.text for s in await stored(streams[1].session.pk)] == ["First.", "Theirs.", "Mine."]
    for stream in (streams[0], streams[2]):
        assert [s.text for s in await stored(stream.session.pk)] == ["First.", "Mine."]


@pytest.mark.django_db(transaction=True)
async def test_when_another_relay_stored_in_between_each_final_of_the_turn_goes_its_own_way(event, journalist):
    await each_final_of_a_turn_goes_its_own_way_after_another_relay_stored(event, journalist)


@pytest.mark.django_db(transaction=True)
async def test_finals_are_stored_on_the_loop_while_the_writer_is_busy(event, journalist, other_journalist):
    streams = await _first_finals(event, (journalist, other_journalist))

    async def next_final(stream: Stream) -> Segment:
        word = {"word": "next", "start": 1.0, "end": 2.0, "punctuated_word": "Next."}
        return await stream.final("Next.", words=[word], speaker=2, confidence=0.9)

    async with writer_held():
        stored_now = await asyncio.wait_for(asyncio.gather(*(next_final(stream) for stream in streams)), timeout=5)
    assert [s.sequence for s in stored_now] == [1, 1] and all(s.pk for s in stored_now)
    for stream, segment in zip(streams, stored_now, strict=True):
        [read_back] = (await stored(stream.session.pk))[1:]
        fields = ("pk", "text", "start", "end", "confidence", "speaker", "words", "spoken_at", "created_at", "event_id")
        assert [getattr(read_back, name) for name in fields] == [getattr(segment, name) for name in fields]
        assert read_back.spoken_at == stream.session.started_at + timedelta(seconds=segment.start)
        assert read_back.words[0]["punctuated_word"] == "Next." and read_back.speaker == 2


@pytest.mark.django_db(transaction=True)
async def test_finals_go_to_the_writer_while_another_connection_holds_the_write_lock(event, journalist):
    [stream] = await _first_finals(event, (journalist,))
    async with writers_statements() as statements:
        segment = await done_once_the_write_lock_is_free(stream.final("Next."))
    assert counted(statements, "INSERT") == 1, "the writer stored it"
    assert [(s.sequence, s.text) for s in await stored(stream.session.pk)] == [(0, "First."), (1, "Next.")]
    assert segment.sequence == 1 and segment.pk


@pytest.mark.django_db(transaction=True)
async def test_a_final_another_relay_stored_before_goes_to_the_writer_after_its_own(event, journalist):
    streams = await _first_finals(event, (journalist, journalist))
    await store_theirs(streams[0])
    stored_now = await asyncio.gather(*(stream.final("Mine.") for stream in streams))
    assert [s.sequence for s in stored_now] == [2, 1]
    assert [s.text for s in await stored(streams[0].session.pk)] == ["First.", "Theirs.", "Mine."]
    assert [s.text for s in await stored(streams[1].session.pk)] == ["First.", "Mine."]


@pytest.mark.django_db(transaction=True)
async def test_with_storing_on_the_loop_switched_off_the_writer_stores_every_final(event, journalist, settings):
    settings.STUDIO_STORE_ON_LOOP = False
    [stream] = await _first_finals(event, (journalist,))
    async with writers_statements() as statements:
        segment = await stream.final("Next.")
    assert counted(statements, "INSERT") == 1 and segment.sequence == 1


FIGURES = {"audio_seconds": 12.5, "reconnects": 2, "dropped_audio_seconds": 0.25, "request_ids": ["req-1", "req-2"]}


async def saved_figures(session_id: int) -> list:
    saved = await StreamSession.objects.aget(pk=session_id)
    return [saved.audio_seconds, saved.reconnects, saved.dropped_audio_seconds, saved.request_ids]


@pytest.mark.django_db(transaction=True)
async def test_a_save_of_the_figures_runs_on_the_loop_while_the_writer_is_busy(event, journalist):
    [stream] = await _first_finals(event, (journalist,))
    async with writer_held():
        await asyncio.wait_for(stream.save(SaveProgress(stream.session.pk, FIGURES)), timeout=5)
    assert await saved_figures(stream.session.pk) == list(FIGURES.values())


@pytest.mark.django_db(transaction=True)
async def test_a_save_of_the_figures_goes_to_the_writer_while_another_connection_holds_the_write_lock(
    event, journalist
):
    [stream] = await _first_finals(event, (journalist,))
    async with writers_statements() as statements:
        await done_once_the_write_lock_is_free(stream.save(SaveProgress(stream.session.pk, FIGURES)))
    assert counted(statements, "UPDATE") == 1, "the writer saved them"
    assert await saved_figures(stream.session.pk) == list(FIGURES.values())
