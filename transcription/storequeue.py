"""One stream's database work, done in order and riding out a database outage.

The relay puts every final and every save of the session's figures and status here; one task runs
them one after another on the relay's writer thread (a final with nothing ahead of it may be stored
at once, on the event loop: `store_now`). When the database does not answer (a restart, a
failover), the job at the head is tried again with backoff while later jobs wait behind it: a later
final is never stored before an earlier one, and a job leaves the queue only once it has succeeded,
so each final is stored once (the unique session and sequence guard a retry whose first try did
commit). The finals waiting are bounded by the stream time they cover; past the bound the relay is
told, so the stream stops instead of holding speech it may never store.
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
# Speech makes a final per utterance, a few a second at the very most: this many finals per second
# of the bound is a ceiling no talk reaches, kept so that memory stays bounded whatever the timings say.
FINALS_PER_SECOND = 10


@dataclass
class _Job:
    run: Callable[[], Any]
    done: Done | None = None
    key: str | None = None
    span: tuple[float, float] | None = None  # a final's stream time
    together: bool = False  # may be committed with other streams' stored state


class StoreQueue:
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
        """`execute(run)` runs `run()` on the writer thread (`execute_together(run)`, when given, runs
        the finals and the jobs added `together`: it may commit several streams' jobs in one
        transaction); `store_now(run)`, when given, may store a final on the spot when nothing waits
        ahead of it, and returns its result, or None when the final must join the queue;
        `on_change` is awaited when storage becomes delayed, when a final joins the wait, and when
        all is stored again; `on_overflow` once, when the finals waiting cover more than
        `max_seconds` of stream time."""
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
