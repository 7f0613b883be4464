"""Nothing untraced goes live: every quote, number and name of a draft traced to what was said.

A quote must be in the transcript word for word, and said with confidence; a number must match by value one
said, one of the speaker names or the event's own data; a name must be in the transcript, the speaker names or
the event's title, description, glossary or style notes. What is not is listed for the editor, with why.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from django.utils import translation
from django.utils.dates import MONTHS, WEEKDAYS

from publishing.names import names, words_of
from publishing.numbers import numbers_in, values_in
from publishing.quotes import Transcript, canonical_words, quotations

QUOTE, UNSURE, NUMBER, NAME = "quote", "unsure", "number", "name"


@dataclass(frozen=True)
class Spoken:
    """One segment of transcript: its text, where it was said, and the provider's words with their confidence."""

    segment_id: int
    text: str
    session_id: int | None = None
    start: float = 0.0
    end: float = 0.0
    words: tuple[dict, ...] = ()
    unsure_below: float = 0.0  # a word recognised with less confidence is not put in the speaker's mouth


@dataclass(frozen=True)
class Sources:
    """What a draft may draw on: the batch's transcript, and the newsroom's own words about the event."""

    spoken: list[Spoken]
    context: list[str] = field(default_factory=list)  # speaker names and labels, title, description, glossary…
    dates: list[datetime] = field(default_factory=list)  # the event's own start and end, in its time zone
    language: str = "en"


@dataclass
class Trace:
    quotes: list[str] = field(default_factory=list)
    # Each quote found, said with confidence: {"quote", "session", "start", "end", "segments"}.
    traced_quotes: list[dict] = field(default_factory=list)
    # Each thing not traced: {"kind", "text", "start", "end" (in the draft), "why", and for quotes
    # "closest" and "segments", for unsure quotes "unsure" (the words heard with low confidence)}.
    untraced: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.untraced


def trace(text: str, sources: Sources) -> Trace:
    """Every quote, number and name of `text` looked up in `sources`."""
    transcript = Transcript(sources.spoken)
    result = Trace()
    quoted = quotations(text)
    for quotation in quoted:
        result.quotes.append(quotation.text)
        _trace_quote(quotation, transcript, result)
    # Outside quotations: a quote's numbers and names are checked with its words.
    prose = _blank_out(text, quoted)
    context = "\n".join(sources.context)
    said = transcript.values | values_in(context, sources.language)
    if sources.language != "en":  # the transcript's words were read as English numbers: read them again
        said |= values_in("\n".join(part.text for part in sources.spoken), sources.language)
    _trace_numbers(prose, said, sources, result)
    _trace_names(prose, "\n".join([*(part.text for part in sources.spoken), context]), sources, result)
    result.untraced.sort(key=lambda item: item["start"])
    return result


def _trace_quote(quotation, transcript: Transcript, result: Trace) -> None:
    quoted = [word for word, _, _ in canonical_words(quotation.text)]
    where = {"text": quotation.text, "start": quotation.start, "end": quotation.end}
    found = transcript.find(quoted)
    if not found:
        first, end = transcript.closest(quoted)
        result.untraced.append(
            where
            | {
                "kind": QUOTE,
                "why": "not in the transcript",
                "closest": transcript.passage(first, end),
                "segments": _segment_ids(transcript, first, end),
            }
        )
        return
    # Of the places it was said, the one heard with most confidence.
    first = min(found, key=lambda at: len(_unsure(transcript, at, at + len(quoted))))
    end = first + len(quoted)
    unsure = _unsure(transcript, first, end)
    if unsure:
        result.untraced.append(
            where
            | {
                "kind": UNSURE,
                "why": "the recognizer was unsure of some of its words",
                "unsure": unsure,
                "closest": transcript.passage(first, end),
                "segments": _segment_ids(transcript, first, end),
            }
        )
        return
    words = transcript.said(first, end)
    segments = [transcript.spoken[word.segment] for word in words]
    if len({segment.session_id for segment in segments}) == 1 and segments[0].session_id is not None:
        result.traced_quotes.append(
            {
                "quote": quotation.text,
                "session": segments[0].session_id,
                "start": round(words[0].start, 3),
                "end": round(max(words[-1].end, words[0].start + 0.01), 3),
                "segments": _segment_ids(transcript, first, end),
            }
        )


