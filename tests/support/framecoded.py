"""Frame-coded test audio: every sample of 100 ms frame n has the value n * STEP, so any stretch of
decoded audio tells exactly which frames, i.e. which stream times, it holds."""

import asyncio
import threading

import numpy as np
from django.core.files.storage import FileSystemStorage

RATE = 16000
FRAME = RATE // 10
STEP = 8


def pcm(first_frame: int, frames: int) -> bytes:
    values = np.arange(first_frame, first_frame + frames, dtype="<i2") * STEP
    return np.repeat(values, FRAME).astype("<i2").tobytes()


def frames_in(data: bytes) -> list[int]:
    """The distinct frame numbers in decoded audio, in order of appearance (0 also means silence)."""
    samples = np.frombuffer(data, dtype="<i2")
    codes = samples // STEP
    assert np.array_equal(codes * STEP, samples), "decoded samples are not frame codes: the audio was altered"
    order = np.concatenate(([True], codes[1:] != codes[:-1]))
    return codes[order].tolist()


def packets(data: bytes, sizes=(640, 3200, 1234, 8000, 962)) -> list[bytes]:
    """Cut audio into irregular packets, as a browser's sends arrive."""
    out, i, n = [], 0, 0
    while i < len(data):
        out.append(data[i : i + sizes[n % len(sizes)]])
        i += sizes[n % len(sizes)]
        n += 1
    return out


def archive_audio(session_id: int, audio: bytes, *, at: float | None = None) -> None:
    from transcription.archive.audio import SessionArchive

    async def run():
        archive = SessionArchive.open(session_id, RATE, at=at)
        for packet in packets(audio):
            archive.write(packet)
        await archive.close()

    asyncio.run(run())


class GatedStorage(FileSystemStorage):
    """A storage backend that stalls every save until the test opens the gate (a slow remote store)."""

    gate = threading.Event()
    stalled = 0

    def _save(self, name, content):
        GatedStorage.stalled += 1
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return super()._save(name, content)


class FailingStorage(FileSystemStorage):
    """A storage backend whose first save fails (a network blip)."""

    failed = 0

    def _save(self, name, content):
        if FailingStorage.failed == 0:
            FailingStorage.failed += 1
            raise OSError("storage unavailable")
        return super()._save(name, content)
