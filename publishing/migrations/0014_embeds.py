import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0013_author_posts"),
    ]

    operations = [
        migrations.CreateModel(
            name="Embed",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("url", models.URLField(help_text="As the editor pasted it.", max_length=1000, verbose_name="address")),
                ("provider", models.CharField(help_text="Its key in settings.EMBED_PROVIDERS.", max_length=80)),
                ("provider_name", models.CharField(max_length=80)),
                ("title", models.CharField(max_length=300)),
                ("author", models.CharField(blank=True, max_length=200)),
                ("thumbnail", models.CharField(blank=True, max_length=255)),
                ("thumbnail_width", models.PositiveIntegerField(blank=True, null=True)),
                ("thumbnail_height", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "thumbnail_note",
                    models.CharField(
                        blank=True,
                        help_text="Why the provider's thumbnail was not kept, if it was not.",
                        max_length=300,
                    ),
                ),
                ("frame_src", models.URLField(blank=True, max_length=1000, verbose_name="player address")),
                ("frame_width", models.PositiveIntegerField(blank=True, null=True)),
                ("frame_height", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("ready", "Card and player"), ("link", "Card only: the provider offers no player")],
                        default="ready",
                        max_length=8,
                    ),
                ),
                ("fetched_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="embeds", to="publishing.post"
                    ),
                ),
            ],
            options={
                "ordering": ["post_id", "pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["ready", "link"])), name="embed_status_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("frame_src__startswith", "http"), ("status", "ready")),
                            models.Q(("frame_src", ""), ("status", "link")),
                            _connector="OR",
                        ),
                        name="embed_player_matches_status",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("thumbnail", ""),
                            models.Q(
                                ("thumbnail_height__gte", 1),
                                ("thumbnail_height__isnull", False),
                                ("thumbnail_width__gte", 1),
                                ("thumbnail_width__isnull", False),
                            ),
                            _connector="OR",
                        ),
                        name="embed_thumbnail_has_size",
                    ),
                    models.CheckConstraint(condition=models.Q(("title", ""), _negated=True), name="embed_has_title"),
                    models.UniqueConstraint(fields=("post", "url"), name="embed_unique_address_per_post"),
                ],
            },
        ),
    ]
