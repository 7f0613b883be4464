"""The benchmark's drafts: live-blog posts written from the speeches in transcripts/, each true or with one
fabrication planted, each with the batch of transcript it is checked against.

Speeches are split into finals-sized segments at 150 words a minute; a draft frames a 40 s to 2 minute
window (its batch) around one element (a quote, number or name), true as said or made up (a changed word,
another value, a name nobody said). The same seed gives the same drafts, word for word.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
WORDS_PER_MINUTE = 150
THIRTY_MINUTES = 30 * WORDS_PER_MINUTE  # words
MIN_WORDS, MAX_WORDS = 80, 120
PER_FORM = 6  # fabricated drafts of each form, and as many true ones where the speeches allow


# --- The events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One speech as the newsroom would have set it up: who speaks, the event's details, when it starts."""

    file: str
    speaker: str
    label: str  # the speaker's label in the studio
    surname: str
    role: str  # how the live blog refers to the speaker
    title: str
    description: str
    glossary: tuple[str, ...]
    starts_at: datetime
    place: str  # a name from the description, for framing
    where: str  # the same, with its preposition
    # Names said in the speech, by kind; each must be in the transcript (checked when the corpus loads).
    names: dict[str, tuple[str, ...]]

    @property
    def context(self) -> list[str]:
        return [self.speaker, self.label, self.title, self.description, *self.glossary]


