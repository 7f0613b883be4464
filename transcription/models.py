"""Stream sessions, their transcript segments, corrections and speaker names."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class StreamSession(models.Model):
    """One journalist's continuous broadcast to one event, across socket reconnects."""

    class Status(models.TextChoices):
        LIVE = "live", _("Live")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")
        FAILED = "failed", _("Failed")

    class Provider(models.TextChoices):
        DEEPGRAM = "deepgram", "Deepgram"
        OFFLINE = "offline", _("Offline recognizer")

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="stream_sessions", verbose_name=_("event")
    )
    journalist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stream_sessions", verbose_name=_("journalist")
    )
    provider = models.CharField(max_length=16, choices=Provider.choices, verbose_name=_("provider"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.LIVE, db_index=True, verbose_name=_("status")
    )
    request_ids = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Upstream request ids, one per connection."),
        verbose_name=_("request ids"),
    )
    audio_seconds = models.FloatField(
        default=0.0, help_text=_("Audio received from the journalist."), verbose_name=_("audio seconds")
    )
    reconnects = models.PositiveIntegerField(
        default=0, help_text=_("Upstream and studio reconnects."), verbose_name=_("reconnects")
    )
    dropped_audio_seconds = models.FloatField(
        default=0.0, help_text=_("Audio lost to full buffers."), verbose_name=_("dropped audio seconds")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    audio_file = models.FileField(
        upload_to="audio/%Y/%m/",
        blank=True,
        help_text=_("Archived audio of the session."),
        verbose_name=_("audio file"),
    )
    audio_sample_rate = models.PositiveIntegerField(default=16000, verbose_name=_("audio sample rate"))

    class Meta:
        verbose_name = _("stream session")
        verbose_name_plural = _("stream sessions")
        ordering = ["-started_at"]
        permissions = [("stream_audio", "Can stream audio to the events they are assigned to")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["live", "paused", "ended", "failed"]), name="session_status_valid"
            ),
            models.CheckConstraint(condition=Q(provider__in=["deepgram", "offline"]), name="session_provider_valid"),
            models.CheckConstraint(
                condition=Q(audio_seconds__gte=0) & Q(dropped_audio_seconds__gte=0), name="session_audio_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")), name="session_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["event", "journalist"],
                condition=Q(status__in=["live", "paused"]),
                name="one_open_session_per_journalist_and_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.journalist} · {self.started_at:%Y-%m-%d %H:%M}"


class SegmentQuerySet(models.QuerySet):
    def unbatched(self):
        return self.filter(batch__isnull=True)

    def in_order(self):
        """As spoken: simultaneous sessions' segments interleave by wall-clock time."""
        return self.order_by("spoken_at", "session_id", "sequence")


class Segment(models.Model):
    """One final transcript result, stored the moment it arrives."""

    session = models.ForeignKey(
        StreamSession, on_delete=models.CASCADE, related_name="segments", verbose_name=_("session")
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="segments", verbose_name=_("event")
    )
    sequence = models.PositiveIntegerField(help_text=_("Order within the session, from 0."), verbose_name=_("sequence"))
    text = models.TextField(verbose_name=_("text"))
    start = models.FloatField(help_text=_("Seconds from the start of the session's audio."), verbose_name=_("start"))
    end = models.FloatField(verbose_name=_("end"))
    confidence = models.FloatField(null=True, blank=True, verbose_name=_("confidence"))
    speaker = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("speaker"))
    words = models.JSONField(default=list, blank=True, verbose_name=_("words"))
    spoken_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Wall-clock time of its start, by the journalist's clock within bounds (transcription.spoken)."),
        verbose_name=_("spoken at"),
    )
    batch = models.ForeignKey(
        "publishing.Batch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="segments",
        verbose_name=_("batch"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    objects = SegmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["session_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["session", "sequence"], name="segment_sequence_unique_in_session"),
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gte=F("start")), name="segment_times_ordered"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="segment_confidence_0_to_1",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="segment_text_not_empty"),
        ]
        indexes = [models.Index(fields=["event", "batch"], name="segment_event_batch_idx")]

    def __str__(self) -> str:
        return f"[{self.start:.1f}–{self.end:.1f}] {self.text[:60]}"

    def save(self, *args, **kwargs):
        if self.spoken_at is None:
            self.spoken_at = spoken_at(self.session.started_at, self.start)
        super().save(*args, **kwargs)


