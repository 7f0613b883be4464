"""Segments' wall-clock time (spoken_at), filled for existing ones; names for sessions' speakers, editable by editors."""

from datetime import timedelta

import django.db.models.deletion
from django.db import migrations, models

from events.roles import create_roles


def fill_spoken_at(apps, schema_editor):
    Segment = apps.get_model("transcription", "Segment")
    for segment in Segment.objects.filter(spoken_at__isnull=True).select_related("session").iterator():
        segment.spoken_at = segment.session.started_at + timedelta(seconds=segment.start)
        segment.save(update_fields=["spoken_at"])


def let_editors_name_speakers(apps, schema_editor):
    create_roles(apps)  # the roles' permissions now include naming speakers (events.roles)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0002_roles"),
        ("transcription", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="segment",
            name="spoken_at",
            field=models.DateTimeField(
                blank=True,
                db_index=True,
                help_text="Wall-clock time of its start: the session's start + start.",
                null=True,
            ),
        ),
        migrations.RunPython(fill_spoken_at, migrations.RunPython.noop),
        migrations.CreateModel(
            name="SpeakerName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "label",
                    models.PositiveSmallIntegerField(help_text="The speech provider's speaker number, as shown."),
                ),
                ("name", models.CharField(max_length=80)),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="speaker_names",
                        to="transcription.streamsession",
                    ),
                ),
            ],
            options={
                "ordering": ["session_id", "label"],
                "constraints": [
                    models.UniqueConstraint(fields=("session", "label"), name="speaker_name_unique_per_session_label"),
                    models.CheckConstraint(
                        condition=models.Q(("name", ""), _negated=True), name="speaker_name_not_empty"
                    ),
                ],
            },
        ),
        migrations.RunPython(let_editors_name_speakers, migrations.RunPython.noop),
    ]
