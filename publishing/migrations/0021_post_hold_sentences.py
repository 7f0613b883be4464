# Why a draft is held kept as sentences, told in each editor's language (issue 30). Drafts held before show their
# stored text.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0020_alert_and_error_sentences"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="hold_sentences",
            field=models.JSONField(blank=True, default=list, editable=False, verbose_name="hold reasons"),
        ),
    ]
