"""Celery tasks of transcription: the daily purge of expired audio."""

from celery import shared_task

from transcription import retention


@shared_task(name="transcription.tasks.purge_expired_audio", ignore_result=True)
def purge_expired_audio() -> int:
    """Daily from beat: what `manage.py purge_audio` does. Returns the number of sessions' audio purged."""
    purged, _files = retention.purge_expired()
    return purged
