"""Delete archived audio older than its event's retention (Event.audio_retention_days), and the audio
of sessions that no longer exist.

Run it daily (cron, or the Celery beat entry). The transcript stays; only the audio goes.
"""

from django.core.management.base import BaseCommand, CommandError

from events.models import Event
from transcription.archive import audio, retention


class Command(BaseCommand):
    help = (
        "Delete archived audio past each event's retention period (Event.audio_retention_days), "
        "including sessions left open, and the audio of deleted sessions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be purged; delete nothing.")
        parser.add_argument("--event", help="Only this event (slug); deleted sessions' audio is left for a full run.")

    def handle(self, *args, dry_run: bool = False, event: str | None = None, **options):
        if event is not None and not Event.objects.filter(slug=event).exists():
            raise CommandError(f"No event with the slug {event!r}.")
        expired = retention.find_expired(event_slug=event)
        if dry_run:
            for pk in expired.sessions:
                self.stdout.write(f"would purge session {pk}: {len(audio.list_chunks(pk))} files")
            for pk in expired.orphans:
                self.stdout.write(f"would purge deleted session {pk}: {len(audio.list_chunks(pk))} files")
            return
        purged, files = retention.purge(expired)
        self.stdout.write(self.style.SUCCESS(f"Purged the audio of {purged} sessions ({files} files)."))
