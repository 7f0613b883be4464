"""The archive's compaction: the web process saves WAV chunks, a worker turns them into FLAC, and what
readers get stays the same, whenever the worker stops and however many run at once."""

import io
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import soundfile
from django.core.files.storage import FileSystemStorage
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from liveblog_site.celery import app
from tests.support import factories, framecoded
from tests.support.framecoded import RATE, frames_in, pcm
from transcription.archive import audio, compaction
from transcription.models import StreamSession
from transcription.tasks import compress_archived_audio, purge_expired_audio

# Audio is archived from worker threads, which see only committed rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]

LONG_AGO = time.time() - 3600  # well past compaction.LEFTOVER_AFTER


@pytest.fixture
def session(event, journalist) -> StreamSession:
    return factories.stream_session(event, journalist)


def folder(media: Path, session: StreamSession) -> Path:
    return media / audio.archive_dir(session.pk)


def files_in(media: Path, session: StreamSession) -> list[str]:
    return sorted(path.name for path in folder(media, session).iterdir())


def samples_by_chunk(media: Path, session: StreamSession) -> dict[str, bytes]:
    """Each file's decoded samples, by its name without the format."""
    return {
        path.name.rsplit(".", 1)[0]: soundfile.read(path, dtype="int16")[0].tobytes()
        for path in folder(media, session).iterdir()
    }


def test_the_live_archive_saves_wav_and_the_task_turns_it_into_flac_of_the_same_samples(session, media):
    framecoded.archive_audio(session.pk, pcm(0, 123))
    stems = ["000000000000-80000", "000000080000-80000", "000000160000-36800"]
    assert files_in(media, session) == [f"{stem}.wav" for stem in stems]
    first = (folder(media, session) / f"{stems[0]}.wav").read_bytes()
    assert first[:4] == b"RIFF" and len(first) == audio.WAV_HEADER_BYTES + 2 * 80000
    live = samples_by_chunk(media, session)
    assert b"".join(live[stem] for stem in stems) == pcm(0, 123)

    assert compress_archived_audio() == 3
    assert files_in(media, session) == [f"{stem}.flac" for stem in stems]
    assert samples_by_chunk(media, session) == live
    assert compress_archived_audio() == 0
    assert files_in(media, session) == [f"{stem}.flac" for stem in stems]


def everything_read(client, session: StreamSession, segment) -> dict:
    download = client.get(reverse("transcripts:session_audio", args=[session.pk]))
    played = client.get(reverse("transcripts:segment_audio", args=[segment.pk]))
    return {
        "chunks": [(c.start, c.frames) for c in audio.list_chunks(session.pk)],
        "slice": audio.read_pcm(session.pk, 7.3, 12.1, RATE),
        "stretch": b"".join(audio.Stretch(session.pk, 3.0, None, RATE).pcm()),
        "session": b"".join(audio.iter_session_pcm(session.pk)),
        "download": soundfile.read(io.BytesIO(b"".join(download.streaming_content)), dtype="int16")[0].tobytes(),
        "segment": b"".join(played.streaming_content),
    }


def test_reading_is_the_same_before_and_after_compaction_and_while_both_formats_exist(
    client, journalist, session, media
):
    framecoded.archive_audio(session.pk, pcm(0, 123))
    framecoded.archive_audio(session.pk, pcm(300, 30), at=15.0)  # a resume after 2.7 s lost to a crash
    segment = factories.segment(session, "Across a chunk boundary.", start=7.3, end=12.1)
    client.force_login(journalist)
    before = everything_read(client, session, segment)
    assert before["chunks"] == [(0, 80000), (80000, 80000), (160000, 36800), (240000, 48000)]
    assert frames_in(before["session"]) == [*range(0, 123), 0, *range(300, 330)]
    assert frames_in(before["download"]) == frames_in(before["session"])
    wavs = {path.name: path.read_bytes() for path in folder(media, session).iterdir()}

    assert compress_archived_audio() == 4
    assert everything_read(client, session, segment) == before

    # Compactions stopped by a crash: one after saving a whole FLAC, one partway through saving it.
    for name, data in sorted(wavs.items())[:2]:
        (folder(media, session) / name).write_bytes(data)
    torn = folder(media, session) / "000000080000-80000.flac"
    torn.write_bytes(torn.read_bytes()[:300])
    assert len(files_in(media, session)) == 6
    assert everything_read(client, session, segment) == before


def test_a_flac_cut_short_by_a_crash_keeps_its_wav_until_it_is_written_again(session, media):
    framecoded.archive_audio(session.pk, pcm(0, 50))
    wav = folder(media, session) / "000000000000-80000.wav"
    flac = wav.with_suffix(".flac")
    flac.write_bytes(audio.encode_flac(pcm(0, 50), RATE)[:1000])

    # Just written, it may be another worker's save still under way: both stay.
    assert compress_archived_audio() == 0
    assert wav.exists() and len(flac.read_bytes()) == 1000
    assert frames_in(audio.read_pcm(session.pk, 0, 5, RATE)) == list(range(50))

    os.utime(flac, (LONG_AGO, LONG_AGO))
    assert compress_archived_audio() == 0  # a leftover: deleted, and the WAV compressed by the next pass
    assert files_in(media, session) == ["000000000000-80000.wav"]
    assert compress_archived_audio() == 1
    assert files_in(media, session) == ["000000000000-80000.flac"]
    assert frames_in(audio.read_pcm(session.pk, 0, 5, RATE)) == list(range(50))


