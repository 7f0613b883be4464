from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"

    def ready(self) -> None:
        from transcription import archive  # noqa: F401  (connects: a deleted session's audio goes with it)
