"""Posts journalists make in the studio: a speaker's exact words flashed as a quote, and a short text of their own.

Both go to the event's draft queue under the journalist's name, or live at once where the event's editor allows
it (events.roles.can_publish_own). A quote is built from stored segments only, never from the client's text, and
traced like any draft before it is saved: checked by construction. A journalist's own text is human-written:
it is not traced and never held, and readers and editors see whose it is.
"""

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from events.models import Event
from events.roles import can_publish_own
from publishing.clips import MAX_QUOTE_SECONDS
from publishing.models import Post, sources_of, spoken_between
from publishing.quotes import token_times
from publishing.tracing import UNSURE, trace
from transcription.models import Segment, SpeakerName

MAX_QUOTE_SEGMENTS = 8
MAX_QUOTE_WORDS = 150
MAX_TEXT_CHARS = 1000
RECENT_QUOTES = 20  # a second press of the same quote finds the first among these

# Marks that would open or close a quotation inside the quote's own marks, and what never belongs in speech.
_STRAY_MARKS = re.compile(r"[\"“”„‟«»‹›「」『』<>]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Refused(ValueError):
    """What the journalist asked for cannot be posted; the message says why, in their words."""


@dataclass(frozen=True)
class QuoteRequest:
    """Which stored lines to quote, and optionally where in the first and last one the quote starts and ends
    (whitespace-separated words of the line's text, counted from 0; `last_word` included)."""

    segments: list[int]
    first_word: int | None = None
    last_word: int | None = None


@dataclass(frozen=True)
class Made:
    post: Post
    created: bool  # False: the same quote was flashed a moment ago, and this is that post


def _number(value: str, what: str) -> int:
    if not re.fullmatch(r"\d{1,6}", value.strip()):
        raise Refused(_("%(what)s must be a whole number.") % {"what": what})
    return int(value)


def quote_request(segments: list[str], first_word: str = "", last_word: str = "") -> QuoteRequest:
    """A quote request from a form's values, every number checked and bounded."""
    if not segments:
        raise Refused(_("Choose the lines to quote first."))
    if len(segments) > MAX_QUOTE_SEGMENTS:
        raise Refused(_("A quote spans at most %(count)d lines.") % {"count": MAX_QUOTE_SEGMENTS})
    ids = [_number(value, "segment") for value in segments]
    if len(set(ids)) != len(ids):
        raise Refused(_("Each line is quoted once."))
    return QuoteRequest(
        ids,
        _number(first_word, "first_word") if first_word else None,
        _number(last_word, "last_word") if last_word else None,
    )


def _speaker_name(segments: list[Segment]) -> str:
    labels = {segment.speaker for segment in segments}
    if len(labels) > 1:
        raise Refused(_("A quote is of one speaker: choose lines of one speaker only."))
    label = labels.pop()
    if label is None:
        raise Refused(_("These lines have no speaker. Turn on “Label speakers” for the event to quote who said them."))
    name = SpeakerName.objects.filter(session_id=segments[0].session_id, label=label).values_list("name", flat=True)
    if not name:
        raise Refused(_("Name Speaker %(label)d first: click their label in the transcript.") % {"label": label})
    return name[0]


def _lines(user, event: Event, ids: list[int]) -> list[Segment]:
    """The journalist's own stored lines of this event, one session's, consecutive, in order."""
    segments = list(
        Segment.objects.filter(pk__in=ids, event_id=event.pk, session__journalist_id=user.pk, session__event=event)
        .select_related("session")
        .order_by("session_id", "sequence")
    )
    if len(segments) != len(ids):
        raise Refused(_("Only lines of your own stream of this event can be quoted."))
    if len({segment.session_id for segment in segments}) > 1:
        raise Refused(_("A quote comes from one stream: choose lines of one session."))
    first = segments[0].sequence
    if [segment.sequence for segment in segments] != list(range(first, first + len(segments))):
        raise Refused(_("Choose consecutive lines: a quote has no gaps."))
    return segments


def _words(segments: list[Segment], spoken: list, wanted: QuoteRequest) -> tuple[list[str], float, float]:
    """The quoted words as stored, and their stretch of stream time (`spoken`: the segments as traced)."""
    tokens = [segment.text.split() for segment in segments]
    first = 0 if wanted.first_word is None else wanted.first_word
    last = len(tokens[-1]) - 1 if wanted.last_word is None else wanted.last_word
    if not (first < len(tokens[0]) and last < len(tokens[-1])) or (len(segments) == 1 and first > last):
        raise Refused(_("The chosen words are not in these lines."))
    words = [*tokens[0][first:]] if len(segments) > 1 else tokens[0][first : last + 1]
    for middle in tokens[1:-1]:
        words += middle
    if len(segments) > 1:
        words += tokens[-1][: last + 1]
    if len(words) > MAX_QUOTE_WORDS:
        raise Refused(_("A quote has at most %(count)d words.") % {"count": MAX_QUOTE_WORDS})
    start, end = token_times(spoken[0])[first][0], token_times(spoken[-1])[last][1]
    if end - start > MAX_QUOTE_SECONDS:
        raise Refused(_("A quote is at most %(seconds)d seconds of speech.") % {"seconds": MAX_QUOTE_SECONDS})
    return words, start, max(end, start + 0.01)


def _same_quote_flashed(user, event: Event, said: dict) -> Post | None:
    recent = Post.objects.filter(event=event, author=user, kind=Post.Kind.QUOTE).order_by("-pk")[:RECENT_QUOTES]
    for post in recent:
        if post.traced_quotes and post.traced_quotes[0] == said:
            return post
    return None


def flash_quote(user, event: Event, wanted: QuoteRequest) -> Made:
    """A quote post of the journalist's chosen lines: the stored words in quotation marks, the speaker's name,
    the stretch of audio they were said in; to the queue, or live where the journalist may publish."""
    segments = _lines(user, event, wanted.segments)
    speaker = _speaker_name(segments)
    sources = sources_of(event, segments)
    words, start, end = _words(segments, sources.spoken, wanted)
    quoted = _STRAY_MARKS.sub("", " ".join(words)).strip()
    if not quoted:
        raise Refused(_("The chosen words are not in these lines."))
    body = _("“%(quote)s” — %(speaker)s") % {"quote": quoted, "speaker": speaker}
    checked = trace(body, sources)
    if not checked.passed:
        unsure = [word for item in checked.untraced if item["kind"] == UNSURE for word in item.get("unsure", [])]
        if unsure:
            raise Refused(
                _("The recognizer was unsure of “%(words)s”: listen to the audio and write the quote yourself.")
                % {"words": "”, “".join(unsure)}
            )
        raise Refused(_("This passage cannot be posted as a checked quote: write it yourself."))
    said = {
        "quote": quoted,
        "session": segments[0].session_id,
        "start": round(start, 3),
        "end": round(end, 3),
        "segments": [segment.pk for segment in segments],
    }
    with transaction.atomic():
        # The event's row: two presses of the same quote at once make one post.
        list(Event.objects.select_for_update().filter(pk=event.pk).values_list("pk", flat=True))
        earlier = _same_quote_flashed(user, event, said)
        if earlier is not None:
            return Made(earlier, created=False)
        post = Post(
            event=event,
            kind=Post.Kind.QUOTE,
            body=body,
            checked=True,
            untraced=[],
            traced_quotes=[said],
            **spoken_between(segments),
        )
        post.write(user)
        post.quoted_segments.set(segments)
        if can_publish_own(user, event):
            post.publish(user)
    return Made(post, created=True)


def clean_text(text: str) -> str:
    """A journalist's text as stored: no control characters but line breaks, no edge spaces, bounded. Pages
    sanitize and escape it as they do every post."""
    text = _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n")).strip()
    if not text:
        raise Refused(_("Write something first."))
    if len(text) > MAX_TEXT_CHARS:
        raise Refused(
            _("A post from the studio has at most %(limit)d characters, not %(count)d.")
            % {"limit": MAX_TEXT_CHARS, "count": len(text)}
        )
    return text


def write_post(user, event: Event, text: str) -> Post:
    """The journalist's own words, under their name: to the queue, or live where the journalist may publish."""
    post = Post(event=event, kind=Post.Kind.WRITTEN, body=clean_text(text))
    with transaction.atomic():
        post.write(user)
        if can_publish_own(user, event):
            post.publish(user)
    return post
