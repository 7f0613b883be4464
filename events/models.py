"""The event: its schedule, its journalists, its speech and drafting settings, and its change number for readers."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.urls import reverse
from django.utils import timezone

from events.signals import event_changed, event_ended, event_went_live

MAX_AUDIO_RETENTION_DAYS = 3650


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London).")


class EventQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status=Event.Status.LIVE)

    def public(self):
        return self.filter(is_public=True)

    def due_to_go_live(self, now):
        """Scheduled events whose editor ticked *Go live at start time*, and whose start has come."""
        return self.filter(status=Event.Status.SCHEDULED, go_live_at_start=True, starts_at__lte=now)


class Event(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    is_public = models.BooleanField(default=True, help_text="Shown on the public index and pages.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    go_live_at_start = models.BooleanField(
        "go live at start time", default=False, help_text="The event goes live by itself when its start time comes."
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    language = models.CharField(max_length=16, default="en", help_text="Speech language code (en, multi, de…).")
    diarize = models.BooleanField(default=False, help_text="Label speakers in the transcript.")
    batch_interval_seconds = models.PositiveIntegerField(
        default=30, help_text="How often new transcript is sent for drafting, in seconds."
    )
    auto_publish = models.BooleanField(default=False, help_text="Publish drafts at once, without an editor.")
    readers_hear_quotes = models.BooleanField(
        "let readers hear quotes",
        default=False,
        help_text="Each checked quote in a published post gets a play button with the speaker's own audio.",
    )
    glossary = models.TextField(blank=True, help_text="Names and terms, one per line: they steer speech and drafts.")
    style_notes = models.TextField(blank=True, help_text="Drafting notes: tone, names to spell out, what to avoid.")
    journalists = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_events")
    credit_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Drafting pauses past this many credits.")
    drafting_paused_reason = models.CharField(max_length=200, blank=True)
    audio_retention_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_AUDIO_RETENTION_DAYS)],
        help_text=f"Archived audio is purged this many days after its session ends (1 to {MAX_AUDIO_RETENTION_DAYS}).",
    )
    last_batched_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped under the event's row lock at every change readers can see: the readers' cursor.
    change_seq = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["scheduled", "live", "ended"]), name="event_status_valid"),
            models.CheckConstraint(
                condition=Q(batch_interval_seconds__gte=5) & Q(batch_interval_seconds__lte=3600),
                name="event_batch_interval_5s_to_1h",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=F("starts_at")),
                name="event_ends_after_start",
            ),
            models.CheckConstraint(condition=~Q(slug=""), name="event_slug_not_empty"),
            models.CheckConstraint(
                condition=Q(audio_retention_days__gte=1) & Q(audio_retention_days__lte=MAX_AUDIO_RETENTION_DAYS),
                name="event_audio_retention_1_to_3650_days",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        if kwargs.get("update_fields") is None:
            # The readers' cursor only moves forward, under the row lock (next_change_seq): an edit
            # made from an instance read before the latest post must not write its older number back.
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields if not f.primary_key]
            kwargs["update_fields"].remove("change_seq")
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._readers_see_change()

    def get_absolute_url(self) -> str:
        return reverse("events:detail", args=[self.slug])

    @property
    def glossary_terms(self) -> list[str]:
        return [line.strip() for line in self.glossary.splitlines() if line.strip()]

    def is_assigned(self, user) -> bool:
        return user.is_authenticated and self.journalists.filter(pk=user.pk).exists()

    def next_change_seq(self) -> int:
        """Take the next reader-visible change number, inside the change's transaction: the UPDATE holds
        the event row until commit, so a reader's cursor never skips a change that commits late."""
        assert transaction.get_connection().in_atomic_block, "next_change_seq needs a transaction"
        Event.objects.filter(pk=self.pk).update(change_seq=F("change_seq") + 1)
        self.change_seq = Event.objects.values_list("change_seq", flat=True).get(pk=self.pk)
        return self.change_seq

    def _readers_see_change(self) -> None:
        """A change number for an edit of the event itself, in the edit's transaction: open pages
        take its title and status."""
        change_seq = self.next_change_seq()
        event_id, slug = self.pk, self.slug
        transaction.on_commit(
            lambda: event_changed.send(sender=Event, event_id=event_id, slug=slug, change_seq=change_seq)
        )

    def go_live(self, user=None) -> bool:
        """Scheduled to live, once: readers see it live; coverage starts now if that is before the start time.
        False when the event was not scheduled (live already, or ended: an ended event never goes live again)."""
        now = timezone.now()
        with transaction.atomic():
            started = Event.objects.filter(pk=self.pk, status=self.Status.SCHEDULED).update(
                status=self.Status.LIVE, starts_at=Least(F("starts_at"), now), updated_at=now
            )
            self.refresh_from_db(fields=["status", "starts_at"])
            if started:
                self._readers_see_change()
        if started:
            event_went_live.send(sender=Event, event_id=self.pk, user=user)
        return bool(started)

    def end(self, user=None) -> bool:
        """Live or scheduled to ended, once: `ends_at` set, readers told, and the apps above finish its streams
        and draft its final batch (events.signals.event_ended). False when it had ended already."""
        now = timezone.now()
        with transaction.atomic():
            ended = (
                Event.objects.filter(pk=self.pk)
                .exclude(status=self.Status.ENDED)
                .update(status=self.Status.ENDED, starts_at=Least(F("starts_at"), now), ends_at=now, updated_at=now)
            )
            self.refresh_from_db(fields=["status", "starts_at", "ends_at"])
            if ended:
                self._readers_see_change()
        if ended:
            event_ended.send(sender=Event, event_id=self.pk, user=user)
        return bool(ended)
