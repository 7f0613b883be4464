"""One stream's store: its finals and saves, written in order, each once, riding out a database outage.

The relay hands it plain data and gets back a future of the stored segment; it never calls the relay.
The store alone decides where a job runs: on the event loop (`store.loop`, SQLite) when it can, tried
once, else on the writer thread. Order, retries and the bound: docs/architecture.md, *Order and
exactly-once* and *Back-pressure*.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from django.db import InterfaceError, OperationalError

from transcription.models import Segment
from transcription.speech.base import Transcript
from transcription.store import loop
from transcription.store.jobs import Job, StoreFinal
from transcription.store.writer import close_connection, writer

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.2
LAST_RETRY_SECONDS = 5.0
# A ceiling no speech reaches (a final per utterance), so memory stays bounded whatever the timings say.
FINALS_PER_SECOND = 10


async def on_writer(job: Job) -> Any:
    """`job` on the writer thread: with other streams' jobs in one transaction when it may be."""
    return await (writer.store(job) if job.together else writer.call(job.run))


async def close_connections() -> None:
    """Let the writer's kept connection and this loop's go, once no stream is left in the process."""
    await writer.call(close_connection)
    loop.close()


@dataclasses.dataclass
class _Waiting:
    job: Job
    key: str | None = None
    tried_on_loop: bool = False
    stored: asyncio.Future | None = None

    @property
    def final(self) -> StoreFinal | None:
        return self.job if isinstance(self.job, StoreFinal) else None


class StoreQueue:
    """A stream's finals and saves, run one after another; the head is retried while the database is away."""

    def __init__(
        self,
        *,
        max_seconds: float,
        first_retry: float = FIRST_RETRY_SECONDS,
        last_retry: float = LAST_RETRY_SECONDS,
        try_on_loop: Callable[[Job], tuple[bool, Any]] = loop.try_store,
        run_on_writer: Callable[[Job], Awaitable[Any]] = on_writer,
    ):
        """Past `max_seconds` of stream time waiting, `overflowed` is set. `try_on_loop` and
        `run_on_writer` are where jobs run (`loop.try_store`, `on_writer`)."""
        self.max_seconds = max_seconds
        self.max_finals = max(1, int(max_seconds * FINALS_PER_SECOND))
        self.first_retry = first_retry
        self.last_retry = last_retry
        self.try_on_loop = try_on_loop
        self.run_on_writer = run_on_writer
        self.delayed = False
        self.overflowed = False
        self.last: Segment | None = None  # the stream's last stored segment: the next final follows it
        self._jobs: deque[_Waiting] = deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()
        self._runner: asyncio.Task | None = None

    @property
    def waiting_finals(self) -> int:
        return sum(1 for waiting in self._jobs if waiting.final is not None)

    @property
    def waiting_seconds(self) -> float:
        finals = [waiting.final.result for waiting in self._jobs if waiting.final is not None]
        return finals[-1].end - finals[0].start if finals else 0.0

    def add(self, job: Job, *, key: str | None = None) -> None:
        """Queue `job`; a job with the same `key` still waiting (not yet begun) is replaced by it."""
        if key is not None:
            for waiting in list(self._jobs)[1:]:
                if waiting.key == key:
                    waiting.job = job
                    return
        self._put(_Waiting(job, key))

    def add_final(
        self, session_id: int, event_id: int, result: Transcript, spoken_at: datetime | None
    ) -> asyncio.Future:
        """Store a final as the session's next segment: a future of the stored segment, resolved in order.

        With nothing queued or running ahead of it, it may be stored on the loop at once: the future is
        then already done."""
        stored = asyncio.get_running_loop().create_future()
        if self._idle.is_set():
            final = StoreFinal(session_id, event_id, result, spoken_at, after=self.last)
            done, segment = self.try_on_loop(final)
            if done:
                self.last = segment
                stored.set_result(segment)
                return stored
            self._put(_Waiting(final, tried_on_loop=True, stored=stored))
        else:
            self._put(_Waiting(StoreFinal(session_id, event_id, result, spoken_at), stored=stored))
        if self.delayed:
            self._changed.set()
        if not self.overflowed and (self.waiting_seconds > self.max_seconds or self.waiting_finals > self.max_finals):
            self.overflowed = True
            self._changed.set()
        return stored

    async def changed(self) -> None:
        """Wait until `delayed`, `waiting_finals` or `overflowed` may have changed."""
        await self._changed.wait()
        self._changed.clear()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every job queued so far is done; False if `timeout` s passed first (the jobs
        left are then given up, and logged)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            logger.error(
                "storage still unavailable after %s s: %d finals (%.1f s of stream time) not stored; "
                "the audio archive keeps their sound",
                timeout,
                self.waiting_finals,
                self.waiting_seconds,
            )
            if self._runner is not None:
                self._runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._runner
            for waiting in self._jobs:
                if waiting.stored is not None:
                    waiting.stored.cancel()
            self._jobs.clear()
            self._idle.set()
            return False

    def _put(self, waiting: _Waiting) -> None:
        self._jobs.append(waiting)
        self._idle.clear()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="store-queue")

    async def _run(self) -> None:
        retry = self.first_retry
        while True:
            if not self._jobs:
                if not self.delayed:
                    self._idle.set()
                    return
                self.delayed = False
                logger.warning("database back: every final waiting is stored")
                self._changed.set()
                continue
            waiting = self._jobs[0]
            if waiting.final is not None:
                waiting.job = dataclasses.replace(waiting.final, after=self.last)
            try:
                result = await self._run_once(waiting)
            except (InterfaceError, OperationalError) as error:
                if not self.delayed:
                    self.delayed = True
                    logger.warning("database unavailable, storage delayed: %s", error)
                    self._changed.set()
                await asyncio.sleep(retry)
                retry = min(retry * 2, self.last_retry)
                continue
            except Exception as error:
                # Not the database being away: another try would fail the same way.
                logger.exception("store queue job %s failed and is dropped", waiting.job)
                self._jobs.popleft()
                if waiting.stored is not None and not waiting.stored.done():
                    waiting.stored.set_exception(error)
                continue
            retry = self.first_retry
            self._jobs.popleft()
            if waiting.final is not None:
                self.last = result
            if waiting.stored is not None and not waiting.stored.done():
                waiting.stored.set_result(result)

    async def _run_once(self, waiting: _Waiting) -> Any:
        """The job's result: on the loop if it was not tried there yet and it can be, else on the writer."""
        if not waiting.tried_on_loop and waiting.job.together:
            waiting.tried_on_loop = True
            stored, result = self.try_on_loop(waiting.job)
            if stored:
                return result
        return await self.run_on_writer(waiting.job)
