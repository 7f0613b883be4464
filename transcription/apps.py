"""The transcription app: speech into stored transcript segments (above events, below publishing)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TranscriptionConfig(AppConfig):
    name = "transcription"
    verbose_name = _("Transcription")

    def ready(self) -> None:
        # audio connects: a deleted session's audio goes with it; checks registers the speech backend's check.
        from transcription import checks  # noqa: F401
        from transcription.archive import audio  # noqa: F401
