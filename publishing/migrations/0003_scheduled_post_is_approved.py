from django.db import migrations, models


def unschedule_unapproved(apps, schema_editor):
    # Schedules set on drafts skipped approval; the constraint below refuses them, so they are dropped.
    Post = apps.get_model("publishing", "Post")
    Post.objects.exclude(status="approved").exclude(publish_at=None).update(publish_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0002_batch_lease"),
    ]

    operations = [
        migrations.RunPython(unschedule_unapproved, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(("publish_at__isnull", True), ("status", "approved"), _connector="OR"),
                name="scheduled_post_is_approved",
            ),
        ),
    ]
