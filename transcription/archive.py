"""Each stream session's audio, archived as it arrives and read back by stream time.

The archive of a session is a run of self-contained FLAC files ("chunks") under
``audio/sessions/<session id>/``, saved through the audio field's Django storage as each fills
(``AUDIO_ARCHIVE_CHUNK_SECONDS``, 5 s by default). A chunk's name starts with its first sample in
stream time, so:

* a crash loses at most the chunk being filled (plus any chunk still being encoded);
* any storage backend works: files are only ever written whole, never appended to or seeked;
* a segment's [start, end] maps straight to the chunks that cover it, and a gap (audio lost to a
  crash before a resume) reads back as silence, keeping later audio on the stream-time axis.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
import soundfile
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

_CHUNK_NAME = re.compile(r"^(?P<start>\d{12})-(?P<frames>\d+)(?:_[^.]*)?\.flac$")


def chunk_seconds() -> float:
    return settings.AUDIO_ARCHIVE_CHUNK_SECONDS


def max_pending_chunks() -> int:
    return settings.AUDIO_ARCHIVE_MAX_PENDING_CHUNKS


def storage() -> Storage:
    from transcription.models import StreamSession

    return StreamSession._meta.get_field("audio_file").storage


def archive_dir(session_id: int) -> str:
    return f"audio/sessions/{session_id}"


@dataclass(frozen=True)
class Chunk:
    name: str  # storage name
    start: int  # first sample, in stream time
    frames: int

    @property
    def end(self) -> int:
        return self.start + self.frames


def list_chunks(session_id: int) -> list[Chunk]:
    folder = archive_dir(session_id)
    try:
        _dirs, files = storage().listdir(folder)
    except FileNotFoundError:
        return []
    chunks = []
    for filename in files:
        if match := _CHUNK_NAME.match(filename):
            chunks.append(Chunk(f"{folder}/{filename}", int(match["start"]), int(match["frames"])))
    return sorted(chunks, key=lambda c: (c.start, c.name))


def archived_frames(session_id: int) -> int:
    """Stream time, in samples, just after the last archived audio (0 when there is none)."""
    return max((c.end for c in list_chunks(session_id)), default=0)


def encode_flac(pcm: bytes, sample_rate: int) -> bytes:
    out = io.BytesIO()
    samples = np.frombuffer(pcm, dtype="<i2")
    soundfile.write(out, samples, sample_rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def _decode_chunk(chunk: Chunk) -> np.ndarray | None:
    try:
        with storage().open(chunk.name, "rb") as f:
            data = f.read()
        samples, _rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=False)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        # A chunk cut short by a crash mid-save: the rest of the archive still plays.
        logger.warning("unreadable audio chunk %s", chunk.name, exc_info=True)
        return None
    return samples


def read_pcm(session_id: int, start: float, end: float, sample_rate: int) -> bytes:
    """16-bit LE mono PCM of stream time [start, end) seconds, clipped to the archived audio.

    Stretches with no archived audio inside the range read as silence; where chunks overlap, the
    later one wins.
    """
    chunks = list_chunks(session_id)
    last = max((c.end for c in chunks), default=0)
    first_frame = max(0, round(start * sample_rate))
    end_frame = min(last, round(end * sample_rate))
    if end_frame <= first_frame:
        return b""
    out = np.zeros(end_frame - first_frame, dtype="<i2")
    for chunk in chunks:
        if chunk.end <= first_frame or chunk.start >= end_frame:
            continue
        samples = _decode_chunk(chunk)
        if samples is None:
            continue
        lo = max(first_frame, chunk.start)
        hi = min(end_frame, chunk.start + len(samples))
        if hi > lo:
            out[lo - first_frame : hi - first_frame] = samples[lo - chunk.start : hi - chunk.start]
    return out.tobytes()


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return out.getvalue()


def iter_session_pcm(session_id: int) -> Iterator[bytes]:
    """The whole session's audio, chunk by chunk, gaps filled with silence.

    Where chunks overlap (a resume placed at an earlier stream time), the later one wins, as in read_pcm.
    """
    chunks = list_chunks(session_id)
    position = 0
    for i, chunk in enumerate(chunks):
        samples = _decode_chunk(chunk)
        if samples is None:
            continue
        if i + 1 < len(chunks):
            samples = samples[: max(0, chunks[i + 1].start - chunk.start)]
        if len(samples) == 0:
            continue
        if chunk.start > position:
            yield bytes(2 * (chunk.start - position))
        yield samples.astype("<i2").tobytes()
        position = chunk.start + len(samples)


def write_session_flac(session_id: int, sample_rate: int, out: IO[bytes]) -> None:
    """The whole session as one FLAC file, for download."""
    with soundfile.SoundFile(out, "w", sample_rate, 1, format="FLAC", subtype="PCM_16") as f:
        for pcm in iter_session_pcm(session_id):
            f.write(np.frombuffer(pcm, dtype="<i2"))


def delete_archive(session_id: int) -> int:
    """Delete a session's archived audio; returns the number of files deleted."""
    chunks = list_chunks(session_id)
    for chunk in chunks:
        storage().delete(chunk.name)
    return len(chunks)