def _unsure(transcript: Transcript, first: int, end: int) -> list[str]:
    """The words of transcript[first:end] heard with less confidence than their provider's threshold."""
    unsure = []
    for word in transcript.said(first, end):
        threshold = transcript.spoken[word.segment].unsure_below
        if word.confidence is not None and word.confidence < threshold:
            unsure.append(transcript.spoken[word.segment].text[word.char_start : word.char_end])
    return list(dict.fromkeys(unsure))


def _segment_ids(transcript: Transcript, first: int, end: int) -> list[int]:
    return list(dict.fromkeys(transcript.spoken[word.segment].segment_id for word in transcript.said(first, end)))


def _blank_out(text: str, quoted) -> str:
    """`text` with each quotation's words replaced by spaces, its marks kept: positions stay as they were."""
    pieces, at = [], 0
    for quotation in quoted:
        pieces.append(text[at : quotation.start])
        pieces.append(re.sub(r"\S", " ", quotation.text))
        at = quotation.end
    pieces.append(text[at:])
    return "".join(pieces)


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})(?:\s*[ap]\.?m\.?)?", re.IGNORECASE)
# "2 pm", "14 h", "14 Uhr", "14 heures", "14 horas", "14 ore", "14 uur"
_TIME_WORDS = re.compile(r"(?i)^\s*(?:[ap]\.?m\b\.?|o['’]clock\b|h\b|uhr\b|heures?\b|horas?\b|ore\b|uur\b)")


@lru_cache(maxsize=16)
def calendar_words(language: str) -> tuple[list[str], list[str]]:
    """The month names (January first) and weekday names (Monday first) in `language`, case-folded."""
    with translation.override(language):
        return [str(MONTHS[i]).casefold() for i in range(1, 13)], [str(WEEKDAYS[i]).casefold() for i in range(7)]


def _near_a_month(language: str) -> re.Pattern:
    months = {*_MONTHS.split("|"), *calendar_words(language)[0]}
    return re.compile(r"(?i)\b(?:{})\b".format("|".join(sorted(map(re.escape, months)))))


def _restates_event_date(prose: str, number, dates: list[datetime], near_a_month: re.Pattern) -> bool:
    """Whether `number` is a year, a day next to a month, or a time of the event's own start or end."""
    text = number.text
    whole = {value for value in number.values if value == int(value)}
    for moment in dates:
        if moment.year in whole and re.fullmatch(r"\d{4}", text):
            return True
        clock = _CLOCK.fullmatch(text)  # 14:30, or 14.30 as British style writes it
        if clock and int(clock[1]) in {moment.hour, moment.hour % 12 or 12} and int(clock[2]) == moment.minute:
            return True
        is_time = _TIME_WORDS.match(prose[number.end : number.end + 8])
        if is_time and whole & {moment.hour, moment.hour % 12 or 12}:
            return True
        around = prose[max(0, number.start - 20) : number.end + 20]
        if moment.day in whole and near_a_month.search(around):
            return True
    return False


def _trace_numbers(prose: str, said: set[float], sources: Sources, result: Trace) -> None:
    found = numbers_in(prose, sources.language)
    near_a_month = _near_a_month(sources.language) if found and sources.dates else None
    for number in found:
        if not number.values & said and not _restates_event_date(prose, number, sources.dates, near_a_month):
            result.untraced.append(
                {
                    "kind": NUMBER,
                    "text": number.text,
                    "start": number.start,
                    "end": number.end,
                    "why": "no number of this value was said",
                }
            )


def _trace_names(prose: str, said: str, sources: Sources, result: Trace) -> None:
    known = set(words_of(said))
    months, weekdays = calendar_words(sources.language)
    for moment in sources.dates:
        known |= {moment.strftime("%B").casefold(), moment.strftime("%A").casefold()}
        known |= {months[moment.month - 1], weekdays[moment.weekday()]}
    for name in names(prose, sources.language):
        missing = [word for word in name.words if word not in known]
        if missing:
            result.untraced.append(
                {
                    "kind": NAME,
                    "text": name.text,
                    "start": name.start,
                    "end": name.end,
                    "why": "not in the transcript, the speaker names or the event's details",
                }
            )
