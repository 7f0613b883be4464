"""The transcription app: speech into stored transcript segments (above events, below publishing)."""

from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"

    def ready(self) -> None:
        # audio connects: a deleted session's audio goes with it; checks registers the speech backend's check.
        from transcription import checks  # noqa: F401
        from transcription.archive import audio  # noqa: F401