def spoken_at(session_started_at: datetime, start: float) -> datetime:
    return session_started_at + timedelta(seconds=start)


class SpeakerName(models.Model):
    """Who a session's speaker label is, as the journalist or an editor named them ("Speaker 0 = Jane Doe")."""

    MAX_LENGTH = 80

    session = models.ForeignKey(
        StreamSession, on_delete=models.CASCADE, related_name="speaker_names", verbose_name=_("session")
    )
    label = models.PositiveSmallIntegerField(
        help_text=_("The speech provider's speaker number, as shown."), verbose_name=_("label")
    )
    name = models.CharField(max_length=MAX_LENGTH, verbose_name=_("name"))

    class Meta:
        verbose_name = _("speaker name")
        verbose_name_plural = _("speaker names")
        ordering = ["session_id", "label"]
        constraints = [
            models.UniqueConstraint(fields=["session", "label"], name="speaker_name_unique_per_session_label"),
            models.CheckConstraint(condition=~Q(name=""), name="speaker_name_not_empty"),
        ]

    def __str__(self) -> str:
        return gettext("Speaker %(number)s = %(name)s") % {"number": self.label, "name": self.name}


class SegmentCorrection(models.Model):
    """An editor's correction of a segment's text: who, when, before and after."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="corrections", verbose_name=_("segment")
    )
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("editor"))
    before = models.TextField(verbose_name=_("before"))
    after = models.TextField(verbose_name=_("after"))
    corrected_at = models.DateTimeField(auto_now_add=True, verbose_name=_("corrected at"))

    class Meta:
        verbose_name = _("segment correction")
        verbose_name_plural = _("segment corrections")
        ordering = ["-corrected_at"]
        constraints = [models.CheckConstraint(condition=~Q(after=""), name="correction_not_empty")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.before[:30]} → {self.after[:30]}"


class StreamFollow(models.Model):
    """A journalist's request that a follower process pull a livestream's audio into a session (follow-streams.md)."""

    class Status(models.TextChoices):
        STARTING = "starting", _("Starting")
        LIVE = "live", _("Live")
        RETRYING = "retrying", _("Retrying")
        STOPPED = "stopped", _("Stopped")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.STARTING, Status.LIVE, Status.RETRYING)
    MAX_URL_CHARS = 2048

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="stream_follows", verbose_name=_("event")
    )
    journalist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stream_follows", verbose_name=_("journalist")
    )
    url = models.CharField(
        max_length=MAX_URL_CHARS, help_text=_("The stream's address, as the journalist gave it."), verbose_name=_("url")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.STARTING, db_index=True, verbose_name=_("status")
    )
    detail = models.TextField(
        blank=True, help_text=_("What the journalist reads: why it is retrying or failed."), verbose_name=_("detail")
    )
    session = models.ForeignKey(
        StreamSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follows",
        verbose_name=_("session"),
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Failed tries since audio last came."), verbose_name=_("attempts")
    )
    stop_requested = models.BooleanField(default=False, verbose_name=_("stop requested"))
    worker = models.CharField(
        max_length=100, blank=True, help_text=_("The follower process running it."), verbose_name=_("worker")
    )
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("The journalist's language when they asked: what the follow tells them is in it."),
        verbose_name=_("language"),
    )
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    class Meta:
        verbose_name = _("stream follow")
        verbose_name_plural = _("stream follows")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["starting", "live", "retrying", "stopped", "failed"]),
                name="follow_status_valid",
            ),
            models.UniqueConstraint(
                fields=["event", "journalist"],
                condition=Q(status__in=["starting", "live", "retrying"]),
                name="one_active_follow_per_journalist_and_event",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("created_at")), name="follow_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.journalist} · {self.get_status_display()}"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE
