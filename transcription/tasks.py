from celery import shared_task

from transcription.management.commands.purge_audio import expired_sessions, purge


@shared_task(name="transcription.tasks.purge_expired_audio", ignore_result=True)
def purge_expired_audio() -> int:
    """Daily from beat: what `manage.py purge_audio` does. Returns the number of sessions purged."""
    purged, _files = purge(expired_sessions())
    return purged
