# Reader editions: each published post translated into the event's reader languages (issue 30, point 3).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import events.languages


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0016_post_spoken_times"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PostTranslation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "language",
                    models.CharField(choices=events.languages.language_choices, max_length=8, verbose_name="language"),
                ),
                ("headline", models.CharField(blank=True, max_length=200, verbose_name="headline")),
                ("body", models.TextField(blank=True, verbose_name="text")),
                ("source_revision", models.PositiveIntegerField(verbose_name="translated from revision")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Being translated"),
                            ("ready", "Ready for readers"),
                            ("held", "Held for an editor"),
                            ("failed", "Not translated"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                (
                    "checked",
                    models.BooleanField(
                        default=False,
                        help_text="Every number has the value of one in the original, and every name is written in it.",
                        verbose_name="numbers and names checked",
                    ),
                ),
                (
                    "untraced",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Numbers and names that differ from the original.",
                        verbose_name="differences",
                    ),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("provider", models.CharField(blank=True, max_length=32, verbose_name="provider")),
                ("request_id", models.CharField(blank=True, max_length=128, verbose_name="request ID")),
                ("credits_used", models.PositiveIntegerField(blank=True, null=True, verbose_name="credits used")),
                ("credits_reserved", models.PositiveIntegerField(default=0, editable=False)),
                ("latency_ms", models.PositiveIntegerField(blank=True, null=True, verbose_name="latency (ms)")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("lease_expires_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="approved or rejected by",
                    ),
                ),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="translations",
                        to="publishing.post",
                        verbose_name="post",
                    ),
                ),
            ],
            options={
                "verbose_name": "post translation",
                "verbose_name_plural": "post translations",
                "ordering": ["post", "language"],
                "indexes": [models.Index(fields=["status"], name="post_translation_status_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("post", "language"), name="one_translation_per_post_language"),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["pending", "ready", "held", "failed"])),
                        name="post_translation_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("language__in", ["en", "de", "fr", "es", "it", "pt", "nl"])),
                        name="post_translation_language_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("source_revision__gte", 1)), name="post_translation_revision_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status__in", ["ready", "held"]), _negated=True),
                            models.Q(("body", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="post_translation_has_text",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "failed"), _negated=True),
                            models.Q(("last_error", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="failed_post_translation_has_error",
                    ),
                ],
            },
        ),
    ]
