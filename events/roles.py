"""The newsroom's two roles. The groups and their permissions are created by a data migration."""

JOURNALISTS = "Journalists"
EDITORS = "Editors"


def is_journalist(user) -> bool:
    return user.is_authenticated and user.has_perm("transcription.stream_audio")


def is_editor(user) -> bool:
    return user.is_authenticated and user.is_staff and user.has_perm("publishing.publish_post")


def can_stream(user, event) -> bool:
    """A journalist streams only to the events they are assigned to."""
    return user.is_active and is_journalist(user) and event.is_assigned(user)
