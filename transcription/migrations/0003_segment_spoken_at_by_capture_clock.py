"""Segments' spoken_at: by the journalist's clock within bounds (help text only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transcription", "0002_segment_spoken_at_and_speaker_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="segment",
            name="spoken_at",
            field=models.DateTimeField(
                blank=True,
                db_index=True,
                help_text="Wall-clock time of its start, by the journalist's clock within bounds (transcription.spoken).",
                null=True,
            ),
        ),
    ]
