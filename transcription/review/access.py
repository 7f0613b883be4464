"""Who may hear the archived audio and take the transcript out: never the public."""

from events.roles import can_stream, is_editor


def can_review(user, event) -> bool:
    """Editors, and the journalists assigned to the event."""
    return user.is_active and (is_editor(user) or can_stream(user, event))


def can_correct(user) -> bool:
    return user.is_active and is_editor(user) and user.has_perm("transcription.add_segmentcorrection")
