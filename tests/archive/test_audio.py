"""The session audio archive: WAV chunks written while streaming, compressed to FLAC later, read back by stream time."""

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile

from tests.support import factories, framecoded
from tests.support.framecoded import RATE, frames_in, pcm
from tests.support.processes import ROOT, child_env
from transcription.archive import audio
from transcription.archive.audio import SessionArchive
from transcription.models import StreamSession
from transcription.tasks import compress_archived_audio

# Audio is archived from worker threads, which see only committed rows; the roles (groups) come from
# a data migration, so they are restored after each flush.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]


@pytest.fixture
def session(event, journalist) -> StreamSession:
    return factories.stream_session(event, journalist)


def decode_with_flac_cli(path: Path) -> bytes:
    """Decode with the reference FLAC decoder, not the library that wrote the file."""
    result = subprocess.run(
        [
            "flac",
            "--decode",
            "--silent",
            "--stdout",
            "--force-raw-format",
            "--endian=little",
            "--sign=signed",
            str(path),
        ],
        capture_output=True,
        check=True,
    )
    return result.stdout


async def test_audio_written_while_streaming_decodes_back_to_the_same_duration(session, media):
    written = pcm(0, 234) + pcm(234, 1)[:1234]  # 23.4 s and a ragged tail of 617 samples
    archive_ = SessionArchive.open(session.pk, RATE)
    for packet in framecoded.packets(written):
        archive_.write(packet)
    await archive_.close()
    await archive_.close()  # idempotent

    folder = media / audio.archive_dir(session.pk)
    wavs = sorted(folder.glob("*.wav"))
    assert len(wavs) == 5  # 5 s chunks: 4 full and the rest
    assert b"".join(soundfile.read(f, dtype="int16")[0].tobytes() for f in wavs) == written
    assert await sync_to_async(compress_archived_audio)() == 5
    assert not list(folder.glob("*.wav"))
    files = sorted(folder.glob("*.flac"))
    assert [f.stem for f in files] == [f.stem for f in wavs]
    decoded = b"".join(decode_with_flac_cli(f) for f in files)
    assert abs(len(decoded) / 2 / RATE - len(written) / 2 / RATE) < 0.1
    assert decoded == written  # lossless, and the chunks join up in order
    assert b"".join(audio.iter_session_pcm(session.pk)) == written
    await session.arefresh_from_db()
    assert session.audio_file.name == audio.archive_dir(session.pk)


def test_a_segments_slice_holds_exactly_that_segments_audio(session):
    framecoded.archive_audio(session.pk, pcm(0, 200))
    # 7.3–12.1 s crosses the chunk boundary at 10 s.
    sliced = audio.read_pcm(session.pk, 7.3, 12.1, RATE)
    assert frames_in(sliced) == list(range(73, 121))
    assert len(sliced) == round(4.8 * RATE) * 2
    assert audio.read_pcm(session.pk, 19.5, 25.0, RATE) == pcm(195, 5)  # clipped to the archived audio
    assert audio.read_pcm(session.pk, 30.0, 31.0, RATE) == b""


def test_a_reopened_session_continues_after_the_archived_audio(session):
    framecoded.archive_audio(session.pk, pcm(0, 72))
    framecoded.archive_audio(session.pk, pcm(72, 60))
    assert frames_in(audio.read_pcm(session.pk, 6.5, 8.0, RATE)) == list(range(65, 80))
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == list(range(0, 132))


def test_a_resume_at_a_known_stream_time_keeps_lost_audio_a_gap(session):
    framecoded.archive_audio(session.pk, pcm(0, 70))
    framecoded.archive_audio(session.pk, pcm(90, 20), at=9.0)  # 7–9 s never reached the archive
    sliced = audio.read_pcm(session.pk, 6.0, 11.0, RATE)
    samples = np.frombuffer(sliced, dtype="<i2")
    assert frames_in(sliced[: 10 * framecoded.FRAME * 2]) == list(range(60, 70))
    assert not samples[RATE : 3 * RATE].any()  # the gap is silence
    assert frames_in(sliced[3 * RATE * 2 :]) == list(range(90, 110))


def test_a_resume_at_an_earlier_stream_time_overwrites_the_overlap(session):
    framecoded.archive_audio(session.pk, pcm(0, 70))
    framecoded.archive_audio(session.pk, pcm(500, 20), at=6.0)
    expected = [*range(50, 60), *range(500, 520)]
    assert frames_in(audio.read_pcm(session.pk, 5.0, 9.0, RATE)) == expected
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == [*range(0, 60), *range(500, 520)]


