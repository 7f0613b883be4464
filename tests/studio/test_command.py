"""manage.py stream_audio through Deepgram (the emulator): same relay, same storage, finals printed."""

import wave
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.support.emulators.deepgram import EmulatorThread, Script, silence, word_audio
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
