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
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from events.languages import MULTI, SPEECH_CODES, LanguageListField, speech_choices
from events.sentences import Sentence
from events.signals import event_changed, event_ended, event_went_live

MAX_AUDIO_RETENTION_DAYS = 3650
# The story so far is drafted again after this many newly published posts, or this many minutes (publishing.summaries).
SUMMARY_EVERY_POSTS = (1, 100)
SUMMARY_EVERY_MINUTES = (1, 1440)
# What an editor may set from the draft queue while the event is live (the admin's form allows 5 s to 1 h).
QUEUE_BATCH_INTERVAL_SECONDS = (15, 120)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            gettext("%(zone)s is not a known time zone (e.g. Europe/London).") % {"zone": repr(value)}
        )


class EventQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status=Event.Status.LIVE)

    def public(self):
        return self.filter(is_public=True)

    def due_to_go_live(self, now):
        """Scheduled events whose editor ticked *Go live at start time*, and whose start has come."""
        return self.filter(status=Event.Status.SCHEDULED, go_live_at_start=True, starts_at__lte=now)

    def drafting_on(self):
        """Events whose drafting is paused neither by an editor nor by the credit cap."""
        return self.filter(drafting_paused_reason="", cap_pause__isnull=True)


class Event(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    title = models.CharField(max_length=200, verbose_name=_("title"))
    slug = models.SlugField(max_length=120, unique=True, verbose_name=_("slug"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True, verbose_name=_("status")
    )
    is_public = models.BooleanField(
        default=True, help_text=_("Shown on the public index and pages."), verbose_name=_("public")
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    go_live_at_start = models.BooleanField(
        _("go live at start time"),
        default=False,
        help_text=_("The event goes live by itself when its start time comes."),
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], verbose_name=_("time zone")
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        default="en",
        choices=speech_choices,
        help_text=_("What the speakers speak: the recognizer listens for it and posts are written in it."),
    )
    speech_languages = LanguageListField(
        _("languages spoken"),
        help_text=_("With several languages: the ones spoken, at least two; posts are written in the first ticked."),
    )
    reader_languages = LanguageListField(
        _("reader editions"),
        help_text=_(
            "Each published post is also translated automatically into these languages, for readers who choose one."
        ),
    )
    diarize = models.BooleanField(
        default=False, help_text=_("Label speakers in the transcript."), verbose_name=_("diarize")
    )
    batch_interval_seconds = models.PositiveIntegerField(
        default=30,
        help_text=_("How often new transcript is sent for drafting, in seconds."),
        verbose_name=_("batch interval (seconds)"),
    )
    auto_publish = models.BooleanField(
        default=False, help_text=_("Publish drafts at once, without an editor."), verbose_name=_("auto-publish")
    )
    readers_hear_quotes = models.BooleanField(
        _("let readers hear quotes"),
        default=False,
        help_text=_("Each checked quote in a published post gets a play button with the speaker's own audio."),
    )
    glossary = models.TextField(
        blank=True,
        help_text=_("Names and terms, one per line: they steer speech and drafts."),
        verbose_name=_("glossary"),
    )
    style_notes = models.TextField(
        blank=True,
        help_text=_("Drafting notes: tone, names to spell out, what to avoid."),
        verbose_name=_("style notes"),
    )
    journalists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_events", verbose_name=_("journalists")
    )
    journalists_publish = models.BooleanField(
        _("journalists publish at once"),
        default=False,
        help_text=_(
            "A quote or post a journalist makes in the studio goes live at once, without an editor "
            "(for journalists with the permission to publish their own posts)."
        ),
    )
    credit_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Drafting pauses past this many credits."), verbose_name=_("credit cap")
    )
    drafting_paused_reason = models.CharField(max_length=200, blank=True, verbose_name=_("drafting paused reason"))
    # While the credit cap pauses drafting (publishing.credits): the credits it counted, so each reader is told why
    # in their own language (pause_reason). Set and lifted under the row lock only.
    cap_pause = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("credit cap pause"))
    audio_retention_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_AUDIO_RETENTION_DAYS)],
        help_text=_("Archived audio is purged this many days after its session ends (1 to 3650)."),
        verbose_name=_("audio retention (days)"),
    )
    summary_every_posts = models.PositiveIntegerField(
        _("draft the story so far every N published posts"),
        default=5,
        validators=[MinValueValidator(SUMMARY_EVERY_POSTS[0]), MaxValueValidator(SUMMARY_EVERY_POSTS[1])],
        help_text=_("A new summary is drafted for an editor after this many new published posts (1 to 100)."),
    )
    summary_every_minutes = models.PositiveIntegerField(
        _("or every M minutes"),
        default=15,
        validators=[MinValueValidator(SUMMARY_EVERY_MINUTES[0]), MaxValueValidator(SUMMARY_EVERY_MINUTES[1])],
        help_text=_("…or this many minutes after the last one, when a post was published since (1 to 1440)."),
    )
    last_batched_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last batched at"))
    # Bumped under the event's row lock at every change readers can see: the readers' cursor.
    change_seq = models.PositiveBigIntegerField(default=0, editable=False, verbose_name=_("change number"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["scheduled", "live", "ended"]), name="event_status_valid"),
            models.CheckConstraint(condition=Q(language__in=SPEECH_CODES), name="event_language_known"),
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
            models.CheckConstraint(
                condition=Q(summary_every_posts__gte=SUMMARY_EVERY_POSTS[0])
                & Q(summary_every_posts__lte=SUMMARY_EVERY_POSTS[1]),
                name="event_summary_every_1_to_100_posts",
            ),
            models.CheckConstraint(
                condition=Q(summary_every_minutes__gte=SUMMARY_EVERY_MINUTES[0])
                & Q(summary_every_minutes__lte=SUMMARY_EVERY_MINUTES[1]),
                name="event_summary_every_1_to_1440_minutes",
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
            # made from an instance read before the latest post must not write its older number back; nor an
            # older cap pause, which publishing.credits sets and lifts under that lock.
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields if not f.primary_key]
            kwargs["update_fields"].remove("change_seq")
            kwargs["update_fields"].remove("cap_pause")
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._readers_see_change()

    def get_absolute_url(self) -> str:
        return reverse("events:detail", args=[self.slug])

    def clean(self) -> None:
        super().clean()
        if self.language == MULTI and len(self.speech_languages or []) < 2:
            raise ValidationError(
                {"speech_languages": gettext("With several languages, tick at least two of the languages spoken.")}
            )
        if self.post_language in (self.reader_languages or []):
            raise ValidationError(
                {"reader_languages": gettext("Posts are written in this language already: untick it.")}
            )

    @property
    def post_language(self) -> str:
        """The language posts are written in: the speech's, or with several, the first ticked (English if none)."""
        if self.language != MULTI:
            return self.language
        spoken = [code for code in self.speech_languages or [] if isinstance(code, str)]
        return spoken[0] if spoken else "en"

    @property
    def drafting_paused(self) -> bool:
        return bool(self.drafting_paused_reason) or self.cap_pause is not None

    def pause_reason(self) -> str:
        """Why drafting is paused, in the active language (an editor's reason as they wrote it); "" when it is not."""
        return str(self.pause_sentence())

    def pause_sentence(self) -> str | Sentence:
        """Why drafting is paused, to be written out for each reader: an editor's reason as they wrote it, or the
        credit cap's sentence; "" when it is not."""
        return self.drafting_paused_reason or self.cap_pause_sentence() or ""

    def cap_pause_sentence(self) -> Sentence | None:
        if self.cap_pause is None:
            return None
        return Sentence.gettext(
            "Credit cap of %(cap)s reached: %(used)s credits used, %(reserved)s reserved, and a batch may need "
            "%(next_batch)s.",
            **self.cap_pause,
        )

    @property
    def editions(self) -> list[str]:
        """The reader editions besides the original: each a language posts are translated into."""
        return [code for code in self.reader_languages or [] if code != self.post_language]

    @property
    def glossary_terms(self) -> list[str]:
        return [line.strip() for line in self.glossary.splitlines() if line.strip()]

    def is_assigned(self, user) -> bool:
        return user.is_authenticated and self.journalists.filter(pk=user.pk).exists()

    def set_batch_interval(self, seconds: int) -> None:
        """The interval from the draft queue: the beat's next tick takes it (publishing.batching), the studio
        shows it within its poll. Readers see nothing of it, so no change number."""
        low, high = QUEUE_BATCH_INTERVAL_SECONDS
        if type(seconds) is not int or not low <= seconds <= high:
            raise ValueError(gettext("The batch interval is %(low)d to %(high)d seconds.") % {"low": low, "high": high})
        Event.objects.filter(pk=self.pk).update(batch_interval_seconds=seconds, updated_at=timezone.now())
        self.batch_interval_seconds = seconds

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
