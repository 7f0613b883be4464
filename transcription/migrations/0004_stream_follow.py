"""Following a livestream: StreamFollow, one active per journalist and event (docs/follow-streams.md)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("transcription", "0003_segment_spoken_at_by_capture_clock"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StreamFollow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "url",
                    models.CharField(
                        help_text="The stream's address, as the journalist gave it.",
                        max_length=2048,
                        verbose_name="url",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("starting", "Starting"),
                            ("live", "Live"),
                            ("retrying", "Retrying"),
                            ("stopped", "Stopped"),
                            ("failed", "Failed"),
                        ],
                        db_index=True,
                        default="starting",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                (
                    "detail",
                    models.TextField(
                        blank=True,
                        help_text="What the journalist reads: why it is retrying or failed.",
                        verbose_name="detail",
                    ),
                ),
                (
                    "attempts",
                    models.PositiveIntegerField(
                        default=0, help_text="Failed tries since audio last came.", verbose_name="attempts"
                    ),
                ),
                ("stop_requested", models.BooleanField(default=False, verbose_name="stop requested")),
                (
                    "worker",
                    models.CharField(
                        blank=True, help_text="The follower process running it.", max_length=100, verbose_name="worker"
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        blank=True,
                        help_text="The journalist's language when they asked: what the follow tells them is in it.",
                        max_length=16,
                        verbose_name="language",
                    ),
                ),
                ("claimed_until", models.DateTimeField(blank=True, null=True, verbose_name="claimed until")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("ended_at", models.DateTimeField(blank=True, null=True, verbose_name="ended at")),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stream_follows",
                        to="events.event",
                        verbose_name="event",
                    ),
                ),
                (
                    "journalist",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stream_follows",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="journalist",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="follows",
                        to="transcription.streamsession",
                        verbose_name="session",
                    ),
                ),
            ],
            options={
                "verbose_name": "stream follow",
                "verbose_name_plural": "stream follows",
                "ordering": ["-created_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["starting", "live", "retrying", "stopped", "failed"])),
                        name="follow_status_valid",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["starting", "live", "retrying"])),
                        fields=("event", "journalist"),
                        name="one_active_follow_per_journalist_and_event",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("ended_at__isnull", True), ("ended_at__gte", models.F("created_at")), _connector="OR"
                        ),
                        name="follow_ends_after_start",
                    ),
                ],
            },
        ),
    ]
