"""A post's body with each clipped quote followed by its player: a link to the clip, which the page's script
turns into a play button. Quotes are looked for in the sanitised body's text only, never in a tag or attribute."""

import re
from html.parser import HTMLParser

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from events.models import Event
from publishing.clips import clip_url
from publishing.models import Post, QuoteClip
from readers.sanitize import body_html, plain_text

CLOSING_MARKS = "”\"’'»«“‘›‹」』"
# Text on either side of these is not one run of words: a quote may span them as it spans a space.
BREAKS = {"br", "p", "li", "ul", "ol", "blockquote"}


class _Pieces(HTMLParser):
    """Sanitised HTML as (kind, tag, text) pieces: tags as nh3 wrote them, text decoded."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[str, str, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs) -> None:
        self.pieces.append(("start", tag, self.get_starttag_text() or ""))

    def handle_startendtag(self, tag, attrs) -> None:
        self.pieces.append(("empty", tag, self.get_starttag_text() or ""))

    def handle_endtag(self, tag) -> None:
        self.pieces.append(("end", tag, f"</{tag}>"))

    def handle_data(self, data) -> None:
        self.pieces.append(("text", "", data))


def player(clip: QuoteClip) -> str:
    label = gettext("Hear the quote: “%(quote)s”") % {"quote": Truncator(plain_text(clip.quote)).chars(90)}
    return format_html(
        '<a class="hear-quote" href="{}" type="audio/flac" aria-label="{}" title="{}">'
        '<span aria-hidden="true">▶</span></a>',
        clip_url(clip),
        label,
        label,
    )


def _closes(words: str, at: int) -> bool:
    return at < len(words) and words[at] in CLOSING_MARKS


def _places(pieces: list[tuple[str, str, str]], clips: list[QuoteClip]) -> dict[int, list[tuple[int, str]]]:
    """Where each clip's player goes: {piece: [(offset in its text, player)]}, just after the quote's closing mark."""
    text, origin = [], []  # the body's words, and for each character its (piece, offset); None for a break
    for number, (kind, tag, data) in enumerate(pieces):
        if kind == "text":
            text.append(data)
            origin.extend((number, offset) for offset in range(len(data)))
        elif tag in BREAKS:
            text.append(" ")
            origin.append(None)
    words = "".join(text)
    places: dict[int, list[tuple[int, str]]] = {}
    taken: set[int] = set()
    after = 0
    for clip in clips:
        said = plain_text(clip.quote).split()
        if not said:
            continue
        whole_words = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, said)) + r"(?!\w)")
        found = [m for m in whole_words.finditer(words) if m.end() not in taken]
        closed = [m for m in found if _closes(words, m.end())]
        # A passage in quotation marks before the same words in a longer one; the body's order, then any place
        # not taken: a quote said twice gets each place once.
        match = next(
            (m for candidates in (closed, found) for m in candidates if m.start() >= after),
            next(iter(closed or found), None),
        )
        if match is None:
            continue
        end = match.end() + _closes(words, match.end())
        taken.add(match.end())
        after = end
        number, offset = origin[end - 1]
        places.setdefault(number, []).append((offset + 1, player(clip)))
    return places


def body_with_players(post: Post, event: Event) -> SafeString:
    """The post's body as safe HTML, each quote with a clip followed by its player."""
    html = body_html(post.body)
    if not event.readers_hear_quotes or not post.traced_quotes:
        return html
    clips = sorted(post.quote_clips.all(), key=lambda clip: clip.index)
    if not clips:
        return html
    pieces = _Pieces(html).pieces
    places = _places(pieces, clips)
    out: list[str] = []
    held: list[str] = []  # players for quotes inside a link wait for its end: no control inside another
    in_link = False
    for number, (kind, tag, data) in enumerate(pieces):
        if kind != "text":
            out.append(data)  # nh3's own markup, unchanged
            if tag == "a" and kind in ("start", "end"):
                in_link = kind == "start"
                if not in_link:
                    out.extend(held)
                    held = []
            continue
        at = 0
        for offset, markup in sorted(places.get(number, []), key=lambda place: place[0]):
            out.append(escape(data[at:offset]))
            (held if in_link else out).append(markup)
            at = offset
        out.append(escape(data[at:]))
    out.extend(held)
    return mark_safe("".join(out))  # noqa: S308  (nh3's tags, escaped text and format_html's players)
