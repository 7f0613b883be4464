from django.db import migrations, models

from events.roles import create_roles


def mark_drafts(apps, schema_editor):
    """Posts drafted from a batch so far are AI drafts; the rest were written by hand."""
    apps.get_model("publishing", "Post").objects.filter(batch__isnull=False).update(kind="drafted")


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0012_alert_kinds_for_stream_and_event_end"),
        ("transcription", "0003_segment_spoken_at_by_capture_clock"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="post",
            options={
                "ordering": ["-published_at", "-created_at"],
                "permissions": [
                    ("publish_post", "Can publish, unpublish and pin posts"),
                    ("publish_own_post", "Can publish their own studio posts at once, on events that allow it"),
                ],
            },
        ),
        migrations.AddField(
            model_name="post",
            name="kind",
            field=models.CharField(
                choices=[("drafted", "AI draft"), ("written", "Hand-written"), ("quote", "Quote")],
                default="written",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="quoted_segments",
            field=models.ManyToManyField(blank=True, related_name="quoted_in", to="transcription.segment"),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["drafted", "written", "quote"])), name="post_kind_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "quote"), _negated=True), ("batch__isnull", True), _connector="OR"
                ),
                name="quote_post_has_no_batch",
            ),
        ),
        # After the schema changes: on PostgreSQL, no ALTER TABLE follows rows updated in the same transaction.
        migrations.RunPython(mark_drafts, migrations.RunPython.noop),
        # The journalists' role now includes publishing their own studio posts (events.roles).
        migrations.RunPython(lambda apps, schema_editor: create_roles(apps), migrations.RunPython.noop),
    ]
