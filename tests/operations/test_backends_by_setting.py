"""settings.SPEECH_BACKEND and settings.DRAFTER name the backends by dotted path, whatever keys are set;
a path that names no backend fails clearly, at first use and in `manage.py check`."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from publishing.drafters.base import drafter_class, get_drafter
from publishing.drafters.mavera import MaveraDrafter
from publishing.drafters.offline import OfflineDrafter
from tests.support.audio import speech_wav
from transcription.models import StreamSession
from transcription.speech.base import backend_class
from transcription.speech.offline import OfflineBackend

DEEPGRAM = "transcription.speech.deepgram.DeepgramBackend"
OFFLINE = "transcription.speech.offline.OfflineBackend"


class WhisperBackend(OfflineBackend):
    provider = "whisper"  # a provider no stream session can record


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "key", "provider", "label"),
    [(DEEPGRAM, "", "deepgram", "Deepgram"), (OFFLINE, "dg-key-set-anyway", "offline", "Offline recognizer")],
)
def test_the_studio_shows_the_provider_of_the_backend_the_setting_names(
    client, settings, event, journalist, path, key, provider, label
):
    settings.SPEECH_BACKEND = path
    settings.DEEPGRAM_API_KEY = key
    client.force_login(journalist)
    page = client.get(f"/studio/{event.slug}/").content.decode()
    assert f'data-provider="{provider}"' in page
    assert f'<dd id="provider">{label}</dd>' in page


@pytest.mark.django_db(transaction=True)
def test_a_stream_goes_to_the_backend_the_setting_names_even_with_a_deepgram_key(
    fresh_roles, settings, tmp_path, event, journalist
):
    settings.SPEECH_BACKEND = OFFLINE
    settings.DEEPGRAM_API_KEY = "dg-key-set-anyway"
    settings.DEEPGRAM_URL = "ws://127.0.0.1:9/v1/listen"  # nothing listens: reaching Deepgram would fail the stream
    wav = speech_wav(tmp_path / "hello.wav", ["Hello from the keynote."])
    call_command("stream_audio", event.slug, str(wav), "--fast", stdout=StringIO(), stderr=StringIO())
    session = StreamSession.objects.get()
    assert session.provider == "offline" and session.status == StreamSession.Status.ENDED


def test_the_drafter_is_the_class_the_setting_names_whatever_key_is_set(settings):
    settings.DRAFTER = "publishing.drafters.offline.OfflineDrafter"
    settings.MAVERA_API_KEY = "mvra-key-set-anyway"
    assert type(get_drafter()) is OfflineDrafter
    settings.DRAFTER = "publishing.drafters.mavera.MaveraDrafter"
    settings.MAVERA_API_KEY = ""
    assert type(get_drafter()) is MaveraDrafter


def test_a_speech_backend_path_that_imports_nothing_fails_at_first_use_and_in_the_check(settings):
    settings.SPEECH_BACKEND = "transcription.speech.nowhere.Backend"
    with pytest.raises(ImproperlyConfigured, match=r"SPEECH_BACKEND 'transcription.speech.nowhere.Backend' cannot"):
        backend_class()
    with pytest.raises(SystemCheckError, match=r"transcription.E001.*transcription.speech.nowhere.Backend"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_a_drafter_path_to_something_else_fails_at_first_use_and_in_the_check(settings):
    settings.DRAFTER = "publishing.models.Post"
    with pytest.raises(ImproperlyConfigured, match=r"DRAFTER 'publishing.models.Post' is not a subclass of Drafter"):
        drafter_class()
    with pytest.raises(SystemCheckError, match=r"publishing.E001.*publishing.models.Post"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_a_speech_backend_whose_provider_no_session_records_fails_the_check(settings):
    settings.SPEECH_BACKEND = f"{__name__}.WhisperBackend"
    with pytest.raises(SystemCheckError, match=r"transcription.E002.*'whisper'.*deepgram, offline"):
        call_command("check", stdout=StringIO(), stderr=StringIO())
