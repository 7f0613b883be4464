"""The offline recognizer (pocketsphinx) on speech made with espeak-ng, and stream_audio through it."""

import subprocess
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command

from tests.support import audio
from tests.support.audio import CONTENT_WORDS, REAL_RECORDING, SENTENCES, recognised, wav_pcm
from tests.support.recognition import longest_wait_for_a_result, pauses, stream_offline, streamed_text
from tests.support.wer import whole_file_transcript, word_error_rate
from transcription.models import Segment, StreamSession
from transcription.speech.base import StreamOptions, Transcript
from transcription.speech.offline import OfflineBackend


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    return audio.speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES)


async def test_it_recognises_most_content_words_with_a_final_at_each_pause(speech_wav):
    backend = OfflineBackend(StreamOptions())
    await backend.start()
    pcm = wav_pcm(speech_wav)
    for offset in range(0, len(pcm), 3200):
        await backend.send(pcm[offset : offset + 3200])
    await backend.stop()
    results = [item async for item in backend.events() if isinstance(item, Transcript)]

    finals = [r for r in results if r.is_final]
    assert len(finals) == len(SENTENCES), [f.text for f in finals]
    heard = recognised(f.text for f in finals)
    assert len(CONTENT_WORDS & heard) >= 0.7 * len(CONTENT_WORDS), heard
    assert any(not r.is_final for r in results), "interim hypotheses while speaking"
    assert all(a.end <= b.start for a, b in pairwise(finals))
    duration = len(pcm) / 32000
    assert 0 < finals[0].start < finals[-1].end <= duration
    assert all(w["start"] >= finals[0].start for w in finals[0].words)


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_streaming_real_speech_comes_within_five_percent_of_decoding_the_whole_file():
    pcm = wav_pcm(REAL_RECORDING)
    results = await stream_offline(pcm)

    whole = whole_file_transcript(REAL_RECORDING)
    assert word_error_rate(whole, streamed_text(results)) <= 0.05, (whole, streamed_text(results))
    assert longest_wait_for_a_result(results) <= 1.0
    assert sum(result.is_final for result in results) == pauses(pcm) > 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stream_audio_stores_finals_through_the_offline_recognizer(fresh_roles, speech_wav, event, journalist):
    out = StringIO()
    call_command("stream_audio", event.slug, str(speech_wav), "--fast", stdout=out, stderr=StringIO())

    session = StreamSession.objects.get()
    assert session.provider == "offline" and session.status == StreamSession.Status.ENDED
    assert session.journalist == journalist
    assert session.audio_seconds == pytest.approx(len(wav_pcm(speech_wav)) / 32000, abs=0.01)
    segments = list(Segment.objects.filter(session=session).order_by("sequence"))
    assert len(segments) == len(SENTENCES)
    assert len(CONTENT_WORDS & recognised(s.text for s in segments)) >= 0.7 * len(CONTENT_WORDS)
    printed = out.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in printed] == [s.text for s in segments]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stream_audio_reads_other_formats_through_ffmpeg(fresh_roles, speech_wav, tmp_path, event, journalist):
    stereo = tmp_path / "stereo-44k.wav"
    subprocess.run(["sox", "-D", str(speech_wav), "-r", "44100", "-c", "2", str(stereo)], check=True)
    call_command("stream_audio", event.slug, str(stereo), "--fast", stdout=StringIO(), stderr=StringIO())
    texts = Segment.objects.values_list("text", flat=True)
    assert len(CONTENT_WORDS & recognised(texts)) >= 0.6 * len(CONTENT_WORDS)