def test_a_wav_still_being_saved_waits_and_one_cut_short_by_a_crash_is_compressed_as_it_is(session, media):
    framecoded.archive_audio(session.pk, pcm(0, 50))
    wav = folder(media, session) / "000000000000-80000.wav"
    wav.write_bytes(wav.read_bytes()[: audio.WAV_HEADER_BYTES + 2 * 30000])  # the header says 80000 frames

    assert compress_archived_audio() == 0
    assert files_in(media, session) == ["000000000000-80000.wav"]

    os.utime(wav, (LONG_AGO, LONG_AGO))
    assert compress_archived_audio() == 1
    assert files_in(media, session) == ["000000000000-80000.flac"]
    assert audio.read_pcm(session.pk, 0, 5, RATE) == pcm(0, 50)[: 2 * 30000] + bytes(2 * 50000)


def test_a_resume_over_compressed_audio_keeps_the_new_audio(session, media):
    framecoded.archive_audio(session.pk, pcm(0, 100))
    assert compress_archived_audio() == 2
    old_flac = folder(media, session) / "000000080000-80000.flac"
    os.utime(old_flac, (LONG_AGO, LONG_AGO))
    # The journalist resumed at 5 s: the same chunk name as the compressed one, newer audio.
    framecoded.archive_audio(session.pk, pcm(500, 50), at=5.0)
    assert files_in(media, session) == ["000000000000-80000.flac", "000000080000-80000.flac", "000000080000-80000.wav"]
    resumed = [*range(0, 50), *range(500, 550)]
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == resumed

    compress_archived_audio()  # the old FLAC goes first: it does not hold the chunk's audio
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == resumed
    compress_archived_audio()
    assert files_in(media, session) == ["000000000000-80000.flac", "000000080000-80000.flac"]
    assert frames_in(b"".join(audio.iter_session_pcm(session.pk))) == resumed


class SlowSavingStorage(FileSystemStorage):
    """Saves take a while, as to a remote store, so two workers compressing at once save the same chunk."""

    saved: list[str] = []

    def _save(self, name, content):
        SlowSavingStorage.saved.append(name)
        time.sleep(0.05)
        return super()._save(name, content)


@pytest.mark.parametrize("backend", ["django.core.files.storage.FileSystemStorage", f"{__name__}.SlowSavingStorage"])
def test_two_workers_at_once_lose_nothing_and_leave_one_file_per_chunk(session, media, settings, backend):
    framecoded.archive_audio(session.pk, pcm(0, 300))
    live = samples_by_chunk(media, session)
    assert len(live) == 6
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend}}
    SlowSavingStorage.saved = []
    together = threading.Barrier(2)
    compressed = []

    def worker():
        try:
            together.wait()
            compressed.append(compress_archived_audio())
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert len(compressed) == 2 and 6 <= sum(compressed) <= 12  # each WAV deleted, some by both workers

    assert files_in(media, session) == sorted(f"{stem}.flac" for stem in live)
    assert samples_by_chunk(media, session) == live
    assert b"".join(audio.iter_session_pcm(session.pk)) == pcm(0, 300)
    if backend.endswith("SlowSavingStorage"):
        assert len(SlowSavingStorage.saved) > 6, "the workers never raced to save the same chunk"
    assert compress_archived_audio() == 0
    assert files_in(media, session) == sorted(f"{stem}.flac" for stem in live)


def test_only_open_and_recently_ended_sessions_are_scanned_and_the_daily_purge_sweeps_the_rest(
    event, journalist, other_journalist, media
):
    live = factories.stream_session(event, journalist)
    ended = factories.stream_session(event, other_journalist)
    framecoded.archive_audio(live.pk, pcm(0, 50))
    framecoded.archive_audio(ended.pk, pcm(0, 50))
    now = timezone.now()
    StreamSession.objects.filter(pk=ended.pk).update(
        status=StreamSession.Status.ENDED, started_at=now - timedelta(days=3), ended_at=now - timedelta(days=2)
    )
    assert compaction.recent_session_ids() == [live.pk]

    assert compress_archived_audio() == 1
    assert files_in(media, live) == ["000000000000-80000.flac"]
    assert files_in(media, ended) == ["000000000000-80000.wav"]

    assert purge_expired_audio() == 0  # within the event's retention: kept, and compressed
    assert files_in(media, ended) == ["000000000000-80000.flac"]
    assert audio.read_pcm(ended.pk, 0, 5, RATE) == pcm(0, 50)


def test_beat_compresses_every_audio_compress_seconds(settings):
    app.finalize()
    entry = app.conf.beat_schedule["compress archived audio"]
    assert entry["task"] == "transcription.tasks.compress_archived_audio" and entry["task"] in app.tasks
    assert entry["schedule"] == settings.AUDIO_COMPRESS_SECONDS == 60.0
    assert entry["options"]["expires"] == 60.0  # a pass that waited a whole interval gives way to the next
