from django.db import migrations

from events.roles import EDITORS, JOURNALISTS, create_roles


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[JOURNALISTS, EDITORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0001_initial"),
        ("transcription", "0001_initial"),
        ("publishing", "0001_initial"),
    ]

    operations = [migrations.RunPython(lambda apps, schema_editor: create_roles(apps), remove_roles)]