CRASHING_RELAY = """
import asyncio, sys, django
django.setup()
from tests.support.framecoded import RATE, pcm
from transcription.archive.audio import SessionArchive

async def main():
    archive = SessionArchive.open(int(sys.argv[1]), RATE)
    for frame in range(173):
        archive.write(pcm(frame, 1))
    print("wrote 17.3 s", flush=True)
    await asyncio.sleep(3600)  # never closed: the test kills the process

asyncio.run(main())
"""


def three_whole_chunks(folder: Path) -> bool:
    files = sorted(folder.glob("*.wav"))
    try:
        return len(files) == 3 and all(len(soundfile.read(f)[0]) == 5 * RATE for f in files)
    except soundfile.LibsndfileError:
        return False  # still being written


@pytest.mark.slow
def test_a_crash_leaves_all_but_the_last_few_seconds_decodable(session, media):
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RELAY, str(session.pk)],
        cwd=ROOT,
        env=child_env(MEDIA_ROOT=str(media), DJANGO_SETTINGS_MODULE="liveblog_site.settings"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert child.stdout.readline().decode().strip() == "wrote 17.3 s", child.stderr.read().decode()
        folder = media / audio.archive_dir(session.pk)
        deadline = time.monotonic() + 60
        while not three_whole_chunks(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    files = sorted(folder.glob("*.wav"))
    assert [f.name for f in files] == ["000000000000-80000.wav", "000000080000-80000.wav", "000000160000-80000.wav"]
    decoded = b"".join(soundfile.read(f, dtype="int16")[0].tobytes() for f in files)
    assert decoded == pcm(0, 150)  # only the unfinished chunk (2.3 s < one 5 s chunk) was lost
    assert frames_in(audio.read_pcm(session.pk, 0, 17.3, RATE)) == list(range(150))


def test_a_chunk_cut_short_by_a_crash_does_not_hide_the_rest(session, media):
    framecoded.archive_audio(session.pk, pcm(0, 100))
    whole = audio.list_chunks(session.pk)[0]
    store = audio.storage()
    with store.open(whole.name, "rb") as f:
        data = f.read()
    store.delete(whole.name)
    store.save(whole.name, ContentFile(data[:20]))  # a save torn by the crash
    assert frames_in(audio.read_pcm(session.pk, 4.0, 6.0, RATE)) == [0, *range(50, 60)]


async def test_writing_never_waits_for_storage(session, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.support.framecoded.GatedStorage"}}
    framecoded.GatedStorage.gate.clear()
    framecoded.GatedStorage.stalled = 0
    archive_ = SessionArchive.open(session.pk, RATE)
    archive_.write(pcm(0, 100))
    while framecoded.GatedStorage.stalled == 0:  # the first chunk's save is now stuck in the store
        await asyncio.sleep(0.01)
    for frame in range(100, 300):  # 20 s more while the store is stalled: every write returns
        archive_.write(pcm(frame, 1))
    assert audio.list_chunks(session.pk) == []
    framecoded.GatedStorage.gate.set()
    await archive_.close()
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == list(range(300))


async def test_a_stalled_store_drops_audio_beyond_its_bound_but_keeps_stream_time(session, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.support.framecoded.GatedStorage"}}
    settings.AUDIO_ARCHIVE_MAX_PENDING_CHUNKS = 2
    framecoded.GatedStorage.gate.clear()
    framecoded.GatedStorage.stalled = 0
    archive_ = SessionArchive.open(session.pk, RATE)
    archive_.write(pcm(0, 300))  # six chunks while the store is stalled: two are held, four dropped
    framecoded.GatedStorage.gate.set()
    while len(audio.list_chunks(session.pk)) < 2:  # the store catches up
        await asyncio.sleep(0.01)
    archive_.write(pcm(300, 50))
    await archive_.close()
    assert [c.start // RATE for c in audio.list_chunks(session.pk)] == [0, 5, 30]
    assert frames_in(audio.read_pcm(session.pk, 9.0, 31.0, RATE)) == [*range(90, 100), 0, *range(300, 310)]


async def test_a_failed_save_loses_that_chunk_only_and_keeps_stream_time(session, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.support.framecoded.FailingStorage"}}
    framecoded.FailingStorage.failed = 0
    archive_ = SessionArchive.open(session.pk, RATE)
    archive_.write(pcm(0, 120))
    await archive_.close()
    assert framecoded.FailingStorage.failed == 1
    assert [c.start for c in audio.list_chunks(session.pk)] == [5 * RATE, 10 * RATE]
    assert frames_in(audio.read_pcm(session.pk, 5.0, 12.0, RATE)) == list(range(50, 120))
