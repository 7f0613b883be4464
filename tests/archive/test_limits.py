"""Numbers from clients: a resume's stream time and dropped audio are held to what the server has, and
audio downloads read long gaps in bounded pieces."""

import io
import tracemalloc

import pytest
import soundfile
from asgiref.sync import sync_to_async
from django.urls import reverse

from tests.support import factories, framecoded
from tests.support.audio import wav_pcm
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from tests.support.framecoded import RATE, frames_in, pcm
from transcription.archive import audio
from transcription.archive.audio import clamp_resume
from transcription.models import Segment, StreamSession

# Audio is archived from worker threads, which see only committed rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles", "media")]

WEEK = 7 * 86400
PIECE_BYTES = 2 * 5 * RATE  # one 5 s archive chunk


@sync_to_async
def session_row(session_id: int) -> StreamSession:
    return StreamSession.objects.get(pk=session_id)


async def test_a_resume_claiming_a_week_lost_in_flight_goes_on_near_the_real_audio(
    deepgram, event, journalist, settings
):
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    spoken = word_audio([1, 2, 3]) + silence(0.5)
    await first.audio(spoken)
    await first.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word3" in m["text"])
    await first.disconnect()
    received = len(spoken) / 32000

    second = Studio(event.slug, journalist)
    assert await second.connect()
    resumed = await second.start(
        session=ready["session"], stream_time=WEEK - 1, dropped_seconds=WEEK - 1, last_sequence=-1
    )
    assert resumed["type"] == "ready" and resumed["session"] == ready["session"]
    gap = settings.STUDIO_RESUME_MAX_GAP_SECONDS
    assert received < resumed["stream_time"] <= received + gap + 0.01
    more = word_audio([4, 5]) + silence(0.5)
    await second.audio(more)
    await second.stop()
    await second.disconnect()

    session = await session_row(ready["session"])
    assert session.audio_seconds == pytest.approx(resumed["stream_time"] + len(more) / 32000, abs=0.002)
    assert session.audio_seconds < received + gap + 10
    # The session is seconds old: the audio it may say it dropped is bounded by its age and the gap.
    assert session.dropped_audio_seconds <= gap + 3600
    chunks = await sync_to_async(audio.list_chunks)(ready["session"])
    assert chunks and max(c.end for c in chunks) / RATE == pytest.approx(session.audio_seconds, abs=0.01)
    segments = await sync_to_async(list)(Segment.objects.filter(session_id=ready["session"]).order_by("sequence"))
    assert segments[-1].end < received + gap + 10


def test_the_clamp_keeps_honest_figures_and_bounds_the_rest():
    figures = {"received": 60.0, "archived": 55.0, "session_age": 120.0, "dropped_before": 0.0, "max_gap": 300.0}
    assert clamp_resume(60.3, 0.5, **figures) == (60.3, 0.5)  # frames lost in flight stay a gap
    assert clamp_resume(None, 0.0, **figures) == (60.0, 0.0)
    assert clamp_resume(10.0, 0.0, **figures) == (60.0, 0.0)  # never before what the server holds
    assert clamp_resume(WEEK - 1, WEEK - 1, **figures) == (360.0, 420.0)
    # The archive saw audio the database has not recorded yet (progress is saved every few seconds).
    assert clamp_resume(70.0, 0.0, **{**figures, "received": 50.0, "archived": 65.0}) == (70.0, 0.0)
    # Resuming again and again cannot pile gaps up past the session's age.
    assert clamp_resume(WEEK - 1, 0.0, **{**figures, "received": 400.0, "archived": 0.0}) == (420.0, 0.0)
    # A brand-new session: a stream time from the client is a gap before any audio, within bounds too.
    new = {"received": 0.0, "archived": 0.0, "session_age": 0.0, "dropped_before": 0.0, "max_gap": 300.0}
    assert clamp_resume(WEEK - 1, WEEK - 1, **new) == (300.0, 300.0)
    assert clamp_resume(0.0, 5.0, **{**figures, "dropped_before": 419.0}) == (60.0, 1.0)


@pytest.fixture
def gapped_session(event, journalist) -> StreamSession:
    """One second of audio, then an hour of nothing, then another second (a resume far ahead)."""
    session = factories.stream_session(event, journalist)
    framecoded.archive_audio(session.pk, pcm(1, 10))
    framecoded.archive_audio(session.pk, pcm(100, 10), at=3600.0)
    return session


def peak_memory(read) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = read()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_a_segment_over_an_hour_long_gap_streams_in_pieces_of_one_chunk(client, editor, gapped_session):
    segment = factories.segment(gapped_session, "Across the gap.", start=0.5, end=3601.0)
    client.force_login(editor)
    url = reverse("transcripts:segment_audio", args=[segment.pk])

    def read():
        response = client.get(url)
        pieces = [len(piece) for piece in response.streaming_content]
        tail = b"".join(client.get(url, HTTP_RANGE=f"bytes={44 + 2 * 3599 * RATE}-").streaming_content)
        return response, pieces, tail

    peak, (response, pieces, tail) = peak_memory(read)
    hour = 2 * 3600 * RATE
    assert response.status_code == 200 and int(response["Content-Length"]) == 44 + 2 * round(3600.5 * RATE)
    assert sum(pieces) == int(response["Content-Length"]) and max(pieces) <= PIECE_BYTES
    assert peak < hour / 8, f"peak {peak} bytes reading an hour ({hour} bytes) of audio"
    assert frames_in(tail) == [0, *range(100, 110)]  # the last second of silence, then the audio after the gap


def test_a_session_download_over_an_hour_long_gap_reads_it_in_pieces(client, journalist, gapped_session):
    client.force_login(journalist)
    url = reverse("transcripts:session_audio", args=[gapped_session.pk])
    peak, body = peak_memory(lambda: b"".join(client.get(url).streaming_content))
    hour = 2 * 3600 * RATE
    assert peak < hour / 8, f"peak {peak} bytes downloading an hour ({hour} bytes) of audio"
    samples, rate = soundfile.read(io.BytesIO(body), dtype="int16")
    assert rate == RATE and len(samples) == 3601 * RATE
    assert frames_in(samples[:RATE].tobytes()) == list(range(1, 11))
    assert not samples[RATE : 3600 * RATE].any()
    assert frames_in(samples[3600 * RATE :].tobytes()) == list(range(100, 110))


def test_segment_audio_still_plays_exactly_its_stretch(client, editor, gapped_session):
    segment = factories.segment(gapped_session, "Short.", start=0.3, end=0.8)
    client.force_login(editor)
    response = client.get(reverse("transcripts:segment_audio", args=[segment.pk]))
    assert frames_in(wav_pcm(b"".join(response.streaming_content))) == [4, 5, 6, 7, 8]
