"""Audio a process reads itself (a file, ffmpeg's output) into a Relay, as the studio page sends its own:
100 ms frames, at a pace, a live source's frames with the time they were read. `stream_audio` and the
follower (`transcription.follow`) both feed a relay this way."""

from __future__ import annotations

import asyncio
import time

from transcription.relay import Relay
from transcription.speech.base import BYTES_PER_SECOND

FRAME_BYTES = 3200  # 100 ms
CLOCK_EVERY_SECONDS = 10.0  # how often a live source's frames carry the time they were read


async def read_frame(stdout: asyncio.StreamReader) -> bytes:
    """The next frame of linear16 from a pipe: a whole one, or the whole samples left at its end (b"": none)."""
    try:
        return await stdout.readexactly(FRAME_BYTES)
    except asyncio.IncompleteReadError as end:
        return end.partial[: len(end.partial) - len(end.partial) % 2]


class Feed:
    """Frames into `relay` at most `pace`× real time from this feed's start."""

    def __init__(self, relay: Relay, pace: float, *, live: bool = True) -> None:
        """`live`: the audio is spoken as it is read (a feed), not before (a file)."""
        self.relay = relay
        self.pace = pace
        self.live = live
        self.sent = 0  # bytes the relay took
        self._began = time.monotonic()
        self._marked = -CLOCK_EVERY_SECONDS

    async def send(self, frame: bytes) -> None:
        """The relay's StudioError (too fast, a frame it refuses) is raised as `Relay.audio` raises it."""
        if self.live and time.monotonic() - self._marked >= CLOCK_EVERY_SECONDS:
            self._marked = time.monotonic()
            self.relay.next_audio_captured_at(time.time() - len(frame) / BYTES_PER_SECOND)
        await self.relay.audio(frame)
        self.sent += len(frame)
        ahead = self.sent / BYTES_PER_SECOND / self.pace - (time.monotonic() - self._began)
        if ahead > 0:
            await asyncio.sleep(ahead)
