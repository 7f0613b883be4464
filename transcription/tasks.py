"""Celery tasks of transcription: the archive's audio compressed soon after it is saved, and the
daily purge of expired audio."""

from celery import shared_task

from transcription.archive import audio, compaction, retention


@shared_task(name="transcription.tasks.compress_archived_audio", ignore_result=True)
def compress_archived_audio() -> int:
    """Every AUDIO_COMPRESS_SECONDS from beat: the WAV chunks of open and recently ended sessions
    to FLAC. Returns the number of chunks compressed."""
    return compaction.compress_sessions(compaction.recent_session_ids())


@shared_task(name="transcription.tasks.purge_expired_audio", ignore_result=True)
def purge_expired_audio() -> int:
    """Daily from beat: what `manage.py purge_audio` does, then compresses any WAV chunk left in the
    archive (sessions that ended while no worker ran). Returns the number of sessions' audio purged."""
    purged, _files = retention.purge_expired()
    # After the purge, not beside it: compressing a folder as it is purged could save a FLAC back into it.
    compaction.compress_sessions(audio.archived_session_ids())
    return purged
