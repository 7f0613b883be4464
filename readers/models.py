"""Alerts for readers: browsers subscribed to an event by Web Push, and each alert told to them once.

Design: docs/architecture.md, *Alerts for readers*.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ENDPOINT_MAX_CHARS = 1024
P256DH_MAX_CHARS = 88  # 65 bytes in base64url, with or without padding
AUTH_MAX_CHARS = 24  # 16 bytes


class PushSubscription(models.Model):
    """One browser's push subscription (endpoint and keys, RFC 8030/8291), asking for one event's alerts."""

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="push_subscriptions", verbose_name=_("event")
    )
    endpoint = models.CharField(max_length=ENDPOINT_MAX_CHARS, db_index=True, verbose_name=_("endpoint"))
    p256dh = models.CharField(max_length=P256DH_MAX_CHARS, verbose_name=_("p256dh"))
    auth = models.CharField(max_length=AUTH_MAX_CHARS, verbose_name=_("auth"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="push_subscription_once_per_event")]

    def __str__(self) -> str:
        return f"{self.event_id} · {self.endpoint[:60]}"


class PushAlert(models.Model):
    """A key event or a story-so-far version, told once to the event's subscribers of that moment: the unique
    post or summary makes a second trigger (a retry, a key mark undone and redone) find it made already."""

    class Kind(models.TextChoices):
        KEY_EVENT = "key_event", _("Key event")
        SUMMARY = "summary", _("The story so far")

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="push_alerts", verbose_name=_("event")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    post = models.ForeignKey(
        "publishing.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("post")
    )
    # publishing.Summary's id; kept as a number so alerts do not tie the readers' schema to the summaries'.
    summary_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("summary ID"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    # Subscribers with an id up to this one, those of the moment it was made, are told.
    subscribers_upto = models.PositiveBigIntegerField(default=0, verbose_name=_("subscribers upto"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    fanned_out_at = models.DateTimeField(null=True, blank=True, verbose_name=_("fanned out at"))

    class Meta:
        verbose_name = _("push alert")
        verbose_name_plural = _("push alerts")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["key_event", "summary"]), name="push_alert_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="key_event", post__isnull=False, summary_id__isnull=True)
                | Q(kind="summary", summary_id__isnull=False, post__isnull=True),
                name="push_alert_names_its_source",
            ),
            models.UniqueConstraint(fields=["post"], condition=Q(kind="key_event"), name="push_alert_once_per_post"),
            models.UniqueConstraint(
                fields=["summary_id"], condition=Q(kind="summary"), name="push_alert_once_per_summary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.event_id}"


class PushBatch(models.Model):
    """A run of an alert's subscribers (by id), claimed by one worker at a time; after 429 or 5xx answers only
    those subscribers are sent to again (`retry_ids`)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    alert = models.ForeignKey(PushAlert, on_delete=models.CASCADE, related_name="batches", verbose_name=_("alert"))
    first_id = models.PositiveBigIntegerField(verbose_name=_("first ID"))
    last_id = models.PositiveBigIntegerField(verbose_name=_("last ID"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    retry_ids = models.JSONField(default=list, blank=True, verbose_name=_("retry ids"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    lease_expires_at = models.DateTimeField(db_index=True, verbose_name=_("lease expires at"))
    delivered = models.PositiveIntegerField(default=0, verbose_name=_("delivered"))
    pruned = models.PositiveIntegerField(default=0, verbose_name=_("pruned"))
    failed = models.PositiveIntegerField(default=0, verbose_name=_("failed"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))

    class Meta:
        verbose_name = _("push batch")
        verbose_name_plural = _("push batches")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "done"]), name="push_batch_status_valid"
            ),
            models.CheckConstraint(condition=Q(first_id__lte=F("last_id")), name="push_batch_range_ordered"),
            models.UniqueConstraint(fields=["alert", "first_id"], name="push_batch_once_per_range"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} · {self.first_id}-{self.last_id} · {self.status}"
