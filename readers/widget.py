"""The embed snippet that puts an event's live posts on another site."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from events.models import Event
from readers.changes import page_language

SCRIPT = "readers/widget.js"


def embed_snippet(base: str, event: Event) -> str:
    """What a third-party site pastes: a script that adds an iframe of the event's embed page,
    falling back to a plain link when scripts are off."""
    script = base + static(SCRIPT)
    page = base + reverse("events:detail", args=[event.slug])
    with translation.override(page_language(event)):  # words for the event's readers, as its page has them
        link = gettext("Live: %(title)s") % {"title": escape(event.title)}
    return (
        f'<script src="{script}" data-event="{event.slug}" async></script>'
        f'<noscript><a href="{page}">{link}</a></noscript>'
    )
