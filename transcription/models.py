"""Stream sessions, their transcript segments, corrections and speaker names."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class StreamSession(models.Model):
    """One journalist's continuous broadcast to one event, across socket reconnects."""

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"
        FAILED = "failed", "Failed"

    class Provider(models.TextChoices):
        DEEPGRAM = "deepgram", "Deepgram"
        OFFLINE = "offline", "Offline recognizer"

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="stream_sessions")
    journalist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stream_sessions")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE, db_index=True)
    request_ids = models.JSONField(default=list, blank=True, help_text="Upstream request ids, one per connection.")
    audio_seconds = models.FloatField(default=0.0, help_text="Audio received from the journalist.")
    reconnects = models.PositiveIntegerField(default=0, help_text="Upstream and studio reconnects.")
    dropped_audio_seconds = models.FloatField(default=0.0, help_text="Audio lost to full buffers.")
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    audio_file = models.FileField(upload_to="audio/%Y/%m/", blank=True, help_text="Archived audio of the session.")
    audio_sample_rate = models.PositiveIntegerField(default=16000)

    class Meta:
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

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="segments")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="segments")
    sequence = models.PositiveIntegerField(help_text="Order within the session, from 0.")
    text = models.TextField()
    start = models.FloatField(help_text="Seconds from the start of the session's audio.")
    end = models.FloatField()
    confidence = models.FloatField(null=True, blank=True)
    speaker = models.PositiveSmallIntegerField(null=True, blank=True)
    words = models.JSONField(default=list, blank=True)
    spoken_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Wall-clock time of its start, by the journalist's clock within bounds (transcription.spoken).",
    )
    batch = models.ForeignKey(
        "publishing.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="segments"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
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

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="speaker_names")
    label = models.PositiveSmallIntegerField(help_text="The speech provider's speaker number, as shown.")
    name = models.CharField(max_length=MAX_LENGTH)

    class Meta:
        ordering = ["session_id", "label"]
        constraints = [
            models.UniqueConstraint(fields=["session", "label"], name="speaker_name_unique_per_session_label"),
            models.CheckConstraint(condition=~Q(name=""), name="speaker_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Speaker {self.label} = {self.name}"


class SegmentCorrection(models.Model):
    """An editor's correction of a segment's text: who, when, before and after."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="corrections")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    before = models.TextField()
    after = models.TextField()
    corrected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-corrected_at"]
        constraints = [models.CheckConstraint(condition=~Q(after=""), name="correction_not_empty")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.before[:30]} → {self.after[:30]}"
