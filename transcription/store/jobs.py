"""The writes a stream's store runs (`queue.StoreQueue`), each a small class over `Job`.

The writer thread runs `run()` inside its turn's transaction; the event loop's SQLite connection
(`loopstore`) and the writer's one-statement turn on PostgreSQL (`store.postgres`) run a final's row
or a job's `statement()` when it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transcription import sessions
from transcription.models import Segment
from transcription.speech.base import Transcript

Statement = tuple[str, list]


class Job:
    """A write in a stream's order. `together`: a plain write that may share a transaction with other
    streams' jobs (nothing that acts on its commit). It may run twice (the writer's retry), so it only writes."""

    together = True

    def run(self) -> Any:
        raise NotImplementedError

    def statement(self, database) -> Statement | None:
        """The same write as one SQL statement and its parameters, run without `run`; None: `run` only."""
        return None


@dataclass(frozen=True)
class Call(Job):
    """Any other write, or a signal sent in the stream's order: on the writer thread only."""

    func: Callable[[], Any]
    together: bool = False

    def run(self) -> Any:
        return self.func()


@dataclass(frozen=True)
class StoreFinal(Job):
    """A final stored as its session's next segment, after `after` (the stream's last stored one, None
    before its first): one INSERT when nobody stored in between, else `store_final`'s locked path."""

    session_id: int
    event_id: int
    result: Transcript
    spoken_at: datetime | None
    after: Segment | None = None

    def row(self) -> Segment | None:
        """The unsaved segment that follows straight on from `after`; None when there is no `after`."""
        if self.after is None or self.spoken_at is None:
            return None
        return sessions.next_segment(
            self.session_id, self.event_id, self.result, after=self.after, spoken_at=self.spoken_at
        )

    def run(self) -> Segment:
        return sessions.store_final(
            self.session_id, self.event_id, self.result, after=self.after, spoken_at=self.spoken_at
        )


@dataclass(frozen=True)
class SaveProgress(Job):
    """A save of a session's figures (`sessions.record_progress`'s keywords)."""

    session_id: int
    figures: dict

    def run(self) -> None:
        sessions.record_progress(self.session_id, **self.figures)

    def statement(self, database) -> Statement:
        return sessions.progress_statement(self.session_id, self.figures, database)