class SessionArchive:
    """Archives one session's audio as the relay receives it.

    ``write`` only appends to a buffer; each full chunk is encoded and saved in a worker thread,
    one at a time per archive so chunk offsets follow the order audio arrived in.
    """

    def __init__(self, session_id: int, sample_rate: int, at: float | None) -> None:
        self.session_id = session_id
        self.sample_rate = sample_rate
        self._at = at
        self._next_frame: int | None = None  # found off-loop, before the first chunk is saved
        self._buffer = bytearray()
        self._chunk_bytes = 2 * max(1, round(chunk_seconds() * sample_rate))
        self._pending = 0  # chunks holding audio, waiting to be saved
        self._tail: asyncio.Future | None = None
        self._marked = False
        self._closed = False

    @classmethod
    def open(cls, session_id: int, sample_rate: int = 16000, *, at: float | None = None) -> SessionArchive:
        """Cheap and safe anywhere: touches neither the database nor storage.

        A reopened session continues after the audio already archived, or at stream time ``at``
        (seconds) when the caller knows it: audio lost to a crash then stays a gap, not a shift, and
        where old and new audio overlap the new audio wins.
        """
        return cls(session_id, sample_rate, at)

    async def write(self, pcm: bytes) -> None:
        if self._closed:
            raise RuntimeError(f"audio archive of session {self.session_id} is closed")
        self._buffer += pcm
        while len(self._buffer) >= self._chunk_bytes:
            chunk = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            self._enqueue(chunk)

    async def close(self) -> None:
        if self._closed:
            if self._tail is not None:
                await asyncio.shield(self._tail)
            return
        self._closed = True
        usable = len(self._buffer) - len(self._buffer) % 2
        if usable:
            self._enqueue(bytes(self._buffer[:usable]))
        self._buffer.clear()
        if self._tail is not None:
            await asyncio.shield(self._tail)

    def _enqueue(self, pcm: bytes) -> None:
        frames = len(pcm) // 2
        if self._pending >= max_pending_chunks():
            # The store has stalled for minutes: drop this chunk rather than grow without bound, but
            # keep its place on the time axis so later audio still lines up with the transcript.
            logger.error(
                "audio archive of session %s is %s chunks behind: dropping audio", self.session_id, self._pending
            )
            self._tail = asyncio.ensure_future(self._save_after(self._tail, None, frames))
            return
        self._pending += 1
        self._tail = asyncio.ensure_future(self._save_after(self._tail, pcm, frames))

    async def _save_after(self, previous: asyncio.Future | None, pcm: bytes | None, frames: int) -> None:
        if previous is not None:
            await previous  # never raises: _save_after logs its own failures
        try:
            await asyncio.to_thread(self._save_chunk, pcm, frames)
            if pcm is not None and not self._marked:
                self._marked = True
                await database_sync_to_async(self._mark_session)()
        except Exception:
            # Archiving must never break the relay: the live transcript matters more than its audio.
            logger.exception("could not archive audio of session %s", self.session_id)
        finally:
            if pcm is not None:
                self._pending -= 1

    def _save_chunk(self, pcm: bytes | None, frames: int) -> None:
        if self._next_frame is None:
            archived = archived_frames(self.session_id)
            # The caller's stream time wins: it is the time its transcript segments are stamped with.
            self._next_frame = archived if self._at is None else round(self._at * self.sample_rate)
        start = self._next_frame
        # The offset moves on even if saving fails, so later audio keeps its stream time.
        self._next_frame += frames
        if pcm is not None:
            name = f"{archive_dir(self.session_id)}/{start:012d}-{frames}.flac"
            storage().save(name, ContentFile(encode_flac(pcm, self.sample_rate)))

    def _mark_session(self) -> None:
        from transcription.models import StreamSession

        StreamSession.objects.filter(pk=self.session_id).exclude(audio_file=archive_dir(self.session_id)).update(
            audio_file=archive_dir(self.session_id), audio_sample_rate=self.sample_rate
        )
