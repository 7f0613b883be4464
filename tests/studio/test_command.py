"""manage.py stream_audio through Deepgram (the emulator): same relay, same storage, finals printed."""

import os
import signal
import sys
import wave
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.support.emulators.deepgram import EmulatorThread, Script, silence, word_audio
from tests.support.processes import Process, child_env, wait_until
from transcription.archive.audio import iter_session_pcm
from transcription.models import Segment, StreamSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]


@pytest.fixture
def deepgram(settings):
    with EmulatorThread(Script(api_key="dg-test-key", drop_every=2.0)) as emulator:
        settings.SPEECH_BACKEND = "transcription.speech.deepgram.DeepgramBackend"
        settings.DEEPGRAM_API_KEY = "dg-test-key"
        settings.DEEPGRAM_URL = emulator.url
        yield emulator


def write_wav(path, pcm: bytes):
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(pcm)
    return path


@pytest.mark.slow
def test_it_streams_a_wav_and_prints_finals_as_they_arrive(deepgram, tmp_path, event, journalist):
    pcm = b"".join(word_audio([i, i + 1]) + silence(0.5) for i in range(0, 12, 2))
    out = StringIO()
    call_command("stream_audio", event.slug, str(write_wav(tmp_path / "talk.wav", pcm)), "--fast", stdout=out)

    session = StreamSession.objects.get()
    assert session.provider == "deepgram" and session.status == StreamSession.Status.ENDED
    assert session.reconnects >= 1, "the emulator dropped the upstream every 2 s of audio"
    segments = list(Segment.objects.filter(session=session).order_by("sequence"))
    assert " ".join(s.text for s in segments).split() == [f"word{i}" for i in range(12)]
    assert out.getvalue().splitlines() == [f"[{s.start:8.2f} – {s.end:8.2f}] {s.text}" for s in segments]
    assert session.audio_file, "the session's audio was archived"


def test_it_refuses_an_unknown_event(tmp_path, journalist):
    with pytest.raises(CommandError, match="No event"):
        call_command("stream_audio", "nope", str(write_wav(tmp_path / "a.wav", silence(1))))


def test_it_refuses_a_user_not_assigned(tmp_path, event, other_journalist):
    with pytest.raises(CommandError, match="not a journalist assigned"):
        call_command("stream_audio", event.slug, str(write_wav(tmp_path / "a.wav", silence(1))), "--as", "other")


@pytest.mark.slow
def test_sigterm_ends_the_stream_as_stop_does_with_every_final_stored(tmp_path, event, journalist, media):
    """A supervisor stopping the command: it stops reading, and every final for the audio sent is stored."""
    pcm = b"".join(word_audio([i, i + 1, i + 2]) + silence(0.5) for i in range(0, 60, 3))  # 34 s
    with EmulatorThread(Script(api_key="dg-test-key", finish_seconds=0.5)) as emulator:
        env = child_env(DEEPGRAM_API_KEY="dg-test-key", DEEPGRAM_URL=emulator.url, MEDIA_ROOT=str(media))
        wav = str(write_wav(tmp_path / "talk.wav", pcm))
        command = Process("stream_audio", [sys.executable, "manage.py", "stream_audio", event.slug, wav], env)
        wait_until(lambda: Segment.objects.count() >= 2, 60, command, what="two finals stored")
        os.killpg(command.popen.pid, signal.SIGTERM)
        assert command.popen.wait(timeout=60) == 0, command.output()

    session = StreamSession.objects.get()
    assert session.status == StreamSession.Status.ENDED
    archived = b"".join(iter_session_pcm(session.pk))
    assert 0 < len(archived) < len(pcm) and archived == pcm[: len(archived)]
    assert session.audio_seconds == pytest.approx(len(archived) / 32000)
    assert emulator.received_bytes == len(archived), "all the audio read went to the provider, once"
    heard = " ".join(Segment.objects.filter(session=session).order_by("sequence").values_list("text", flat=True))
    # Word k of utterance u starts at 1.7 u + 0.4 k s: every word begun before the stop is stored.
    begun = [f"word{3 * u + k}" for u in range(20) for k in range(3) if 1.7 * u + 0.4 * k < len(archived) / 32000]
    assert heard.split() == begun, "every word up to the stop heard once, in order, the last ones too"
    command.assert_no_traceback()
