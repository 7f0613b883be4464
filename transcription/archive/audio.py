"""Each stream session's audio, archived as it arrives and read back by stream time.

A session's archive is a run of whole files ("chunks") under ``audio/sessions/<session id>/``, each
named by its first sample in stream time: saved as WAV by the web process, compressed to FLAC by a
worker (``transcription.archive.compaction``). Why this shape: docs/architecture.md, *The audio archive*.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import numpy as np
import soundfile
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from transcription.models import StreamSession
from transcription.protocol import Start
from transcription.store.writer import writer

logger = logging.getLogger(__name__)

_CHUNK_NAME = re.compile(r"^(?P<stem>(?P<start>\d{12})-(?P<frames>\d+)(?:_[^.]*)?)\.(?P<format>wav|flac)$")


def chunk_seconds() -> float:
    return settings.AUDIO_ARCHIVE_CHUNK_SECONDS


def max_pending_chunks() -> int:
    return settings.AUDIO_ARCHIVE_MAX_PENDING_CHUNKS


def storage() -> Storage:
    return StreamSession._meta.get_field("audio_file").storage


ARCHIVE_ROOT = "audio/sessions"


def archive_dir(session_id: int) -> str:
    return f"{ARCHIVE_ROOT}/{session_id}"


@dataclass(frozen=True)
class Chunk:
    name: str  # storage name
    start: int  # first sample, in stream time
    frames: int

    @property
    def end(self) -> int:
        return self.start + self.frames

    @property
    def is_wav(self) -> bool:
        return self.name.endswith(".wav")

    @property
    def flac_name(self) -> str:
        return self.name.rsplit(".", 1)[0] + ".flac"


def list_chunks(session_id: int) -> list[Chunk]:
    """The session's chunks by stream time, each once, WAV or FLAC."""
    folder = archive_dir(session_id)
    try:
        _dirs, files = storage().listdir(folder)
    except FileNotFoundError:
        return []
    chunks: dict[str, Chunk] = {}
    for filename in files:
        match = _CHUNK_NAME.match(filename)
        # Both formats of one chunk exist while it is being compressed, or after a compression stopped
        # by a crash: the WAV is read, as the FLAC may be cut short.
        if match and (match["format"] == "wav" or match["stem"] not in chunks):
            chunks[match["stem"]] = Chunk(f"{folder}/{filename}", int(match["start"]), int(match["frames"]))
    return sorted(chunks.values(), key=lambda c: (c.start, c.name))


def archived_frames(session_id: int) -> int:
    """Stream time, in samples, just after the last archived audio (0 when there is none)."""
    return max((c.end for c in list_chunks(session_id)), default=0)


def encode_flac(pcm: bytes, sample_rate: int) -> bytes:
    out = io.BytesIO()
    samples = np.frombuffer(pcm, dtype="<i2")
    soundfile.write(out, samples, sample_rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def decode_file(name: str) -> tuple[np.ndarray, int] | None:
    """A stored WAV or FLAC file's samples and sample rate; None when it cannot be read."""
    try:
        with storage().open(name, "rb") as f:
            data = f.read()
        samples, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=False)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        logger.warning("unreadable audio chunk %s", name, exc_info=True)
        return None
    return samples, rate


def _decode_chunk(chunk: Chunk) -> np.ndarray | None:
    # None for a chunk cut short by a crash mid-save: the rest of the archive still plays.
    decoded = decode_file(chunk.name)
    return None if decoded is None else decoded[0]


class Stretch:
    """Stream time [first, end) of a session's archived audio, read in pieces of at most one chunk;
    gaps read as silence, and where chunks overlap the later one wins."""

    def __init__(self, session_id: int, start: float, end: float | None, sample_rate: int) -> None:
        self.chunks = list_chunks(session_id)
        self.sample_rate = sample_rate
        last = max((c.end for c in self.chunks), default=0)
        self.first = max(0, round(start * sample_rate))
        self.end = max(self.first, last if end is None else min(last, round(end * sample_rate)))
        self.piece_frames = max(1, round(chunk_seconds() * sample_rate))

    @property
    def frames(self) -> int:
        return self.end - self.first

    def pcm(self, first: int = 0, end: int | None = None) -> Iterator[bytes]:
        """16-bit LE mono PCM of frames [first, end) of the stretch (counted from its start)."""
        position = self.first + max(0, first)
        stop_at = self.end if end is None else min(self.end, self.first + end)
        silence = bytes(2 * self.piece_frames)
        upcoming = iter(self.chunks)
        pending = next(upcoming, None)
        playing: list[tuple[Chunk, np.ndarray]] = []
        while position < stop_at:
            stop = min(stop_at, position + self.piece_frames)
            while pending is not None and pending.start < stop:
                if pending.end > position and (samples := _decode_chunk(pending)) is not None:
                    playing.append((pending, samples))
                pending = next(upcoming, None)
            playing = [(c, s) for c, s in playing if c.start + len(s) > position]
            if not playing:
                yield silence[: 2 * (stop - position)]
            else:
                out = np.zeros(stop - position, dtype="<i2")
                for chunk, samples in playing:
                    lo, hi = max(position, chunk.start), min(stop, chunk.start + len(samples))
                    if hi > lo:
                        out[lo - position : hi - position] = samples[lo - chunk.start : hi - chunk.start]
                yield out.tobytes()
            position = stop


