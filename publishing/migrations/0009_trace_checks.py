from django.db import migrations, models


def old_quotes_as_untraced(apps, schema_editor):
    """Quotes held before numbers and names were checked: each becomes an untraced item of kind "quote"."""
    Post = apps.get_model("publishing", "Post")
    for post in Post.objects.exclude(untraced=[]).only("pk", "untraced"):
        items = [
            {"kind": "quote", "text": item.get("quote", ""), "why": "not in the transcript"} | item
            for item in post.untraced
            if isinstance(item, dict)
        ]
        Post.objects.filter(pk=post.pk).update(untraced=items)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_event_readers_hear_quotes"),
        ("publishing", "0008_corrections_alerts"),
        ("transcription", "0002_segment_spoken_at_and_speaker_names"),
    ]

    operations = [
        migrations.RenameField(model_name="post", old_name="quotes_checked", new_name="checked"),
        migrations.RenameField(model_name="post", old_name="unverified_quotes", new_name="untraced"),
        migrations.AlterField(
            model_name="post",
            name="checked",
            field=models.BooleanField(
                default=False,
                help_text="A draft whose every quote, number and name is in what was said or in the event's own data.",
                verbose_name="quotes, numbers and names checked",
            ),
        ),
        migrations.AlterField(
            model_name="post",
            name="untraced",
            field=models.JSONField(
                blank=True, default=list, help_text="Quotes, numbers and names not traced to what was said, with why."
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="traced_quotes",
            field=models.JSONField(
                blank=True, default=list, help_text="Quotes found in the transcript, with where they were said."
            ),
        ),
        migrations.RunPython(old_quotes_as_untraced, migrations.RunPython.noop),
    ]
