"""One stream's database work, done in order and riding out a database outage.

Order, retries and the bound: docs/architecture.md, *Order and exactly-once* and *Back-pressure*.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

Execute = Callable[[Callable[[], Any]], Awaitable[Any]]
Done = Callable[[Any], Awaitable[None]]

FIRST_RETRY_SECONDS = 0.2
LAST_RETRY_SECONDS = 5.0
# A ceiling no speech reaches (a final per utterance), so memory stays bounded whatever the timings say.
FINALS_PER_SECOND = 10


@dataclass
class _Job:
    run: Callable[[], Any]
    done: Done | None = None
    key: str | None = None
    span: tuple[float, float] | None = None  # a final's stream time
    together: bool = False  # may be committed with other streams' stored state


class StoreQueue:
    """A stream's finals and saves, run one after another; the head is retried while the database is away."""

    def __init__(
        self,
        execute: Execute,
        *,
        max_seconds: float,
        on_change: Callable[[], Awaitable[None]],
        on_overflow: Callable[[], Awaitable[None]],
        first_retry: float = FIRST_RETRY_SECONDS,
        last_retry: float = LAST_RETRY_SECONDS,
        execute_together: Execute | None = None,
        store_now: Callable[[Callable[[], Any]], Any] | None = None,
    ):
        """`execute_together` runs finals and `together` jobs; `store_now` may store a final at once (None: queue it).
        `on_change` hears of delay, waiting finals and recovery; `on_overflow`, once, of `max_seconds` passed."""
        self.execute = execute
        self.execute_together = execute_together or execute
        self.store_now = store_now
        self.max_seconds = max_seconds
        self.max_finals = max(1, int(max_seconds * FINALS_PER_SECOND))
        self.on_change = on_change
        self.on_overflow = on_overflow
        self.first_retry = first_retry
        self.last_retry = last_retry
        self.delayed = False
        self.overflowed = False
        self._jobs: deque[_Job] = deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: asyncio.Task | None = None
        self._callbacks: set[asyncio.Task] = set()

    @property
    def waiting_finals(self) -> int:
        return sum(1 for job in self._jobs if job.span is not None)

    @property
    def waiting_seconds(self) -> float:
        spans = [job.span for job in self._jobs if job.span is not None]
        return spans[-1][1] - spans[0][0] if spans else 0.0

    def add(
        self, run: Callable[[], Any], *, done: Done | None = None, key: str | None = None, together: bool = False
    ) -> None:
        """Queue `run`; a job with the same `key` still waiting (not yet begun) is replaced by it.
        A job added `together` (a plain save, nothing that acts on its commit) may share a transaction."""
        if key is not None:
            for job in list(self._jobs)[1:]:
                if job.key == key:
                    job.run, job.done = run, done
                    return
        self._put(_Job(run, done, key, together=together))

    async def add_final(self, run: Callable[[], Any], start: float, end: float, *, done: Done) -> None:
        """Queue a final. With nothing queued or running ahead of it, `store_now` may store it at once,
        and `done` is then awaited before this returns: no turn of the loop is spent on the way."""
        if self.store_now is not None and self._idle.is_set():
            result = self.store_now(run)
            if result is not None:
                await self._guarded(done, result)
                return
        self._put(_Job(run, done, span=(start, end), together=True))
        if self.delayed:
            self._call(self.on_change)
        if not self.overflowed and (self.waiting_seconds > self.max_seconds or self.waiting_finals > self.max_finals):
            self.overflowed = True
            self._call(self.on_overflow)

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
            self._jobs.clear()
            self._idle.set()
            return False

    def _put(self, job: _Job) -> None:
        self._jobs.append(job)
        self._idle.clear()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="store-queue")

    def _call(self, callback: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._guarded(callback))
        self._callbacks.add(task)  # a task nobody holds may be collected before it runs
        task.add_done_callback(self._callbacks.discard)

    async def _guarded(self, callback: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await callback(*args)
        except Exception:
            logger.exception("store queue callback failed")

    async def _run(self) -> None:
        retry = self.first_retry
        while True:
            if not self._jobs:
                if not self.delayed:
                    self._idle.set()
                    return
                self.delayed = False
                logger.warning("database back: every final waiting is stored")
                await self._guarded(self.on_change)
                continue
            job = self._jobs[0]
            try:
                result = await (self.execute_together if job.together else self.execute)(job.run)
            except (InterfaceError, OperationalError) as error:
                if not self.delayed:
                    self.delayed = True
                    logger.warning("database unavailable, storage delayed: %s", error)
                    await self._guarded(self.on_change)
                await asyncio.sleep(retry)
                retry = min(retry * 2, self.last_retry)
                continue
            except Exception:
                # Not the database being away: another try would fail the same way.
                logger.exception("store queue job %s failed and is dropped", job.run)
                self._jobs.popleft()
                continue
            retry = self.first_retry
            self._jobs.popleft()
            if job.done is not None:
                await self._guarded(job.done, result)
