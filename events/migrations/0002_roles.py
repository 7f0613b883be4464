from django.contrib.auth.management import create_permissions
from django.db import migrations

JOURNALIST_PERMISSIONS = [
    ("transcription", "stream_audio"),
    ("transcription", "view_streamsession"),
    ("transcription", "view_segment"),
    ("events", "view_event"),
]
EDITOR_PERMISSIONS = [
    ("events", "view_event"),
    ("events", "add_event"),
    ("events", "change_event"),
    ("transcription", "view_streamsession"),
    ("transcription", "view_segment"),
    ("transcription", "change_segment"),
    ("transcription", "view_segmentcorrection"),
    ("transcription", "add_segmentcorrection"),
    ("publishing", "view_batch"),
    ("publishing", "change_batch"),
    ("publishing", "view_post"),
    ("publishing", "add_post"),
    ("publishing", "change_post"),
    ("publishing", "publish_post"),
    ("publishing", "view_postaction"),
]


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in (("Journalists", JOURNALIST_PERMISSIONS), ("Editors", EDITOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Journalists", "Editors"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0001_initial"),
        ("transcription", "0001_initial"),
        ("publishing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
