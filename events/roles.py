"""The newsroom's two roles. The groups and their permissions are created by a data migration."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

JOURNALISTS = "Journalists"
EDITORS = "Editors"

JOURNALIST_PERMISSIONS = [
    ("transcription", "stream_audio"),
    ("transcription", "view_streamsession"),
    ("transcription", "view_segment"),
    ("events", "view_event"),
    ("publishing", "publish_own_post"),
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
    ("transcription", "view_speakername"),
    ("transcription", "add_speakername"),
    ("transcription", "change_speakername"),
    ("transcription", "delete_speakername"),
    ("publishing", "view_batch"),
    ("publishing", "change_batch"),
    ("publishing", "view_post"),
    ("publishing", "add_post"),
    ("publishing", "change_post"),
    ("publishing", "publish_post"),
    ("publishing", "view_postaction"),
    ("publishing", "view_alert"),
]


def create_roles(apps=global_apps) -> None:
    """Make both groups with their permissions; safe to run again. `apps` is a migration's registry or the live one."""
    # Permissions are normally made after all migrations (and a test flush drops them): make them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((JOURNALISTS, JOURNALIST_PERMISSIONS), (EDITORS, EDITOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        found = {
            (p.content_type.app_label, p.codename): p
            for p in Permission.objects.filter(codename__in=[codename for _app, codename in wanted]).select_related(
                "content_type"
            )
        }
        missing = [f"{app}.{codename}" for app, codename in wanted if (app, codename) not in found]
        # A migration's registry lacks the models of later migrations: those add their own permissions.
        if missing and apps is global_apps:
            raise LookupError(f"Permissions missing for the {name} group: {', '.join(missing)}")
        group.permissions.add(*(found[key] for key in wanted if key in found))


def is_journalist(user) -> bool:
    return user.is_authenticated and user.has_perm("transcription.stream_audio")


def is_editor(user) -> bool:
    return user.is_authenticated and user.is_staff and user.has_perm("publishing.publish_post")


def can_stream(user, event) -> bool:
    """A journalist streams only to the events they are assigned to."""
    return user.is_active and is_journalist(user) and event.is_assigned(user)


def can_publish_own(user, event) -> bool:
    """A journalist's quote or post from the studio goes live at once only where the event's editor allows it
    (`Event.journalists_publish`) and the journalist holds the permission."""
    return event.journalists_publish and can_stream(user, event) and user.has_perm("publishing.publish_own_post")