def _at(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


EVENTS = (
    Event(
        file="1863-11-19-lincoln-gettysburg.txt",
        speaker="Abraham Lincoln",
        label="President Abraham Lincoln",
        surname="Lincoln",
        role="the president",
        title="Dedication of the Soldiers' National Cemetery",
        description="President Lincoln speaks at the dedication of the national cemetery at Gettysburg, "
        "Pennsylvania, after the main oration by Edward Everett.",
        glossary=("Gettysburg: the battlefield town in Pennsylvania",),
        starts_at=_at("1863-11-19T14:00", "America/New_York"),
        place="Gettysburg",
        where="at Gettysburg",
        names={"person": (), "org": (), "place": (), "product": ()},
    ),
    Event(
        file="1933-03-04-roosevelt-first-inaugural.txt",
        speaker="Franklin D. Roosevelt",
        label="President Franklin D. Roosevelt",
        surname="Roosevelt",
        role="the new president",
        title="Inauguration of Franklin D. Roosevelt",
        description="Franklin D. Roosevelt is sworn in on the East Portico of the Capitol in Washington and "
        "gives his inaugural address.",
        glossary=("New Deal: Roosevelt's programme for recovery",),
        starts_at=_at("1933-03-04T13:00", "America/New_York"),
        place="Washington",
        where="in Washington",
        names={
            "person": ("President Hoover",),
            "org": ("Congress", "Constitution"),
            "place": ("United States",),
            "product": (),
        },
    ),
    Event(
        file="1941-12-08-roosevelt-day-of-infamy.txt",
        speaker="Franklin D. Roosevelt",
        label="President Franklin D. Roosevelt",
        surname="Roosevelt",
        role="the president",
        title="Address to a joint session of Congress",
        description="President Roosevelt asks Congress for a declaration of war on Japan, speaking in the House "
        "chamber of the Capitol in Washington.",
        glossary=("Pearl Harbor: the naval base on Oahu attacked on Sunday",),
        starts_at=_at("1941-12-08T12:30", "America/New_York"),
        place="Washington",
        where="in Washington",
        names={
            "person": (),
            "org": ("Army and Navy", "House of Representatives", "Senate"),
            "place": (
                "Oahu",
                "Hawaii",
                "San Francisco",
                "Honolulu",
                "Malaya",
                "Hong Kong",
                "Guam",
                "Philippine Islands",
                "Wake Island",
                "Midway Island",
                "Pacific",
            ),
            "product": (),
        },
    ),
    Event(
        file="1961-01-17-eisenhower-farewell.txt",
        speaker="Dwight D. Eisenhower",
        label="President Dwight D. Eisenhower",
        surname="Eisenhower",
        role="the outgoing president",
        title="Farewell Address to the Nation",
        description="President Eisenhower's televised farewell from the Oval Office of the White House, three "
        "days before he leaves office.",
        glossary=("Ike: Eisenhower's nickname",),
        starts_at=_at("1961-01-17T20:30", "America/New_York"),
        place="the White House",
        where="at the White House",
        names={"person": (), "org": ("Congress", "Senate"), "place": ("West Point", "Korea"), "product": ()},
    ),
    Event(
        file="1961-01-20-kennedy-inaugural.txt",
        speaker="John F. Kennedy",
        label="President John F. Kennedy",
        surname="Kennedy",
        role="the new president",
        title="Inauguration of John F. Kennedy",
        description="John F. Kennedy takes the oath of office at the Capitol in Washington and gives his "
        "inaugural address.",
        glossary=("Alliance for Progress: Kennedy's programme for Latin America",),
        starts_at=_at("1961-01-20T12:45", "America/New_York"),
        place="Washington",
        where="in Washington",
        names={
            "person": ("President Eisenhower", "Vice President Nixon", "President Truman", "Isaiah"),
            "org": ("United Nations",),
            "place": ("America", "Americas"),
            "product": (),
        },
    ),
    Event(
        file="1962-09-12-kennedy-rice-university.txt",
        speaker="John F. Kennedy",
        label="President John F. Kennedy",
        surname="Kennedy",
        role="the president",
        title="Address at Rice University on the Nation's Space Effort",
        description="President Kennedy speaks to a crowd of about forty thousand at Rice Stadium in Houston, Texas.",
        glossary=(
            "NASA: the National Aeronautics and Space Administration",
            "Apollo: the programme to land astronauts on the moon",
        ),
        starts_at=_at("1962-09-12T10:00", "America/Chicago"),
        place="Rice Stadium",
        where="at Rice Stadium",
        names={
            "person": ("William Bradford", "John Glenn", "George Mallory", "Newton", "President Pitzer"),
            "org": ("National Aeronautics and Space Administration", "Manned Spacecraft Center", "Rice"),
            "place": (
                "Houston",
                "Texas",
                "Cape Canaveral",
                "Venus",
                "Mount Everest",
                "Plymouth Bay Colony",
                "Soviet Union",
                "Atlantic",
            ),
            "product": ("Saturn C-1", "Atlas", "Mariner", "Tiros", "Transit"),
        },
    ),
    Event(
        file="1963-01-14-kennedy-state-of-the-union-excerpts.txt",
        speaker="John F. Kennedy",
        label="President John F. Kennedy",
        surname="Kennedy",
        role="the president",
        title="State of the Union Address",
        description="President Kennedy delivers his annual message to a joint session of Congress in the "
        "House chamber of the Capitol in Washington.",
        glossary=("Viet-Nam: also written Vietnam",),
        starts_at=_at("1963-01-14T12:30", "America/New_York"),
        place="Washington",
        where="in Washington",
        names={
            "person": ("Thomas Jefferson",),
            "org": ("Congress",),
            "place": ("West Berlin", "Laos", "Viet-Nam", "Congo", "Cuba"),
            "product": ("Good Ship Union",),
        },
    ),
)


# --- Transcripts into segments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    id: int  # unique over all speeches
    speech: int  # index in EVENTS
    index: int  # position in its speech
    text: str
    words: int
    start: float  # seconds from the start of its speech
    end: float


@dataclass(frozen=True)
class Sentence:
    speech: int
    text: str
    segments: tuple[int, int]  # first and last index, in its speech, of the segments it was said in


_SENTENCE_END = re.compile(r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)(?<=[.?!])[\"”]?\s+(?=[\"“A-Z])")
LONG_SENTENCE = 40  # words: a recognizer's final ends at a pause well before that


def _sentences(paragraph: str) -> list[str]:
    pieces, at = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        pieces.append(paragraph[at : match.start() + len(match.group().rstrip())].strip())
        at = match.end()
    pieces.append(paragraph[at:].strip())
    return [piece for piece in pieces if piece]


def _finals(sentence: str) -> list[str]:
    """A long sentence as a recognizer would cut it: at commas, semicolons and dashes, 12 to 40 words a piece."""
    if len(sentence.split()) <= LONG_SENTENCE:
        return [sentence]
    parts = [part for part in re.split(r"(?<=[,;:—])\s*", sentence) if part]
    finals, current = [], ""
    for part in parts:
        joined = f"{current} {part}".strip() if not current.endswith("—") else current + part
        if current and len(joined.split()) > 30 and len(current.split()) >= 12:
            finals.append(current)
            current = part
        else:
            current = joined
    if current:
        if finals and len(current.split()) < 6:
            finals[-1] = f"{finals[-1]} {current}"
        else:
            finals.append(current)
    return finals


@dataclass
class Corpus:
    segments: list[list[Segment]]  # by speech
    sentences: list[list[Sentence]]  # by speech

    def window_text(self, speech: int, first: int, last: int) -> str:
        return " ".join(segment.text for segment in self.segments[speech][first : last + 1])

    def window_words(self, speech: int, first: int, last: int) -> int:
        return sum(segment.words for segment in self.segments[speech][first : last + 1])

    def thirty_minutes(self) -> list[Segment]:
        """The speeches joined in order, cut at the first segment end at or past 4,500 words, timed on one clock."""
        joined, words, clock = [], 0, 0.0
        for speech in self.segments:
            for segment in speech:
                if words >= THIRTY_MINUTES:
                    return joined
                length = segment.end - segment.start
                joined.append(replace(segment, start=clock, end=clock + length))
                words += segment.words
                clock += length
        return joined


def _said_in(paragraphs: list[str]) -> list[tuple[list[str], list[str]]]:
    """A speech as (sentences, finals) pairs: each final is one segment, and the sentences were said across
    them. Two short sentences make one final, as a recognizer's would; a long one is cut at its pauses."""
    units: list[tuple[list[str], list[str]]] = []
    for paragraph in paragraphs:
        pending: list[str] = []  # a short sentence waiting for the next to share its segment
        for sentence in _sentences(paragraph):
            finals = _finals(sentence)
            if len(finals) == 1 and len(sentence.split()) < 14:
                pending.append(sentence)
                if len(pending) == 2:
                    units.append((pending, [" ".join(pending)]))
                    pending = []
                continue
            if pending:
                units.append((pending, pending))
                pending = []
            units.append(([sentence], finals))
        if pending:  # a segment does not run across paragraphs
            units.append((pending, pending))
    return units


@cache
def corpus() -> Corpus:
    segments: list[list[Segment]] = []
    sentences: list[list[Sentence]] = []
    next_id = 1
    for number, event in enumerate(EVENTS):
        lines = (TRANSCRIPTS / event.file).read_text().splitlines()[1:]  # the first line is the header
        speech_segments: list[Segment] = []
        speech_sentences: list[Sentence] = []
        clock = 0.0
        for said, finals in _said_in([line.strip() for line in lines if line.strip()]):
            first = len(speech_segments)
            for final in finals:
                words = len(final.split())
                seconds = words * 60 / WORDS_PER_MINUTE
                speech_segments.append(
                    Segment(next_id, number, len(speech_segments), final, words, clock, clock + seconds)
                )
                clock += seconds
                next_id += 1
            speech_sentences += [Sentence(number, text, (first, len(speech_segments) - 1)) for text in said]
        segments.append(speech_segments)
        sentences.append(speech_sentences)
    built = Corpus(segments, sentences)
    for number, event in enumerate(EVENTS):
        said = " ".join(segment.text for segment in built.segments[number])
        for kind, listed in event.names.items():
            for name in listed:
                assert name in said, f"{event.file}: {kind} {name!r} is not in the transcript"
    return built


# --- Numbers: finding them in what was said, and writing them ---------------------------------------------

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = (
    "_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "twentieth": 20,
    "hundredth": 100,
}
_FRACTIONS = {"half": 0.5, "halves": 0.5, "quarter": 0.25, "quarters": 0.25, "thirds": 1 / 3}
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip
_CARDINAL = {word: value for value, word in enumerate(_ONES)} | {
    word: 10 * value for value, word in enumerate(_TENS) if word != "_"
}
_TOKEN = re.compile(r"[$£]?\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?%?|[A-Za-z]+(?:-[A-Za-z]+)*")


@dataclass(frozen=True)
class Mention:
    """A number as said: where it is in its sentence, its value, and what kind of number it is."""

    start: int
    end: int
    text: str
    value: float
    kind: str  # count | percent | money | cents | year | date | ordinal | fraction
    words: bool  # said in words rather than digits


def _word_value(word: str) -> float | None:
    word = word.lower()
    if word in _CARDINAL:
        return _CARDINAL[word]
    if "-" in word:
        tens, _, ones = word.partition("-")
        if tens in _CARDINAL and ones in _CARDINAL and _CARDINAL[ones] < 10:
            return _CARDINAL[tens] + _CARDINAL[ones]
    return None


def mentions(text: str) -> list[Mention]:
    """The numbers in `text`: digits, numbers in words, percentages, sums of money, years, dates, ordinals,
    fractions."""
    tokens = list(_TOKEN.finditer(text))
    words = [token.group().lower() for token in tokens]
    found, at = [], 0
    while at < len(tokens):
        read = _read_digits(text, tokens, words, at) or _read_words(text, tokens, words, at)
        if read is None:
            at += 1
            continue
        mention, at = read
        found.append(mention)
    return found


def _word(words: list[str], at: int) -> str:
    return words[at] if at < len(words) else ""


def _unit(words: list[str], at: int, kind: str) -> tuple[str, int]:
    """What follows a number and says what kind it is ("percent", "per cent", "dollars", "cents"), and where
    the mention ends."""
    if _word(words, at) == "percent":
        return "percent", at + 1
    if _word(words, at) == "per" and _word(words, at + 1) == "cent":
        return "percent", at + 2
    if _word(words, at) == "dollars":
        return "money", at + 1
    if _word(words, at) == "cents":
        return "cents", at + 1
    return kind, at


def _read_digits(text: str, tokens: list[re.Match], words: list[str], at: int) -> tuple[Mention, int] | None:
    token = tokens[at].group()
    if not (token[0] in "$£" or token[0].isdigit()):
        return None
    digits = token.lstrip("$£")
    kind = "ordinal" if re.search(r"(st|nd|rd|th)$", digits) else "percent" if digits.endswith("%") else "count"
    digits = re.sub(r"(st|nd|rd|th|%)$", "", digits)
    value = float(digits.replace(",", ""))
    end = at + 1
    if _word(words, end) in ("thousand", "million", "billion"):
        value *= _SCALES[words[end]]
        end += 1
    kind, end = _unit(words, end, kind)
    if token[0] in "$£":
        kind = "money"
    if kind == "count" and re.fullmatch(r"\d{4}", digits) and 1500 <= value <= 2100:
        kind = "year"
    start = tokens[at].start()
    if at > 0 and tokens[at - 1].group() in _MONTHS and kind in ("count", "ordinal") and value <= 31:
        start, kind = tokens[at - 1].start(), "date"
        if re.fullmatch(r"\d{4}", _word(words, end)):
            end += 1
    return Mention(start, tokens[end - 1].end(), text[start : tokens[end - 1].end()], value, kind, False), end


def _read_words(text: str, tokens: list[re.Match], words: list[str], at: int) -> tuple[Mention, int] | None:
    word = words[at]
    start = tokens[at].start()

    def mention(last: int, value: float, kind: str) -> tuple[Mention, int]:
        return Mention(start, tokens[last].end(), text[start : tokens[last].end()], value, kind, True), last + 1

    if word in _ORDINAL_WORDS and word != "second":  # "a second" is more often time than order
        return mention(at, _ORDINAL_WORDS[word], "ordinal")
    if word.split("-")[0] == "half":  # half, half-century
        return mention(at, 0.5, "fraction")
    following = _word(words, at + 1).split("-")[0]
    if word == "a" and following in ("half", "quarter", "third"):
        return mention(at + 1, {"half": 0.5, "quarter": 0.25, "third": 1 / 3}[following], "fraction")
    if "-" in word and word.split("-")[1] in _FRACTIONS and _word_value(word.split("-")[0]):  # two-thirds
        return mention(at, _word_value(word.split("-")[0]) * _FRACTIONS[word.split("-")[1]], "fraction")
    cardinal = _cardinal(words, at)
    if cardinal is None:
        return None
    last, value = cardinal
    if _word(words, last + 1) in ("quarters", "thirds", "halves"):  # three quarters
        return mention(last + 1, value * _FRACTIONS[words[last + 1]], "fraction")
    kind, end = _unit(words, last + 1, "count")
    if word == "one" and end == at + 1:
        kind = "one"  # as often a pronoun as a number: kept to keep made-up numbers clear of it
    return mention(end - 1, value, kind)


def _cardinal(words: list[str], at: int) -> tuple[int, float] | None:
    """A number in words from words[at] ("three and a half million"): the index of its last word and its value."""
    total = current = 0.0
    last = None
    scales = ("thousand", "million", "billion")
    while at < len(words):
        here = words[at]
        if _word_value(here) is not None:
            current += _word_value(here)
        elif here == "a" and _word(words, at + 1) in (*scales, "hundred"):
            current += 1
        elif here == "hundred" and last is not None:
            current = (current or 1) * 100
        elif here in scales and last is not None:
            total += (current or 1) * _SCALES[here]
            current = 0
        elif here == "and" and last is not None and _word(words, at + 1) == "a" and _word(words, at + 2) == "half":
            current += 0.5
            at += 2
        elif not (here == "and" and last is not None and _word_value(_word(words, at + 1)) is not None):
            break
        last = at
        at += 1
    return None if last is None else (last, total + current)


def said_values(text: str, dates: list[datetime] = ()) -> set[float]:
    """Every value `text` says, in every scale it could be read in, and the parts of the event's dates:
    a fabricated number must be none of them."""
    values: set[float] = set()
    for mention in mentions(text):
        value = mention.value
        values |= {round(value, 4), round(value / 1e3, 4), round(value / 1e6, 4), round(value / 1e9, 4)}
        if mention.kind == "date":
            values |= {float(part) for part in re.findall(r"\d+", mention.text)}  # its year too
        if mention.kind == "fraction":
            values.add(round(1 / value))  # "a third" is near "third" and "three": keep made-up numbers clear
    for moment in dates:
        values |= {moment.year, moment.month, moment.day, moment.hour, moment.hour % 12 or 12, moment.minute}
    return {value for value in values if value}


def in_words(number: int) -> str:
    """2 -> "two", 45 -> "forty-five", 240000 -> "two hundred and forty thousand" (British "and")."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {in_words(rest)}" if rest else "")
    for scale, size in (("billion", 10**9), ("million", 10**6), ("thousand", 1000)):
        if number >= size:
            high, rest = divmod(number, size)
            tail = "" if not rest else (f" and {in_words(rest)}" if rest < 100 else f" {in_words(rest)}")
            return f"{in_words(high)} {scale}{tail}"
    raise ValueError(number)


def ordinal_suffix(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def ordinal_in_words(number: int) -> str:
    words = in_words(number)
    head, sep, last = words.rpartition(" ") if "-" not in words.rsplit(" ", 1)[-1] else words.rpartition("-")
    special = {
        "one": "first",
        "two": "second",
        "three": "third",
        "five": "fifth",
        "eight": "eighth",
        "nine": "ninth",
        "twelve": "twelfth",
    }
    if last in special:
        last = special[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def _scaled(value: float) -> tuple[str, str]:
    """3_500_000 -> ("3.5", "million"); 5.4e9 -> ("5.4", "billion"); 40 -> ("40", "")."""
    for scale, size in (("billion", 1e9), ("million", 1e6)):
        if value >= size:
            return f"{value / size:g}", scale
    return f"{value:,.0f}" if value == int(value) else f"{value:g}", ""


def _large_in_words(value: float) -> str:
    coefficient, scale = _scaled(value)
    if scale and "." in coefficient:
        whole, fraction = coefficient.split(".")
        if fraction == "5":
            return f"{in_words(int(whole))} and a half {scale}"
    return in_words(int(value))


# --- Writing in the live-blog voice -----------------------------------------------------------------------

QUOTE_STYLES = {  # form key: (opening, closing, label)
    "quote_british": ("'", "'", "'straight single' (British)"),
    "quote_curly": ("“", "”", "“curly double”"),
    "quote_straight": ('"', '"', '"straight double"'),
    "quote_curly_single": ("‘", "’", "‘curly single’"),
    "quote_guillemets": ("«", "»", "«guillemets»"),
    "quote_single_guillemets": ("‹", "›", "‹single guillemets›"),
    "quote_german": ("„", "“", "„German“"),
    "quote_reversed": ("»", "«", "»reversed guillemets«"),
    "quote_corner": ("「", "」", "「corner brackets」"),
}
_DOUBLE = {"quote_curly", "quote_straight"}  # styles whose closing mark follows the full stop, US fashion
UNCLOSED_OPENINGS = ("“", '"', "«", "„", "‘", "'", "»", "「", "‹")


@dataclass(frozen=True)
class Form:
    key: str
    kind: str  # quote | number | name
    label: str


FORMS = (
    *(Form(key, "quote", f"quote in {label}") for key, (_, _, label) in QUOTE_STYLES.items()),
    Form("quote_apostrophes", "quote", "quote with apostrophes inside ('…don't…'), possessives around it"),
    Form("quote_block", "quote", "Markdown block quote line (> …)"),
    Form("quote_unclosed", "quote", "opening mark never closed (rest of the sentence)"),
    Form("number_digits", "number", "number in digits (45)"),
    Form("number_decimal", "number", "decimal (3.5 million)"),
    Form("number_percent_sign", "number", "percentage 40%"),
    Form("number_percent_word", "number", "percentage 40 percent"),
    Form("number_per_cent_words", "number", "percentage forty per cent"),
    Form("number_money_symbol", "number", "money $3.5 million"),
    Form("number_money_words", "number", "money 3.5 million dollars"),
    Form("number_money_pounds", "number", "money £20m"),
    Form("number_year", "number", "year (1630)"),
    Form("number_date", "number", "date (7 December)"),
    Form("number_time_24h", "number", "time 14:00"),
    Form("number_time_12h", "number", "time 2 pm"),
    Form("number_ordinal_digits", "number", "ordinal 5th"),
    Form("number_ordinal_words", "number", "ordinal fifth"),
    Form("number_words", "number", "number in words (seventeen)"),
    Form("number_fraction", "number", "fraction in words (a third)"),
    Form("number_words_large", "number", "large number in words (two million)"),
    Form("name_person", "name", "person, mid-sentence"),
    Form("name_org", "name", "organisation, mid-sentence"),
    Form("name_place", "name", "place, mid-sentence"),
    Form("name_product", "name", "product, mid-sentence"),
    Form("name_sentence_start", "name", "multi-word name at a sentence start"),
)
FORMS_BY_KEY = {form.key: form for form in FORMS}

# Framing a live blogger writes around what was said. No numbers; names only the speaker's and the place's.
OPENERS = (
    "{Surname} is into the heart of the speech now.",
    "{Role} moves on.",
    "A quieter passage now from {surname}.",
    "{Surname}'s delivery is slow and deliberate here.",
    "Back to the podium, where {surname} picks up the thread.",
    "Live from {place}, where {surname} has the room's full attention.",
    "President {surname} turns to the next part of his text.",
    "The crowd is quiet as {surname} goes on.",
    "It's {weekday} {daypart} {where}, and {surname} has the floor.",
)
CLOSERS = (
    "It's a line that draws the loudest response so far.",
    "{Surname} doesn't linger on it.",
    "Even the reporters' benches have gone quiet.",
    "There's a pause for applause before he goes on.",
    "{Role} isn't reading from his notes at this point, or doesn't appear to be.",
    "We'll have the full text once {surname}'s office releases it.",
    "It's the passage most of the room will remember.",
    "{Surname} looks up from the page for this one.",
)
SAYS = (
    "{Surname} says {clause}.",
    "{Surname} tells the audience that {clause}.",
    "{Role} says {clause}.",
    "According to {surname}, {clause}.",
    "{Clause}, {surname} says.",
    "Mr {Surname} says {clause}.",
    "{Surname} argues that {clause}.",
    "{Surname} adds that {clause}.",
)
QUOTE_TEMPLATES = (
    "{Surname} says: {o}{q}{stop_in}{c}{stop_out}",
    "{Role} puts it plainly: {o}{q}{stop_in}{c}{stop_out}",
    "In {surname}'s words, {o}{q}{stop_in}{c}{stop_out}",
    "{o}{Q}{comma_in}{c}{comma_out} {surname} says.",
    "{Surname}'s line here: {o}{q}{stop_in}{c}{stop_out}",
)
INVENTED_QUOTES = (
    "We will not rest until every family in this land has a decent home",
    "I have never been more certain that we are on the right road",
    "History will judge us by what we finish, not by what we start",
    "This is the most important choice of my public life",
    "There will be no retreat from the work we have begun together",
    "Our children will thank us for the courage we show tonight",
    "I will not ask of you anything I would not ask of myself",
    "The price of delay is always higher than the price of action",
    "No generation has ever been handed a harder task or a better chance",
    "We shall build the roads and the schools and the ports ourselves",
)
REPLACEMENTS = (
    "future", "courage", "progress", "strength", "promise", "labor", "faith", "markets", "science", "industry",
    "wealth", "victory", "justice", "comfort", "patience", "order", "unity", "energy",
)  # fmt: skip

PEOPLE = (
    "Maria Okonkwo", "Daniel Whitcombe", "Priya Raman", "Tomasz Kowalczyk", "Helen Abernathy", "Samuel Oduya",
    "Ingrid Halvorsen", "Rafael Montoya",
)  # fmt: skip
ORGS = (
    "the Brookings Institution", "Goldman Sachs", "the Rockefeller Foundation", "Westinghouse", "the Mayo Clinic",
    "Lockheed", "the Carnegie Endowment", "Procter & Gamble",
)  # fmt: skip
PLACES = ("Rotterdam", "Nairobi", "Lisbon", "Minneapolis", "Baltimore", "Manila", "Dublin", "Adelaide")
PRODUCTS = (
    "the Ford Thunderbird", "the Kodak Brownie", "Coca-Cola", "the Volkswagen Beetle", "the Chevrolet Corvair",
    "the Zenith Trans-Oceanic", "Tupperware", "the Polaroid Swinger",
)  # fmt: skip
LEADING_NAMES = (
    "Maria Okonkwo", "Goldman Sachs", "Buenos Aires", "Helen Abernathy", "Kuala Lumpur", "Procter & Gamble",
    "Rafael Montoya", "Tel Aviv",
)  # fmt: skip
NAME_TEMPLATES = {
    "person": (
        "{Surname} thanks {N} for the introduction.",
        "{Surname} singles out {N}, who is in the audience.",
        "{Role} nods towards {N} in the front row.",
    ),
    "org": (
        "{Surname} praises the work of {N}.",
        "{Surname} has a word of thanks for {N}.",
        "{Role} says he has spoken with {N} this week.",
    ),
    "place": (
        "{Surname} says the effort will be felt as far away as {N}.",
        "The speech is being carried live in {N}.",
        "{Surname} mentions {N} as an example.",
    ),
    "product": (
        "{Surname} compares the effort to building {N}.",
        "There's a nod to {N} in this passage.",
        "{Surname} jokes that it will take more than {N} to get there.",
    ),
    "sentence_start": (
        "{N} gets a mention as {surname} goes on.",
        "{N} is watched closely in this passage.",
        "{N} comes up as {surname} moves on.",
    ),
}
TRUE_NAME_TEMPLATES = (
    "{Surname} brings up {N} here.",
    "There's a mention of {N} in this passage.",
    "{Surname} mentions {N}.",
)

_STOPWORDS = {
    "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "by", "for", "with", "from", "that",
    "this", "these", "those", "which", "who", "whom", "whose", "what", "when", "where", "why", "how", "is", "are",
    "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did", "not", "no", "nor", "so",
    "as", "than", "then", "there", "their", "its", "our", "your", "his", "her", "they", "them", "we", "you", "he",
    "she", "it", "i", "me", "my", "us", "all", "any", "each", "every", "both", "more", "most", "other", "some",
    "such", "only", "own", "same", "very", "can", "will", "shall", "may", "might", "must", "should", "would",
    "could", "let",
}  # fmt: skip
_PAST = {
    "came", "made", "saw", "set", "took", "gave", "knew", "felt", "had", "did", "met", "won", "began", "sought",
    "fought", "went", "said", "found", "rode", "conquered",
}  # fmt: skip
_CLAUSE_STARTS = {
    "the", "this", "that", "these", "those", "it", "its", "we", "i", "our", "they", "their", "there", "he", "his",
    "no", "every", "a", "an", "more", "most", "some", "many", "all", "each", "both", "only",
}  # fmt: skip
_MODALS = "will|shall|can|could|would|must|may|might|should|cannot|dare|need"
_CONTRACTIONS = {"'m": "'s", "'re": " is", "'ve": " has"}
_FIRST_PERSON = re.compile(r"\b(I|[Ww]e)(?:('m|'re|'ve)|\s+(\w+))")


def _third_person(verb: str) -> str | None:
    if verb in ("are", "were"):
        return {"are": "is", "were": "was"}[verb]
    if verb in ("have", "do"):
        return {"have": "has", "do": "does"}[verb]
    if re.fullmatch(_MODALS, verb) or verb.endswith("ed") or verb in _PAST:
        return verb
    return None


def reported(sentence: str) -> str | None:
    """`sentence` in reported speech (he, the country), or None when it will not read well that way."""
    if re.search(r"\b(you|your|yours|yourselves|ye|us|let|ask)\b|[?\"“”]|:$", sentence, re.IGNORECASE):
        return None  # addressed to the audience, a question, a quotation within, or a salutation
    if len(re.findall(r"\b[Oo]ur\b", sentence)) > 2:
        return None  # "the country's" three times over is no one's live blog
    text = re.sub(r"^(And|But|So|Yet|For|Now|Well|Finally|Indeed|Then|Or)\b,?\s+", "", sentence.strip())
    text = text.rstrip(".!:;, —")

    def first_person(match: re.Match) -> str:
        subject, contraction, verb = match.groups()
        new = "he" if subject == "I" else "the country"
        if contraction:
            return new + _CONTRACTIONS[contraction]
        agreed = ({"am": "is", "was": "was"} if subject == "I" else {}).get(verb) or _third_person(verb)
        if agreed is None:
            raise ValueError(verb)
        return f"{new} {agreed}"

    try:
        text = _FIRST_PERSON.sub(first_person, text)
    except ValueError:
        return None
    text = re.sub(r"\bmy\b", "his", text)
    text = re.sub(r"\bMy\b", "His", text)
    text = re.sub(r"\bme\b", "him", text)
    text = re.sub(r"\bmyself\b", "himself", text)
    text = re.sub(r"\b[Oo]ur (country|[Nn]ation)\b", lambda m: f"the {m.group(1).lower()}", text)
    text = re.sub(r"\b[Oo]ur\b", "the country's", text)
    text = re.sub(r"\bourselves\b", "itself", text)
    if re.search(r"\b(I|we|We|mine|ours)\b", text):
        return None
    first = text.split(" ", 1)[0].strip(",")
    if first != "I" and not _is_name(first):
        text = text[0].lower() + text[1:]
    return text


def _is_name(word: str) -> bool:
    """Whether a word that starts a reported clause keeps its capital: a name the speeches never write in lower
    case, capitalised inside a sentence somewhere or listed among the event's names."""
    lowercase, capitalised = _case_of_words()
    return word.lower() not in lowercase and word in capitalised


@cache
def _case_of_words() -> tuple[frozenset[str], frozenset[str]]:
    lowercase, capitalised = set(), {"Christianity"}
    for speech in corpus().sentences:
        for sentence in speech:
            words = re.findall(r"[\w'’-]+", sentence.text)
            lowercase |= {word for word in words if word.islower()}
            capitalised |= {word for word in words[1:] if word[0].isupper()}
    capitalised |= {word for event in EVENTS for names in event.names.values() for n in names for word in n.split()}
    return frozenset(lowercase), frozenset(capitalised)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", re.sub(r"(?<=\w)['’](?=\w)", "", text.casefold())).split()


@cache
def _said_words(speech: int) -> str:
    """A speech's words, normalised, space-framed: a made-up quote must not be in it."""
    return " " + " ".join(_words(" ".join(s.text for s in corpus().segments[speech]))) + " "


def _said(quote: str, speech: int) -> bool:
    return f" {' '.join(_words(quote))} " in _said_words(speech)


@cache
def _all_said_words() -> frozenset[str]:
    texts = [segment.text for speech in corpus().segments for segment in speech]
    texts += [line for event in EVENTS for line in event.context]
    return frozenset(_words(" ".join(texts)))


def _never_said(name: str) -> bool:
    return not any(word in _all_said_words() for word in _words(name) if word != "the")


def _clauses(sentence: str, least: int = 5, most: int = 20) -> list[str]:
    """Runs of `sentence`'s clauses, least to most words, as they could be quoted: its own words, in order."""
    pieces = [piece.strip() for piece in re.split(r"(?<=[,;:—])\s*", sentence) if piece.strip()]
    runs = []
    for first in range(len(pieces)):
        for last in range(first, len(pieces)):
            run = " ".join(pieces[first : last + 1]).replace("— ", "—")
            run = run.strip(" ,;:—.!?")
            if least <= len(run.split()) <= most and '"' not in run and "“" not in run:
                runs.append(run)
    return runs


# --- Drafts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    id: int
    form: str
    fabricated: bool
    text: str
    speech: int
    batch: tuple[int, int]  # first and last segment index, in its speech, of the batch it is checked against
    element: str  # what the draft's form is about, as written in it (planted, when fabricated)

    @property
    def kind(self) -> str:
        return FORMS_BY_KEY[self.form].kind

    @property
    def words(self) -> int:
        return len(self.text.split())


class _Writer:
    """Builds one form's drafts. Every choice goes through `rng`, so a seed fixes every word."""

    def __init__(
        self,
        rng: random.Random,
        length: tuple[int, int],
        speeches: tuple[int, ...],
        segment_limit: dict[int, int] | None = None,
    ) -> None:
        self.rng = rng
        self.length = length
        self.speeches = speeches
        self.limit = segment_limit or {}
        self.corpus = corpus()

    # Windows ------------------------------------------------------------------------------------------------

    def sentences(self) -> list[Sentence]:
        found = []
        for speech in self.speeches:
            limit = self.limit.get(speech, len(self.corpus.segments[speech]))
            found.extend(s for s in self.corpus.sentences[speech] if s.segments[1] < limit)
        return found

    def window(self, sentence: Sentence) -> tuple[int, int]:
        """A batch around `sentence`: 40 s to 2 minutes of speech (100 to 300 words), within its speech."""
        segments = self.corpus.segments[sentence.speech]
        limit = self.limit.get(sentence.speech, len(segments))
        first, last = sentence.segments
        target = self.rng.randint(100, 300)
        while self.corpus.window_words(sentence.speech, first, last) < target:
            grow_left = first > 0 and (last + 1 >= limit or self.rng.random() < 0.5)
            if grow_left:
                first -= 1
            elif last + 1 < limit:
                last += 1
            else:
                break
        return first, last

    def context_sentences(self, speech: int, first: int, last: int, skip: str) -> list[str]:
        inside = [s for s in self.corpus.sentences[speech] if first <= s.segments[0] and s.segments[1] <= last]
        return [s.text for s in inside if s.text != skip]

    # Pieces ---------------------------------------------------------------------------------------------------

    def fill(self, template: str, event: Event, **values: str) -> str:
        role = event.role
        hour = event.starts_at.hour
        text = template.format(
            Surname=event.surname,
            surname=event.surname,
            Role=role[0].upper() + role[1:],
            role=role,
            place=event.place,
            where=event.where,
            weekday=event.starts_at.strftime("%A"),
            daypart="morning" if hour < 12 else "afternoon" if hour < 18 else "evening",
            **values,
        )
        return (text[0].upper() + text[1:]).replace("..", ".")

    def says(self, clause: str, event: Event) -> str:
        templates = [t for t in SAYS if " that {" not in t] if clause.lower().startswith("that ") else SAYS
        template = self.rng.choice(templates)
        return self.fill(template, event, clause=clause, Clause=clause[0].upper() + clause[1:])

    def reported_pieces(self, sentences: list[str], event: Event) -> list[str]:
        pieces = []
        for text in sentences:
            for clause_text in self._report_candidates(text):
                clause = reported(clause_text)
                if clause and 5 <= len(clause.split()) <= 30:
                    pieces.append(self.says(clause, event))
                    break
        return pieces

    def _report_candidates(self, sentence: str) -> list[str]:
        """`sentence`, or those of its parts (between semicolons and dashes) that stand as sentences."""
        parts = [part.strip(" ,") for part in re.split(r"(?<=[;—])\s*", sentence)]
        standing = [sentence] if len(sentence.split()) <= 40 else []
        for at, part in enumerate(parts):
            bare = re.sub(r"^(and|but|or|yet|for|so)\s+", "", part, flags=re.IGNORECASE)
            starts = bare.split(" ", 1)[0].lower()
            if len(parts) > 1 and len(bare.split()) >= 6 and (at == 0 or starts in _CLAUSE_STARTS):
                standing.append(bare.rstrip(";—"))
        return standing

    def quote(self, style: str, q: str, event: Event) -> str:
        opening, closing, _ = QUOTE_STYLES[style]
        double = style in _DOUBLE
        template = self.rng.choice(QUOTE_TEMPLATES)
        return self.fill(
            template,
            event,
            o=opening,
            c=closing,
            q=q,
            Q=q[0].upper() + q[1:],
            stop_in="." if double else "",
            stop_out="" if double else ".",
            comma_in="," if double else "",
            comma_out="" if double else ",",
        )

    def changed(self, clause: str, sentence: Sentence) -> str | None:
        """`clause` with one word changed, so that it was never said."""
        speech = sentence.speech
        words = clause.split(" ")
        spots = [
            i
            for i, word in enumerate(words)
            if word.isalpha() and word.islower() and len(word) > 3 and word not in _STOPWORDS
        ]
        self.rng.shuffle(spots)
        for spot in spots:
            for replacement in self.rng.sample(REPLACEMENTS, len(REPLACEMENTS)):
                if replacement == words[spot]:
                    continue
                attempt = " ".join([*words[:spot], replacement, *words[spot + 1 :]])
                if not _said(attempt, speech):
                    return attempt
        return None

    def invented(self, clause: str, sentence: Sentence) -> str:
        """A sentence the speaker never said, in the manner of the speech."""
        for quote in self.rng.sample(INVENTED_QUOTES, len(INVENTED_QUOTES)):
            if not _said(quote, sentence.speech):
                return quote
        raise AssertionError("every invented quote was said")

    def spliced(self, clause: str, sentence: Sentence) -> str | None:
        """The start of `clause` joined to a passage said elsewhere in the speech: each half was said, the whole
        never was."""
        sentences = self.corpus.sentences[sentence.speech]
        at = sentences.index(sentence)
        far = [s for i, s in enumerate(sentences) if abs(i - at) >= 3 and _clauses(s.text, 4, 12)]
        if not far:
            return None
        other = self.rng.choice(_clauses(self.rng.choice(far).text, 4, 12))
        head = " ".join(clause.split()[: self.rng.randint(4, 9)]).rstrip(",;:—")
        joined = f"{head} {other[0].lower() + other[1:] if not _is_name(other.split()[0]) else other}"
        return None if _said(joined, sentence.speech) else joined

    def negated(self, clause: str, sentence: Sentence) -> str | None:
        """`clause` with its meaning turned round by one small word: "not" dropped, or added after a verb."""
        if re.search(r"\bnot\b", clause):
            turned = re.sub(r"\bnot\s+", "", clause, count=1)
        else:
            turned, count = re.subn(
                r"\b(is|are|was|were|will|can|shall|must|should|would|could|may|has|have)\b", r"\1 not", clause, count=1
            )
            if not count:
                return None
        return None if _said(turned, sentence.speech) else turned

    def following(self, sentence: Sentence) -> Sentence | None:
        """The sentence said next, when the two are short enough to quote together."""
        sentences = self.corpus.sentences[sentence.speech]
        at = sentences.index(sentence)
        if at + 1 == len(sentences):
            return None
        following = sentences[at + 1]
        both = f"{sentence.text} {following.text}"
        if len(both.split()) > 30 or any(mark in both for mark in '"“”:;') or sentence.text[-1] != ".":
            return None
        limit = self.limit.get(sentence.speech, len(self.corpus.segments[sentence.speech]))
        return following if following.segments[1] < limit else None

    # Assembly -------------------------------------------------------------------------------------------------

    def assemble(self, event: Event, element: list[str], others: list[str], block: str | None = None) -> str | None:
        """Opener, the element's sentences among reported ones, a closer or two; 80-120 words (or the length
        asked), or None when the window has too little to report."""
        low, high = self.length
        target = self.rng.randint(low, high)
        opener = self.fill(self.rng.choice(OPENERS), event)
        closers = [self.fill(c, event) for c in self.rng.sample(CLOSERS, 2)]
        body = list(element)
        extra = list(others)
        position = 0
        while extra and self._count(opener, body, block) < target - 12:
            piece = extra.pop(0)
            if self._count(opener, body, block) + len(piece.split()) > high - 6:
                continue
            body.insert(position if self.rng.random() < 0.4 else len(body), piece)
            position += 1
        while closers and self._count(opener, body, block) < low + 2:
            body.append(closers.pop())
        if self._count(opener, body, block) < target and closers:
            closer = closers.pop()
            if self._count(opener, body, block) + len(closer.split()) <= high:
                body.append(closer)
        if self._count(opener, body, block) < low:
            return None
        text = " ".join([opener, *body])
        if block is not None:
            cut = self.rng.randint(1, max(1, len(body) - 1))
            lead = " ".join([opener, *body[:cut]])
            rest = " ".join(body[cut:])
            text = f"{lead}\n\n> {block}" + (f"\n\n{rest}" if rest else "")
        return text

    @staticmethod
    def _count(opener: str, body: list[str], block: str | None) -> int:
        return len(opener.split()) + sum(len(piece.split()) for piece in body) + len((block or "").split())


# Each builder returns (element sentences, the element as written, block line or None), or None when the
# sentence cannot carry the form.


@dataclass
class Element:
    """What a draft's form is about: the sentences that carry it, and how it is written in them."""

    sentences: list[str]
    written: str
    block: str | None = None  # a Markdown block-quote line
    span: tuple[int, int] | None = None  # segments it quotes, when more than its sentence's
    window: tuple[int, int] | None = None  # the batch, when the builder chose it
    smart: bool = False  # typeset with curly apostrophes (’), as a CMS with smart quotes would


def _quote_element(writer: _Writer, form: str, sentence: Sentence, event: Event, fabricated: bool, turn: int):
    clauses = _clauses(sentence.text)
    if form == "quote_apostrophes":
        clauses = [c for c in clauses if re.search(r"\w'\w", c)]
    if not clauses:
        return None
    clause = writer.rng.choice(clauses)
    span = None
    if fabricated:
        # In turn: one word changed, a sentence never said, two passages spliced, a "not" dropped or added.
        clause = (writer.changed, writer.invented, writer.spliced, writer.negated)[turn % 4](clause, sentence)
        if clause is None:
            return None
    elif turn % 3 == 2 and form not in ("quote_block", "quote_apostrophes"):
        # Two sentences said one after the other, quoted as one: the quote runs over a segment boundary.
        following = writer.following(sentence)
        if following is not None:
            clause = f"{sentence.text} {following.text}".rstrip(".!")
            span = (sentence.segments[0], following.segments[1])
    if form == "quote_block":
        if not fabricated:
            full = sentence.text
            if not 6 <= len(full.split()) <= 40 or '"' in full:
                return None
            return Element([], full, block=full)
        return Element([], clause + ".", block=clause + ".")
    if form == "quote_unclosed":
        opening = UNCLOSED_OPENINGS[turn % len(UNCLOSED_OPENINGS)]
        lead = writer.rng.choice(("{Surname} goes on: ", "{Role} puts it this way: ", "{Surname} says "))
        return Element([writer.fill(lead, event) + f"{opening}{clause}."], clause, span=span, smart=opening in "“‘")
    style = form
    if form == "quote_apostrophes":
        style = "quote_british" if turn % 2 == 0 else "quote_curly_single"
    text = writer.quote(style, clause, event)
    if form == "quote_apostrophes":
        text += " " + writer.fill("It's one of {surname}'s favourite themes, and the speakers' notes flag it.", event)
    return Element([text], clause, span=span, smart=style in ("quote_curly", "quote_curly_single"))


_NUMBER_KINDS = {  # form: mention kinds a true draft can restate in it
    "number_digits": ("count",),
    "number_decimal": ("count", "money"),
    "number_percent_sign": ("percent",),
    "number_percent_word": ("percent",),
    "number_per_cent_words": ("percent",),
    "number_money_symbol": ("money",),
    "number_money_words": ("money", "cents"),
    "number_money_pounds": (),
    "number_year": ("year",),
    "number_date": ("date",),
    "number_time_24h": (),
    "number_time_12h": (),
    "number_ordinal_digits": ("ordinal",),
    "number_ordinal_words": ("ordinal",),
    "number_words": ("count",),
    "number_fraction": ("fraction",),
    "number_words_large": ("count", "money"),
}


def _render(form: str, mention: Mention, value: float) -> str | None:
    """`value` written in `form`, in the place of `mention` (whose units it keeps); None if it cannot be."""
    integer = value == int(value)
    unit = ""
    if mention.kind in ("count", "cents") and not mention.words:
        unit = mention.text.lstrip("$£").split(" ", 1)[1] if " " in mention.text else ""
        unit = "" if unit.split(" ")[0] in ("million", "billion", "thousand") else unit
    if form == "number_digits":
        if mention.kind != "count" or not integer or value >= 1e6:
            return None
        return f"{value:,.0f}"
    if form == "number_decimal":
        coefficient, scale = _scaled(value)
        if "." not in coefficient or not scale:
            return None
        return f"${coefficient} {scale}" if mention.kind == "money" else f"{coefficient} {scale}"
    if form in ("number_percent_sign", "number_percent_word", "number_per_cent_words"):
        if mention.kind != "percent" or not integer:
            return None
        number = int(value)
        return {
            "number_percent_sign": f"{number}%",
            "number_percent_word": f"{in_words(number)} percent",
            "number_per_cent_words": f"{in_words(number)} per cent",
        }[form]
    if form == "number_money_symbol":
        if mention.kind != "money":
            return None
        coefficient, scale = _scaled(value)
        return f"${coefficient}{ {'million': 'm', 'billion': 'bn', '': ''}[scale] }"
    if form == "number_money_words":
        if mention.kind == "cents":
            return f"{in_words(int(value))} cents" if integer else None
        if mention.kind != "money":
            return None
        coefficient, scale = _scaled(value)
        return f"{coefficient} {scale} dollars".replace("  ", " ")
    if form == "number_year":
        return f"{int(value)}" if mention.kind == "year" and integer else None
    if form == "number_date":
        if mention.kind != "date":
            return None
        month = mention.text.split(" ")[0]
        year = re.search(r"\d{4}$", mention.text)
        return f"{int(value)} {month}" + (f" {year.group()}" if year else "")
    if form == "number_ordinal_digits":
        return ordinal_suffix(int(value)) if mention.kind == "ordinal" and value >= 2 else None
    if form == "number_ordinal_words":
        return ordinal_in_words(int(value)) if mention.kind == "ordinal" and not mention.words else None
    if form == "number_words":
        if mention.kind != "count" or mention.words or not integer or value >= 1000:
            return None
        return f"{in_words(int(value))}"
    if form == "number_fraction":
        if mention.kind != "fraction":
            return None
        return {0.5: "half", 0.75: "three-quarters", 0.25: "a quarter"}.get(round(value, 2))
    if form == "number_words_large":
        if mention.kind not in ("count", "money") or value < 1000:
            return None
        words = _large_in_words(value)
        return f"{words} dollars" if mention.kind == "money" else words
    return None


# Made-up numbers: candidate values per form, and claims to carry them when the window has no number to change.
_MADE_UP = {
    "number_digits": [7, 9, 11, 13, 16, 17, 23, 27, 31, 36, 42, 47, 52, 64, 73, 86],
    "number_words": [7, 9, 11, 13, 16, 17, 23, 27, 31, 36, 42, 47, 52, 64, 73, 86],
    "number_decimal": [1.5, 2.5, 3.7, 4.2, 6.5, 7.5, 8.3, 12.5],
    "number_percent_sign": [12, 18, 23, 27, 36, 40, 45, 60, 65, 72, 85],
    "number_percent_word": [12, 18, 23, 27, 36, 40, 45, 60, 65, 72, 85],
    "number_per_cent_words": [12, 18, 23, 27, 36, 40, 45, 60, 65, 72, 85],
    "number_money_symbol": [3.5e6, 20e6, 1.2e9, 750e6, 4e9, 90e6],
    "number_money_words": [3.5e6, 20e6, 1.2e9, 750e6, 4e9, 90e6],
    "number_money_pounds": [20e6, 3.5e6, 1.5e9, 80e6, 450e6, 7e6],
    "number_year": [1944, 1948, 1952, 1956, 1964, 1968, 1970, 1975, 1980],
    "number_date": [3, 9, 15, 21, 26, 28],
    "number_time_24h": [(14, 0), (16, 30), (9, 15), (18, 0), (11, 45), (21, 0), (15, 0)],
    "number_time_12h": [(14, 0), (16, 30), (9, 0), (18, 0), (11, 0), (21, 0), (15, 0)],
    "number_ordinal_digits": [3, 5, 6, 9, 11, 14, 17],
    "number_ordinal_words": [3, 5, 6, 9, 11, 14, 17],
    "number_fraction": [(1 / 3, "a third"), (2 / 3, "two-thirds"), (0.2, "a fifth"), (0.1, "one-tenth")],
    "number_words_large": [2e6, 3e6, 4e6, 6e6, 7000, 12000, 30000, 80000, 600000],
}
_CLAIMS = {
    "number_digits": ("{Surname} says {X} new programmes are planned.", "{Surname} counts {X} measures in all."),
    "number_words": ("{Surname} says {X} new programmes are planned.", "{Surname} counts {X} measures in all."),
    "number_decimal": (
        "{Surname} says costs have risen {X} times over.",
        "{Surname} puts the bill at {X} million a year.",
    ),
    "percent": (
        "{Surname} says support for the plan now stands at {X}.",
        "By {surname}'s account, {X} of the budget is already spoken for.",
        "{Surname} says {X} of families have felt the strain.",
    ),
    "money": (
        "{Surname} puts the cost of the programme at {X}.",
        "The plan carries a price tag of {X}, {surname} says.",
        "{Surname} says {X} has been set aside for it.",
    ),
    "number_money_pounds": ("{Surname} says allies have pledged {X}.", "Allies have put up {X}, {surname} says."),
    "number_year": (
        "{Surname} says the work should be finished by {X}.",
        "{Surname} looks back to {X} for a comparison.",
    ),
    "number_date": (
        "{Surname} says a vote on the plan is expected on {X}.",
        "The next step comes on {X}, {surname} says.",
    ),
    "time": (
        "{Surname} says he will meet his advisers at {X} tomorrow.",
        "A briefing is promised for {X}, {surname} says.",
    ),
    "ordinal": (
        "{Surname} says this is the {X} time he has made the case.",
        "{Surname} calls it the {X} such pledge of his term.",
    ),
    "number_fraction": (
        "{Surname} says {X} of the money will go to research.",
        "{Surname} says {X} of the country's factories stand idle.",
    ),
    "number_words_large": (
        "{Surname} says {X} people stand to benefit.",
        "{Surname} says the programme will reach {X} households.",
    ),
}


def _claim_key(form: str) -> str:
    if "percent" in form or "per_cent" in form:
        return "percent"
    if form in ("number_money_symbol", "number_money_words"):
        return "money"
    if form.startswith("number_time"):
        return "time"
    if form.startswith("number_ordinal"):
        return "ordinal"
    return form


def _write_made_up(form: str, value) -> str:
    if form == "number_digits":
        return f"{value}"
    if form == "number_words":
        return in_words(value)
    if form == "number_decimal":
        return f"{value:g}"
    if form == "number_percent_sign":
        return f"{value}%"
    if form == "number_percent_word":
        return f"{value} percent"
    if form == "number_per_cent_words":
        return f"{in_words(value)} per cent"
    if form == "number_money_symbol":
        coefficient, scale = _scaled(value)
        return f"${coefficient} {scale}"
    if form == "number_money_words":
        coefficient, scale = _scaled(value)
        return f"{coefficient} {scale} dollars"
    if form == "number_money_pounds":
        coefficient, scale = _scaled(value)
        return f"£{coefficient}{ {'million': 'm', 'billion': 'bn'}[scale] }"
    if form == "number_year":
        return f"{value}"
    if form == "number_time_24h":
        return f"{value[0]:02d}:{value[1]:02d}"
    if form == "number_time_12h":
        return _twelve_hour(value[0], value[1], int(value[0] + value[1]))
    if form == "number_ordinal_digits":
        return ordinal_suffix(value)
    if form == "number_ordinal_words":
        return ordinal_in_words(value)
    if form == "number_fraction":
        return value[1]
    if form == "number_words_large":
        return _large_in_words(value)
    raise ValueError(form)


def _made_up_values(form: str, value) -> set[float]:
    """The values a made-up number could be read as, all of which must be unsaid."""
    if form.startswith("number_time"):
        return {value[0], value[0] % 12 or 12} | ({value[1]} if value[1] else set())
    if form == "number_fraction":
        return {round(value[0], 4), round(1 / value[0])}
    if form in (
        "number_money_symbol",
        "number_money_words",
        "number_money_pounds",
        "number_words_large",
        "number_decimal",
    ):
        coefficient, _ = _scaled(value)
        return {round(value, 4), float(coefficient.replace(",", ""))}
    return {value}


_EVENT_FORMS = (
    "number_date",
    "number_year",
    "number_time_24h",
    "number_time_12h",
    "number_ordinal_digits",
    "number_ordinal_words",
)  # forms a true draft can also take from the event's own start
_MUTABLE_KINDS = _NUMBER_KINDS | {"number_money_pounds": ("money",), "number_decimal": ("count", "money")}


def _number_element(writer: _Writer, form: str, sentence: Sentence, event: Event, fabricated: bool, turn: int):
    speech = sentence.speech
    first, last = writer.window(sentence)
    batch = writer.corpus.window_text(speech, first, last) + " " + " ".join(event.context)
    said = said_values(batch, [event.starts_at])
    # A number said in this sentence, restated in the form (true) or with its value changed (fabricated).
    options = []
    for clause_text in writer._report_candidates(sentence.text):
        clause = reported(clause_text)
        if not clause or len(clause.split()) > 40:
            continue
        for mention in mentions(clause):
            if mention.kind not in (_MUTABLE_KINDS if fabricated else _NUMBER_KINDS)[form]:
                continue
            if fabricated:
                written = _changed_number(writer, form, mention, said)
            else:
                written = _render(form, mention, mention.value)
            if written is not None:
                options.append((clause, mention, written))
    if not fabricated:
        if form in _EVENT_FORMS and (turn % 2 == 1 or not options):
            piece = _event_number(writer, form, event, turn)
            return None if piece is None else Element([piece[0]], piece[1], window=(first, last))
        if not options:
            return None
    if options and (not fabricated or turn % 2 == 0):
        clause, mention, written = writer.rng.choice(options)
        new_clause = clause[: mention.start] + written + clause[mention.end :]
        return Element([writer.says(new_clause, event)], written, window=(first, last))
    # A claim nobody made, with a value nobody said.
    candidates = list(_MADE_UP[form])
    writer.rng.shuffle(candidates)
    for value in candidates:
        if _made_up_values(form, value) & said:
            continue
        if form == "number_date":
            month = writer.rng.choice([m for m in _MONTHS if m != event.starts_at.strftime("%B")])
            written = writer.rng.choice(
                (f"{value} {month}", f"{month} {value}", f"the {ordinal_suffix(value)} of {month}")
            )
        else:
            written = _write_made_up(form, value)
        template = writer.rng.choice(_CLAIMS[_claim_key(form)])
        return Element([writer.fill(template, event, X=written)], written, window=(first, last))
    return None


def _changed_number(writer: _Writer, form: str, mention: Mention, said: set[float]) -> str | None:
    value = mention.value
    steps = [2, 3, -2, 4, -3, 5, 7, -4] if value >= 5 else [2, 3, 4, 5, 6]
    if mention.kind == "year":
        steps = [-6, 4, -11, 9, 13]
    if value >= 1000:
        steps = [value * 0.5, value * 1.5, value, value * 2]
    if mention.kind == "fraction":
        for fraction, words in ((1 / 3, "a third"), (2 / 3, "two-thirds"), (0.2, "a fifth")):
            if not {round(fraction, 4), round(1 / fraction)} & said:
                return words
        return None
    for step in steps:
        new = value + step
        if new <= 0 or round(new, 4) in said or round(new / 1e6, 4) in said or round(new / 1e9, 4) in said:
            continue
        if form == "number_decimal":
            new = new + 0.5 if new < 100 else new * 1.1
            coefficient, _ = _scaled(new)
            if "." not in coefficient:
                continue
        written = _render(form, mention, new)
        if written is not None:
            return written
    return None


def _twelve_hour(hour: int, minute: int, turn: int) -> str:
    """2 pm, 8.30 pm, 8:30pm, 8.30 p.m., as live blogs write them."""
    shown = hour % 12 or 12
    half = "pm" if hour >= 12 else "am"
    style = turn // 2 % 4
    if style == 1:
        half = f"{half[0]}.m."
    separator = ":" if style in (2, 3) else "."
    space = "" if style == 3 else " "
    return f"{shown}{f'{separator}{minute:02d}' if minute else ''}{space}{half}"


def _event_number(writer: _Writer, form: str, event: Event, turn: int) -> tuple[str, str] | None:
    """A true number from the event's own start: its date or time, written in `form`."""
    start = event.starts_at
    month, weekday = start.strftime("%B"), start.strftime("%A")
    if form == "number_date":
        written = writer.rng.choice(
            (
                f"{start.day} {month}",
                f"{month} {start.day}",
                f"{start.day} {month} {start.year}",
                f"{month} {start.day}, {start.year}",
                f"{weekday} {start.day} {month}",
            )
        )
        return writer.fill("{Surname} is speaking today, {X}.", event, X=written), written
    if form == "number_time_24h":
        written = f"{start.hour:02d}{'.' if turn // 2 % 3 == 2 else ':'}{start.minute:02d}"
    elif form == "number_time_12h":
        written = _twelve_hour(start.hour, start.minute, turn)
    elif form == "number_year":
        written = f"{start.year}"
        return writer.fill("It is {month} {X}, and {surname} has the floor.", event, X=written, month=month), written
    elif form in ("number_ordinal_digits", "number_ordinal_words"):
        written = ordinal_suffix(start.day) if form == "number_ordinal_digits" else ordinal_in_words(start.day)
        template = writer.rng.choice(
            ("{Surname} is speaking on the {X} of {month}.", "{Surname} is speaking on {month} {X}.")
        )
        return writer.fill(template, event, X=written, month=month), written
    else:
        return None
    template = writer.rng.choice(("The address got under way at {X}.", "{Surname} took the stage at {X}."))
    return writer.fill(template, event, X=written), written


def _name_element(writer: _Writer, form: str, sentence: Sentence, event: Event, fabricated: bool, turn: int):
    kind = form.removeprefix("name_")
    if fabricated:
        pool = {"person": PEOPLE, "org": ORGS, "place": PLACES, "product": PRODUCTS, "sentence_start": LEADING_NAMES}[
            kind
        ]
        name = pool[turn % len(pool)]
        assert _never_said(name), name
        template = writer.rng.choice(NAME_TEMPLATES[kind])
        return Element([writer.fill(template, event, N=name)], name)
    if kind == "sentence_start":
        said = [n for names in event.names.values() for n in names if " " in n and n in sentence.text]
        said += [n for n in (event.speaker, f"President {event.surname}") if turn % 3 == 0]
        if not said:
            return None
        name = writer.rng.choice(said)
        template = writer.rng.choice(NAME_TEMPLATES["sentence_start"])
        return Element([writer.fill(template, event, N=name)], name)
    said = [n for n in event.names.get(kind, ()) if n in sentence.text]
    if not said:
        return None
    name = writer.rng.choice(said)
    return Element([writer.fill(writer.rng.choice(TRUE_NAME_TEMPLATES), event, N=name)], name)


def _candidates(writer: _Writer, form: Form, fabricated: bool) -> list[Sentence]:
    """Sentences a draft of `form` can be built around, in the order to try them."""
    sentences = list(writer.sentences())
    writer.rng.shuffle(sentences)
    if form.kind == "quote":
        if form.key == "quote_apostrophes":
            return [s for s in sentences if any(re.search(r"\w'\w", c) for c in _clauses(s.text))]
        return [s for s in sentences if _clauses(s.text)]
    if form.kind == "number":
        kinds = (_MUTABLE_KINDS if fabricated else _NUMBER_KINDS)[form.key]
        holding = [
            s
            for s in sentences
            if any(m.kind in kinds and (fabricated or _render(form.key, m, m.value)) for m in mentions(s.text))
        ]
        if not fabricated and form.key not in _EVENT_FORMS:
            return holding
        # Alternately a sentence with such a number (restated or changed) and any sentence (a claim, an event date).
        others = [s for s in sentences if s not in holding]
        mixed = []
        for at in range(max(len(holding), len(others))):
            mixed += holding[at : at + 1] + others[at : at + 1]
        return mixed
    if form.kind == "name" and not fabricated:
        if form.key == "name_sentence_start":
            return [
                s
                for s in sentences
                if any(" " in n and n in s.text for names in EVENTS[s.speech].names.values() for n in names)
            ] + sentences
        kind = form.key.removeprefix("name_")
        return [s for s in sentences if any(n in s.text for n in EVENTS[s.speech].names.get(kind, ()))]
    return sentences


def build(
    seed: int = 24,
    per_form: int = PER_FORM,
    length: tuple[int, int] = (MIN_WORDS, MAX_WORDS),
    speeches: tuple[int, ...] | None = None,
    segment_limit: dict[int, int] | None = None,
    first_id: int = 1,
) -> list[Draft]:
    """`per_form` fabricated drafts of every form and as many true ones (where the speeches say such a thing)."""
    speeches = tuple(range(len(EVENTS))) if speeches is None else speeches
    drafts: list[Draft] = []
    for form in FORMS:
        for fabricated in (False, True):
            rng = random.Random(f"{seed}:{form.key}:{fabricated}")
            writer = _Writer(rng, length, speeches, segment_limit)
            candidates = _candidates(writer, form, fabricated)
            made = 0
            # A sentence is used again (with other framing and another window) only when the speeches hold
            # too few for the form: a percentage, say, is said in one sentence only.
            for attempt in range(max(2 * len(candidates), 8 * per_form) if candidates else 0):
                if made == per_form:
                    break
                sentence = candidates[attempt % len(candidates)]
                draft = _draft(writer, form, sentence, fabricated, made, first_id + len(drafts))
                if draft is not None:
                    drafts.append(draft)
                    made += 1
    return drafts


def _draft(writer: _Writer, form: Form, sentence: Sentence, fabricated: bool, turn: int, draft_id: int) -> Draft | None:
    event = EVENTS[sentence.speech]
    builder = {"quote": _quote_element, "number": _number_element, "name": _name_element}[form.kind]
    element = builder(writer, form.key, sentence, event, fabricated, turn)
    if element is None:
        return None
    if element.window is not None:
        first, last = element.window
    else:
        quoted = sentence if element.span is None else Sentence(sentence.speech, sentence.text, element.span)
        first, last = writer.window(quoted)
    others = writer.context_sentences(sentence.speech, first, last, skip=sentence.text)
    writer.rng.shuffle(others)
    # The other sentences' numbers and names were said in the batch: they stay as they were said.
    pieces = writer.reported_pieces(others, event)
    text = writer.assemble(event, element.sentences, pieces, element.block)
    if text is None or not writer.length[0] <= len(text.split()) <= writer.length[1]:
        return None
    written = element.written
    if element.smart:
        text, written = _smart_apostrophes(text), _smart_apostrophes(written)
    return Draft(draft_id, form.key, fabricated, text, sentence.speech, (first, last), written)


def _smart_apostrophes(text: str) -> str:
    """don't -> don’t, the speakers' notes -> the speakers’ notes."""
    return re.sub(r"(?<=\w)'(?=\w)|(?<=s)'(?=\s)", "’", text)


def dataset(seed: int = 24) -> list[Draft]:
    return build(seed)


def timing_drafts(seed: int = 24, per_form: int = 1) -> list[Draft]:
    """Drafts of about 120 words made from the 30-minute transcript, for timing the check against all of it."""
    joined = corpus().thirty_minutes()
    limit: dict[int, int] = {}
    for segment in joined:
        limit[segment.speech] = segment.index + 1
    return build(
        seed + 1,
        per_form=per_form,
        length=(112, 125),
        speeches=tuple(sorted(limit)),
        segment_limit=limit,
        first_id=10_001,
    )
