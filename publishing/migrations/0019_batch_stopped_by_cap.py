# Batches the credit cap stopped, known by a flag rather than by their English error (issue 30).

from django.db import migrations, models


def flag_the_batches_the_cap_stopped(apps, schema_editor) -> None:
    Batch = apps.get_model("publishing", "Batch")
    Batch.objects.filter(status="failed", last_error__startswith="Drafting paused: Credit cap").update(
        stopped_by_cap=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0018_translated_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="stopped_by_cap",
            field=models.BooleanField(default=False, editable=False, verbose_name="stopped by the credit cap"),
        ),
        migrations.RunPython(flag_the_batches_the_cap_stopped, migrations.RunPython.noop),
    ]
