# The story so far: each version of an event's summary, kept (issue 29, point 1).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_summary_settings"),
        ("publishing", "0014_embeds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Summary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField(verbose_name="version")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be drafted"),
                            ("drafting", "Being drafted"),
                            ("draft", "Waiting for an editor"),
                            ("published", "Published"),
                            ("replaced", "Replaced by a later version"),
                            ("withdrawn", "Withdrawn"),
                            ("rejected", "Rejected"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                (
                    "trigger",
                    models.CharField(
                        choices=[
                            ("posts", "New published posts"),
                            ("minutes", "Time since the last summary"),
                            ("editor", "An editor asked for it"),
                        ],
                        max_length=16,
                        verbose_name="drafted because of",
                    ),
                ),
                ("points", models.JSONField(blank=True, default=list, verbose_name="points")),
                (
                    "source_post_ids",
                    models.JSONField(blank=True, default=list, verbose_name="drafted from the published posts"),
                ),
                ("checked", models.BooleanField(default=False, verbose_name="quotes, numbers and names checked")),
                (
                    "untraced",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Each untraced quote, number or name, with its point.",
                        verbose_name="untraced",
                    ),
                ),
                ("overrode_check", models.BooleanField(default=False, verbose_name="published against the check")),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="claimed at"),
                ),
                ("drafted_at", models.DateTimeField(blank=True, null=True, verbose_name="drafted at")),
                ("published_at", models.DateTimeField(blank=True, null=True, verbose_name="published at")),
                ("change_seq", models.PositiveBigIntegerField(default=0, editable=False, verbose_name="change number")),
                ("provider", models.CharField(blank=True, max_length=32, verbose_name="provider")),
                ("endpoint", models.CharField(blank=True, max_length=32, verbose_name="endpoint")),
                ("request_id", models.CharField(blank=True, max_length=128, verbose_name="request ID")),
                ("credits_used", models.PositiveIntegerField(blank=True, null=True, verbose_name="credits used")),
                (
                    "credits_reserved",
                    models.PositiveIntegerField(default=0, editable=False, verbose_name="credits reserved"),
                ),
                ("latency_ms", models.PositiveIntegerField(blank=True, null=True, verbose_name="latency (ms)")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                (
                    "lease_expires_at",
                    models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="lease expires at"),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="summaries",
                        to="events.event",
                        verbose_name="event",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="published_summaries",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="published by",
                    ),
                ),
            ],
            options={
                "verbose_name": "story so far",
                "verbose_name_plural": "stories so far",
                "ordering": ["-version"],
                "indexes": [models.Index(fields=["event", "status"], name="summary_event_status_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                [
                                    "pending",
                                    "drafting",
                                    "draft",
                                    "published",
                                    "replaced",
                                    "withdrawn",
                                    "rejected",
                                    "failed",
                                ],
                            )
                        ),
                        name="summary_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("trigger__in", ["posts", "minutes", "editor"])),
                        name="summary_trigger_valid",
                    ),
                    models.CheckConstraint(condition=models.Q(("version__gte", 1)), name="summary_version_positive"),
                    models.UniqueConstraint(fields=("event", "version"), name="summary_one_per_event_version"),
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["pending", "drafting"])),
                        fields=("event",),
                        name="summary_one_in_progress",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "published")), fields=("event",), name="summary_one_published"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "published"), _negated=True),
                            models.Q(("published_at__isnull", False), ("published_by__isnull", False)),
                            _connector="OR",
                        ),
                        name="published_summary_has_editor",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "failed"), _negated=True),
                            models.Q(("last_error", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="failed_summary_has_error",
                    ),
                ],
            },
        ),
    ]
