from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0005_event_go_live_at_start"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="journalists_publish",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A quote or post a journalist makes in the studio goes live at once, without an editor "
                    "(for journalists with the permission to publish their own posts)."
                ),
                verbose_name="journalists publish at once",
            ),
        ),
    ]
