# Alerts and drafting errors kept as sentences, told in each editor's language (issue 30). Rows raised before
# show their stored text.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0019_batch_stopped_by_cap"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="sentence",
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name="message sentence"),
        ),
        migrations.AddField(
            model_name="batch",
            name="error_sentence",
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name="last error sentence"),
        ),
        migrations.AddField(
            model_name="summary",
            name="error_sentence",
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name="last error sentence"),
        ),
    ]
