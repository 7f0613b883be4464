"""Reader editions in the draft queue: each translation held because its numbers or names differ from the original,
beside the original with the differences marked, and the editors' decisions on it (approve, reject)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from events.languages import display_name
from events.models import Event
from publishing import translations
from publishing.models import PostTranslation
from publishing.queue.html import highlighted

SHOWN = 50


def _labels() -> dict[str, str]:
    return {
        translations.NUMBER: gettext("A number the original does not give"),
        translations.NUMBER_LOST: gettext("A number of the original the translation lost"),
        translations.NAME: gettext("A name the original does not write"),
    }


def card(event: Event) -> dict:
    """The queue's context for the event's held translations (of posts still saying what was translated)."""
    held = [
        row
        for row in PostTranslation.objects.filter(post__event=event, status=PostTranslation.Status.HELD)
        .select_related("post")
        .order_by("-updated_at")[:SHOWN]
        if row.source_revision == row.post.revision
    ]
    labels = _labels()
    rows = []
    for row in held:
        items = [item for item in row.untraced if isinstance(item, dict)]
        ours = [item for item in items if item.get("kind") != translations.NUMBER_LOST]
        lost = [item for item in items if item.get("kind") == translations.NUMBER_LOST]
        headline, body = row.post.headline.strip(), row.post.body.strip()
        original = f"{headline}\n{body}" if headline else body  # as publishing.translations compared it
        rows.append(
            {
                "translation": row,
                "language": display_name(row.language),
                "original_language": display_name(event.post_language),
                "body": highlighted(row.body, ours),
                "original": highlighted(original, lost),
                "reasons": [(labels.get(item.get("kind"), gettext("Differs")), item.get("text", "")) for item in items],
            }
        )
    return {"held_translations": rows, "editions": [display_name(code) for code in event.editions]}


# --- The editors' decisions (publishing.queue.moderation routes them). ---


def approve(decision) -> str:
    try:
        row = translations.approve(decision.data["translation"], decision.event, decision.user)
    except translations.TranslationRefused as exc:
        raise ValidationError(str(exc)) from None
    return gettext("The %(language)s translation of post %(post)d is live for its readers.") % {
        "language": display_name(row.language),
        "post": row.post_id,
    }


def reject(decision) -> str:
    try:
        translations.reject(decision.data["translation"], decision.event, decision.user)
    except translations.TranslationRefused as exc:
        raise ValidationError(str(exc)) from None
    return gettext("Translation rejected: its readers get the original, with a note.")


NEEDS_TRANSLATION = {"translation_approve", "translation_reject"}
