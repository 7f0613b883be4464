"""Reader editions on the readers' pages (which one a request asks for, ?lang=, is readers.changes.EventState.edition):
each post in one (its translation when ready for the post's current words, else the original with a note), and the
links between editions (the switcher, hreflang alternates). Design: docs/architecture.md, *Reader editions*.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from events.languages import CODES, local_name
from events.models import Event
from publishing.models import Post, PostTranslation

# One sentence per language posts are written in, so each reads whole in the page's language.
TRANSLATED_FROM = {
    "en": _("Translated automatically from English"),
    "de": _("Translated automatically from German"),
    "fr": _("Translated automatically from French"),
    "es": _("Translated automatically from Spanish"),
    "it": _("Translated automatically from Italian"),
    "pt": _("Translated automatically from Portuguese"),
    "nl": _("Translated automatically from Dutch"),
}
NOT_TRANSLATED = {
    "en": _("Not translated: this update is in English, the original."),
    "de": _("Not translated: this update is in German, the original."),
    "fr": _("Not translated: this update is in French, the original."),
    "es": _("Not translated: this update is in Spanish, the original."),
    "it": _("Not translated: this update is in Italian, the original."),
    "pt": _("Not translated: this update is in Portuguese, the original."),
    "nl": _("Not translated: this update is in Dutch, the original."),
}
WAITING = {
    "en": _("In English, the original, until its translation is ready."),
    "de": _("In German, the original, until its translation is ready."),
    "fr": _("In French, the original, until its translation is ready."),
    "es": _("In Spanish, the original, until its translation is ready."),
    "it": _("In Italian, the original, until its translation is ready."),
    "pt": _("In Portuguese, the original, until its translation is ready."),
    "nl": _("In Dutch, the original, until its translation is ready."),
}
MAX_LANG_CHARS = 8


@dataclass(frozen=True)
class EditionNote:
    """What a post in an edition says of itself: `lang` its words' language; `translated` or the original."""

    lang: str
    translated: bool
    text: str
    original_url: str = ""


def dress(posts: list[Post], event: Event, edition: str) -> list[Post]:
    """The posts as the edition shows them: text swapped for its ready translation, or the original with a note in
    the edition's words. Each post gets `edition_note` (None in the original edition)."""
    if not edition:
        return posts
    original = event.post_language
    by_post = {
        row.post_id: row
        for row in PostTranslation.objects.filter(post__in=[post.pk for post in posts], language=edition)
    }
    with translation.override(edition):  # an edition's page is in its language, whoever asks
        for post in posts:
            row = by_post.get(post.pk)
            if row is not None and row.shows_for(post):
                post.headline, post.body = row.headline, row.body
                note = EditionNote(edition, True, str(TRANSLATED_FROM[original]), post.get_absolute_url())
            else:
                waiting = row is not None and row.source_revision <= post.revision and row.status in _UNDER_WAY
                sentence = WAITING[original] if waiting else NOT_TRANSLATED[original]
                note = EditionNote(original, False, str(sentence), post.get_absolute_url())
            post.edition_note = note
    return posts


_UNDER_WAY = (PostTranslation.Status.PENDING, PostTranslation.Status.HELD, PostTranslation.Status.READY)


def query(edition: str) -> str:
    return "?" + urlencode({"lang": edition}) if edition else ""


@dataclass(frozen=True)
class EditionLink:
    lang: str  # BCP 47 code, for hreflang and lang
    name: str  # the language's own name
    url: str  # absolute, the edition's own address (hreflang)
    current: bool
    original: bool
    href: str = ""  # the switcher's link: the edition read as this page is read (view, order)


def links(event: Event, edition: str, page_url: str, reading_query=None) -> list[EditionLink]:
    """The original and each edition, for the switcher and the hreflang alternates (absent with no editions);
    `reading_query(lang)` gives the switcher's query string, keeping how the page is read."""
    editions = event.editions
    if not editions:
        return []
    original = event.post_language
    return [
        EditionLink(
            code,
            local_name(code),
            page_url + query("" if code == original else code),
            code == (edition or original),
            code == original,
            reading_query("" if code == original else code) if reading_query else "",
        )
        for code in (original, *editions)
        if code in CODES
    ]
