"""The audio archive's WAV chunks compressed to FLAC by a Celery worker, off the relaying web process.

A WAV is deleted only once a FLAC under its name holds exactly its samples, and readers take the WAV
while both exist: a crash at any step, or two workers on one chunk, loses no audio.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from transcription.archive import audio
from transcription.archive.audio import Chunk
from transcription.models import StreamSession

logger = logging.getLogger(__name__)

# No save of one chunk takes this long: a file this old that is not whole was cut short by a crash.
LEFTOVER_AFTER = timedelta(minutes=10)
# Sessions that ended longer ago are left to the daily sweep.
RECENT = timedelta(days=1)
OPEN = (StreamSession.Status.LIVE, StreamSession.Status.PAUSED)


def _untouched_for(name: str, age: timedelta) -> bool:
    try:
        modified = audio.storage().get_modified_time(name)
    except (NotImplementedError, OSError):
        return False  # a storage that cannot tell never has leftovers cleared: both files stay, nothing is lost
    return timezone.now() - modified > age


def _holds(name: str, samples: np.ndarray, rate: int) -> bool:
    decoded = audio.decode_file(name)
    return decoded is not None and decoded[1] == rate and np.array_equal(decoded[0], samples)


def compress_chunk(wav: Chunk) -> bool:
    """Replace one WAV chunk by a FLAC file of the same samples; True once the WAV is deleted."""
    store = audio.storage()
    decoded = audio.decode_file(wav.name)
    if decoded is None:
        return False  # unreadable (or just compressed by another worker): readers skip it too
    samples, rate = decoded
    if len(samples) != wav.frames and not _untouched_for(wav.name, LEFTOVER_AFTER):
        return False  # still being written, by a storage that writes files in place
    flac = wav.flac_name
    if not store.exists(flac):
        saved = store.save(flac, ContentFile(audio.encode_flac(samples.tobytes(), rate)))
        if saved == flac:
            store.delete(wav.name)
            return True
        # Another worker saved it in the meantime and the storage gave ours a new name: a duplicate.
        store.delete(saved)
    if _holds(flac, samples, rate):
        store.delete(wav.name)
        return True
    if _untouched_for(flac, LEFTOVER_AFTER):
        # Cut short by a crash mid-save, or older audio that a resume has since written over: the WAV
        # is the chunk, and the next pass compresses it anew.
        store.delete(flac)
    return False


def compress_session(session_id: int) -> int:
    """Compress the session's WAV chunks; returns how many were."""
    compressed = 0
    for chunk in audio.list_chunks(session_id):
        if not chunk.is_wav:
            continue
        try:
            compressed += compress_chunk(chunk)
        except Exception:
            # The WAV stays, still readable, for the next pass.
            logger.exception("could not compress audio chunk %s", chunk.name)
    return compressed


def compress_sessions(session_ids: Iterable[int]) -> int:
    return sum(compress_session(pk) for pk in session_ids)


def recent_session_ids(now: datetime | None = None) -> list[int]:
    """The sessions whose archive may still hold WAV: those open, and those that ended within a day."""
    since = (now or timezone.now()) - RECENT
    return list(
        StreamSession.objects.filter(Q(status__in=OPEN) | Q(ended_at__gte=since))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
