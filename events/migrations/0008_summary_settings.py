# The story so far: how often it is drafted again, per event (issue 29, point 1).

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_journalists_publish"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="summary_every_posts",
            field=models.PositiveIntegerField(
                default=5,
                help_text="A new summary is drafted for an editor after this many new published posts (1 to 100).",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(100),
                ],
                verbose_name="draft the story so far every N published posts",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="summary_every_minutes",
            field=models.PositiveIntegerField(
                default=15,
                help_text="…or this many minutes after the last one, when a post was published since (1 to 1440).",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1440),
                ],
                verbose_name="or every M minutes",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(("summary_every_posts__gte", 1), ("summary_every_posts__lte", 100)),
                name="event_summary_every_1_to_100_posts",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(("summary_every_minutes__gte", 1), ("summary_every_minutes__lte", 1440)),
                name="event_summary_every_1_to_1440_minutes",
            ),
        ),
    ]
