"""Delete archived audio older than its event's retention (Event.audio_retention_days).

Run it daily (cron, or a Celery beat entry). The transcript stays; only the audio goes.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import Event
from transcription import archive
from transcription.models import StreamSession


def expired_sessions(now=None):
    """Finished sessions whose audio has outlived their event's retention."""
    now = now or timezone.now()
    expired = Q(pk__in=[])
    for event_id, days in Event.objects.values_list("pk", "audio_retention_days"):
        expired |= Q(event_id=event_id, finished_at__lt=now - timedelta(days=days))
    return (
        StreamSession.objects.exclude(status__in=[StreamSession.Status.LIVE, StreamSession.Status.PAUSED])
        .filter(audio_seconds__gt=0)
        .annotate(finished_at=Coalesce("ended_at", "started_at"))
        .filter(expired)
    )


def purge(sessions) -> tuple[int, int]:
    """Delete the sessions' audio; returns (sessions purged, files deleted)."""
    purged = files = 0
    for session in sessions.only("pk"):
        deleted = archive.delete_archive(session.pk)
        if deleted:
            purged += 1
            files += deleted
        StreamSession.objects.filter(pk=session.pk).exclude(audio_file="").update(audio_file="")
    return purged, files


class Command(BaseCommand):
    help = "Delete archived audio past each event's retention period (Event.audio_retention_days)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be purged; delete nothing.")
        parser.add_argument("--event", help="Only this event (slug).")

    def handle(self, *args, dry_run: bool = False, event: str | None = None, **options):
        sessions = expired_sessions()
        if event:
            sessions = sessions.filter(event__slug=event)
        if dry_run:
            for session in sessions.select_related("event"):
                count = len(archive.list_chunks(session.pk))
                if count:
                    self.stdout.write(f"would purge session {session.pk} ({session.event.slug}): {count} files")
            return
        purged, files = purge(sessions)
        self.stdout.write(self.style.SUCCESS(f"Purged the audio of {purged} sessions ({files} files)."))
