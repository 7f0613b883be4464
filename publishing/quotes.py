"""Checking a draft's quotations against what was said: every quoted passage must be in the transcript.

Words are compared after normalising case and punctuation, so "Real-time, she says." matches "real time she
says". A quote that is not there gets the closest passage of the transcript, for the editor to compare.
"""

import difflib
import re
from dataclasses import dataclass, field

# “…” and "…", and ‘…’ whose closing mark is not an apostrophe inside a word (don’t, it’s).
_QUOTED = re.compile(r"“([^“”]*)”|\"([^\"]*)\"|‘(.*?)’(?!\w)", re.DOTALL)
_APOSTROPHES = re.compile(r"(?<=\w)['’](?=\w)")
_NOT_WORD = re.compile(r"[^\w]+")


def normalised_words(text: str) -> list[str]:
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold()).replace("_", " ")).split()


def quotations(text: str) -> list[str]:
    """The passages in quotation marks, in order, those with no words left out."""
    found = (next(group for group in match.groups() if group is not None) for match in _QUOTED.finditer(text))
    return [quote.strip() for quote in found if normalised_words(quote)]


@dataclass(frozen=True)
class Spoken:
    """One stretch of transcript: a segment's id and text."""

    segment_id: int
    text: str


@dataclass
class QuoteCheck:
    quotes: list[str] = field(default_factory=list)
    # Each quote not found: {"quote", "closest", "segments": ids of the closest passage's segments}.
    unverified: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.unverified


def check_quotes(text: str, spoken: list[Spoken]) -> QuoteCheck:
    """Every quotation in `text` looked up in the transcript, word for word."""
    tokens = [(part.segment_id, token) for part in spoken for token in part.text.split()]
    # One normalised word per entry, with the transcript token it came from.
    words: list[tuple[str, int]] = []
    for index, (_, token) in enumerate(tokens):
        words.extend((word, index) for word in normalised_words(token))
    said = " " + " ".join(word for word, _ in words) + " "
    check = QuoteCheck(quotes=quotations(text))
    for quote in check.quotes:
        quoted = normalised_words(quote)
        if f" {' '.join(quoted)} " not in said:
            check.unverified.append(_closest(quote, quoted, words, tokens))
    return check


def _closest(quote: str, quoted: list[str], words: list[tuple[str, int]], tokens: list[tuple[int, str]]) -> dict:
    """The window of the transcript, as long as the quote, most like it (difflib's ratio over words)."""
    if not words:
        return {"quote": quote, "closest": "", "segments": []}
    size = min(len(quoted), len(words))
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(quoted)  # difflib caches what it learns about the second sequence: the quote, compared often
    best, best_ratio = 0, -1.0
    for start in range(len(words) - size + 1):
        matcher.set_seq1([word for word, _ in words[start : start + size]])
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    first, last = words[best][1], words[best + size - 1][1]
    passage = tokens[first : last + 1]
    segments = list(dict.fromkeys(segment_id for segment_id, _ in passage))
    return {"quote": quote, "closest": " ".join(token for _, token in passage), "segments": segments}
