"""How long archived audio is kept (Event.audio_retention_days), and the purge that enforces it.

Audio goes once it outlives its event's retention, counted from the session's end (a session left
open, from its latest audio); a folder whose session is gone goes at once. The purge starts from the
archive's folders, so its work grows with the sessions that still have audio, not with the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from transcription.archive import audio
from transcription.models import StreamSession
from transcription.signals import audio_purged

# Ids per query: far below SQLite's limit on a query's variables.
BATCH = 500
OPEN = (StreamSession.Status.LIVE, StreamSession.Status.PAUSED)


@dataclass
class Expired:
    sessions: list[int] = field(default_factory=list)  # audio past its event's retention
    orphans: list[int] = field(default_factory=list)  # folders whose session no longer exists


def _batches(ids: list[int]):
    for at in range(0, len(ids), BATCH):
        yield ids[at : at + BATCH]


def audio_ended_at(session_id: int, status: str, started_at: datetime, ended_at: datetime | None) -> datetime:
    if status not in OPEN and ended_at is not None:
        return ended_at
    return audio.last_archived_at(session_id) or ended_at or started_at


def find_expired(now: datetime | None = None, *, event_slug: str | None = None) -> Expired:
    """The archive folders to purge now; with event_slug, only that event's sessions (no orphans)."""
    now = now or timezone.now()
    expired = Expired()
    for ids in _batches(audio.archived_session_ids()):
        rows = StreamSession.objects.filter(pk__in=ids).values_list(
            "pk", "event__slug", "event__audio_retention_days", "status", "started_at", "ended_at"
        )
        found = set()
        for pk, slug, days, status, started_at, ended_at in rows:
            found.add(pk)
            if event_slug is not None and slug != event_slug:
                continue
            if audio_ended_at(pk, status, started_at, ended_at) < now - timedelta(days=days):
                expired.sessions.append(pk)
        if event_slug is None:
            expired.orphans.extend(pk for pk in ids if pk not in found)
    return expired


def purge(expired: Expired) -> tuple[int, int]:
    """Delete the archives found expired, and (audio_purged) the public clips cut from them; returns
    (archives purged, files deleted)."""
    purged = files = 0
    for pk in [*expired.sessions, *expired.orphans]:
        deleted = audio.delete_archive(pk)
        purged += bool(deleted)
        files += deleted
    for ids in _batches(expired.sessions):
        StreamSession.objects.filter(pk__in=ids).exclude(audio_file="").update(audio_file="")
        audio_purged.send(sender=StreamSession, session_ids=ids)
    return purged, files


def purge_expired(now: datetime | None = None) -> tuple[int, int]:
    return purge(find_expired(now))