def read_pcm(session_id: int, start: float, end: float, sample_rate: int) -> bytes:
    """16-bit LE mono PCM of stream time [start, end) seconds, clipped to the archived audio, in one piece."""
    return b"".join(Stretch(session_id, start, end, sample_rate).pcm())


WAV_HEADER_BYTES = 44
# A WAV file's sizes are 32-bit: about 37 hours at 16 kHz.
MAX_WAV_FRAMES = (2**32 - 1 - WAV_HEADER_BYTES) // 2


def wav_header(frames: int, sample_rate: int) -> bytes:
    data = 2 * frames
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16, b"data", data),
    )


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    return wav_header(len(pcm) // 2, sample_rate) + pcm


def iter_wav(stretch: Stretch, first_byte: int = 0, last_byte: int | None = None) -> Iterator[bytes]:
    """Bytes [first_byte, last_byte] of the stretch as one WAV file, in pieces of at most one chunk."""
    frames = min(stretch.frames, MAX_WAV_FRAMES)
    header = wav_header(frames, stretch.sample_rate)
    size = WAV_HEADER_BYTES + 2 * frames
    last_byte = size - 1 if last_byte is None else min(last_byte, size - 1)
    if first_byte < WAV_HEADER_BYTES:
        yield header[first_byte : last_byte + 1]
    pcm_from, pcm_to = max(0, first_byte - WAV_HEADER_BYTES), last_byte + 1 - WAV_HEADER_BYTES
    if pcm_to <= pcm_from:
        return
    skip, remaining = pcm_from % 2, pcm_to - pcm_from
    for piece in stretch.pcm(pcm_from // 2, (pcm_to + 1) // 2):
        piece = piece[skip : skip + remaining]
        skip, remaining = 0, remaining - len(piece)
        yield piece


def wav_size(stretch: Stretch) -> int:
    return WAV_HEADER_BYTES + 2 * min(stretch.frames, MAX_WAV_FRAMES)


def iter_session_pcm(session_id: int, sample_rate: int = 16000) -> Iterator[bytes]:
    """The whole session's audio in pieces of at most one chunk, gaps filled with silence."""
    return Stretch(session_id, 0, None, sample_rate).pcm()


def write_session_flac(session_id: int, sample_rate: int, out: IO[bytes]) -> None:
    """The whole session as one FLAC file, for download."""
    with soundfile.SoundFile(out, "w", sample_rate, 1, format="FLAC", subtype="PCM_16") as f:
        for pcm in iter_session_pcm(session_id, sample_rate):
            f.write(np.frombuffer(pcm, dtype="<i2"))


def delete_archive(session_id: int) -> int:
    """Delete a session's archived audio, and its folder where the storage has folders; returns the
    number of files deleted."""
    folder = archive_dir(session_id)
    try:
        _dirs, files = storage().listdir(folder)
    except FileNotFoundError:
        return 0
    for filename in files:
        storage().delete(f"{folder}/{filename}")
    # An empty folder left behind would be listed by every later purge.
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(storage().path(folder))
    return len(files)


def archived_session_ids() -> list[int]:
    """The sessions that have a folder in the archive, whether or not they still exist."""
    try:
        dirs, _files = storage().listdir(ARCHIVE_ROOT)
    except FileNotFoundError:
        return []
    return sorted(int(name) for name in dirs if re.fullmatch(r"[0-9]+", name))


def last_archived_at(session_id: int) -> datetime | None:
    """When the session's latest audio was saved, if the storage can tell."""
    chunks = list_chunks(session_id)
    if not chunks:
        return None
    try:
        return storage().get_modified_time(max(chunks, key=lambda c: c.end).name)
    except (NotImplementedError, OSError):
        return None


def clamp_resume(
    stream_time: float | None,
    dropped_seconds: float,
    *,
    received: float,
    archived: float,
    session_age: float,
    dropped_before: float,
    max_gap: float,
) -> tuple[float, float]:
    """Where a resumed stream goes on, and how much audio its client may say it dropped: at most ``max_gap``
    past what the server holds and the session's age, so repeated resumes cannot pile gaps up."""
    held = max(received, archived)
    ceiling = max(held, min(held, session_age) + max_gap)
    base = min(max(held, stream_time or 0.0), ceiling)
    dropped = min(dropped_seconds, max(0.0, session_age + max_gap - dropped_before))
    return base, dropped


def _resume_figures(session_id: int) -> tuple[float, float, float, int]:
    received, dropped, started_at, rate = StreamSession.objects.values_list(
        "audio_seconds", "dropped_audio_seconds", "started_at", "audio_sample_rate"
    ).get(pk=session_id)
    return received, dropped, (timezone.now() - started_at).total_seconds(), rate


class SessionArchive:
    """Archives one session's audio as the relay receives it; each full chunk is saved in a thread,
    one at a time, so chunk offsets follow the order audio arrived in."""

    def __init__(self, session_id: int, sample_rate: int, at: float | None) -> None:
        self.session_id = session_id
        self.sample_rate = sample_rate
        self._at = at
        self._next_frame: int | None = None  # found off-loop, before the first chunk is saved
        self._frames: list[bytes] = []  # joined once per chunk, not copied per frame
        self._buffered = 0  # bytes in _frames
        self._chunk_bytes = 2 * max(1, round(chunk_seconds() * sample_rate))
        self._pending = 0  # chunks holding audio, waiting to be saved
        self._tail: asyncio.Future | None = None
        self._marked = False
        self._closed = False

    @classmethod
    def open(cls, session_id: int, sample_rate: int = 16000, *, at: float | None = None) -> SessionArchive:
        """Touches neither database nor storage; a reopened session goes on after its archived audio, or at
        stream time ``at`` when the caller knows it, so audio lost to a crash stays a gap, not a shift."""
        return cls(session_id, sample_rate, at)

    @staticmethod
    async def resume_point(session_id: int, start: Start) -> tuple[float, float, float]:
        """clamp_resume for a session being opened or resumed with the client's `start` message, and where
        the audio the server holds (received or archived) ends."""
        archived = await asyncio.to_thread(archived_frames, session_id)  # storage may be remote: off the loop
        received, dropped_before, session_age, rate = await writer.call(_resume_figures, session_id)
        base, dropped = clamp_resume(
            start.stream_time,
            start.dropped_seconds,
            received=received,
            archived=archived / rate,
            session_age=session_age,
            dropped_before=dropped_before,
            max_gap=settings.STUDIO_RESUME_MAX_GAP_SECONDS,
        )
        return base, dropped, max(received, archived / rate)

    def write(self, pcm: bytes) -> None:
        """Never waits: must be called from the event loop's thread."""
        if self._closed:
            raise RuntimeError(f"audio archive of session {self.session_id} is closed")
        frame = bytes(pcm)  # the same object when it is bytes already
        self._frames.append(frame)
        self._buffered += len(frame)
        if self._buffered < self._chunk_bytes:
            return
        data = b"".join(self._frames)
        whole = len(data) - len(data) % self._chunk_bytes
        for at in range(0, whole, self._chunk_bytes):
            self._enqueue(data[at : at + self._chunk_bytes])
        rest = data[whole:]
        self._frames = [rest] if rest else []
        self._buffered = len(rest)

    async def close(self) -> None:
        if self._closed:
            if self._tail is not None:
                await asyncio.shield(self._tail)
            return
        self._closed = True
        data = b"".join(self._frames)
        usable = len(data) - len(data) % 2
        if usable:
            self._enqueue(data[:usable])
        self._frames, self._buffered = [], 0
        if self._tail is not None:
            await asyncio.shield(self._tail)

    def _enqueue(self, pcm: bytes) -> None:
        frames = len(pcm) // 2
        if self._pending >= max_pending_chunks():
            # Storage has stalled: drop the chunk rather than grow, keeping its place on the time axis.
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
                await writer.call(self._mark_session)
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
            name = f"{archive_dir(self.session_id)}/{start:012d}-{frames}.wav"
            storage().save(name, ContentFile(wav_bytes(pcm, self.sample_rate)))

    def _mark_session(self) -> None:
        StreamSession.objects.filter(pk=self.session_id).exclude(audio_file=archive_dir(self.session_id)).update(
            audio_file=archive_dir(self.session_id), audio_sample_rate=self.sample_rate
        )


@receiver(post_delete, sender=StreamSession, dispatch_uid="delete_session_audio")
def delete_session_audio(sender, instance: StreamSession, using: str, **kwargs) -> None:
    """A deleted session's audio goes with it (an event's sessions too, by cascade), once the deletion
    commits; what fails here, the daily purge's sweep for orphaned folders deletes."""
    session_id = instance.pk
    transaction.on_commit(lambda: delete_archive(session_id), using=using, robust=True)
