"""When a session's words were spoken: the journalist's capture clock, held to what the server can vouch for."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

MAX_MARKS = 256  # a client's clock marks kept per relay; a flood of them only drops the oldest


def captured_at(value: object) -> datetime | None:
    """A client's `captured_at` (Unix time in seconds) as a time; None for anything else."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class SpokenClock:
    """A session's stream time as wall-clock time, by the client's marks within bounds (docs/studio-protocol.md)."""

    def __init__(self, started_at: datetime, last: datetime | None = None):
        self.started_at = started_at
        self.last = max(last or started_at, started_at)
        self.marks: list[tuple[float, datetime]] = []  # (stream time, capture time), both rising

    def mark(self, stream_time: float, captured: datetime, now: datetime) -> None:
        """The audio at `stream_time` was captured at `captured`, by the client's clock."""
        # Audio is never captured faster than it plays: not before the start, nor an earlier mark, plus the audio since.
        floor = self.started_at + timedelta(seconds=stream_time)
        if self.marks:
            marked_at, before = self.marks[-1]
            floor = max(floor, before + timedelta(seconds=stream_time - marked_at))
        captured = min(max(captured, floor), now)
        if self.marks and self.marks[-1][0] >= stream_time:
            self.marks.pop()  # no audio since the last mark: this one replaces it
        elif len(self.marks) >= MAX_MARKS:
            del self.marks[0]
        self.marks.append((stream_time, captured))

    def at(self, start: float, now: datetime, *, first_word: float | None = None) -> datetime:
        """The wall-clock time of the session's next words: a result from `start`, its speech from `first_word`."""
        spoken = self.started_at + timedelta(seconds=start)  # no mark: the session's start plus the stream time
        speech = start if first_word is None else max(start, first_word)  # a result may start before a pause
        while len(self.marks) > 1 and self.marks[1][0] <= speech:
            del self.marks[0]  # words come in stream order: marks before the latest one passed are done with
        if self.marks and self.marks[0][0] <= speech:
            marked_at, captured = self.marks[0]
            spoken = max(spoken, captured + timedelta(seconds=speech - marked_at))
        self.last = max(self.last, min(spoken, now))
        return self.last
