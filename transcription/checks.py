"""System check: settings.SPEECH_BACKEND names a speech backend whose provider a stream session can record."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from transcription.models import StreamSession
from transcription.speech.base import backend_class


@checks.register()
def speech_backend_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        backend = backend_class()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="transcription.E001")]
    provider = getattr(backend, "provider", None)
    if provider not in StreamSession.Provider.values:
        return [
            checks.Error(
                f"SPEECH_BACKEND {settings.SPEECH_BACKEND!r} has provider {provider!r}; "
                f"stream sessions record one of {', '.join(StreamSession.Provider.values)}",
                id="transcription.E002",
            )
        ]
    return []
