"""Quotations in a draft, in every style a newsroom writes them, and where the transcript says them.

Words are compared after normalising case and punctuation, and numbers by value, so "Real-time, 40%" matches
"real time forty percent". A quote that is not there gets the closest passage, for the editor to compare.
"""

import bisect
import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from publishing.numbers import numbers

# Each opening mark, and the marks that may close it.
_CLOSERS = {
    "“": "”\"", '"': "\"”“", "„": "“”\"", "‟": "”", "«": "»", "»": "«»", "‹": "›", "›": "‹›",
    "‘": "’'", "'": "'’", "‚": "‘’", "「": "」", "『": "』",
}  # fmt: skip
_SINGLE = "'‘‚’"
_SENTENCE_END = re.compile(r"[.!?…](?=[\s\"”’»«›]|$)|\n")
_BLOCK_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?(.*)$", re.MULTILINE)
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_PLAIN_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Quotation:
    start: int  # of the quoted text in the draft, marks excluded
    end: int
    text: str


def _opens(text: str, at: int) -> bool:
    mark, before = text[at], text[at - 1] if at else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    if after.isspace():
        return False
    if mark in _SINGLE or mark == '"':
        # An apostrophe inside or after a word (don't, the speakers' notes) or before a decade ('90s) opens nothing.
        return not (before.isalnum() or re.match(r"\d\ds\b", text[at + 1 : at + 4]))
    return True


def _closes(text: str, at: int, opener: str) -> bool:
    if text[at] not in _CLOSERS[opener] or text[at - 1].isspace():
        return False
    after = text[at + 1] if at + 1 < len(text) else " "
    return not (text[at] in _SINGLE and after.isalnum())


def quotations(text: str) -> list[Quotation]:
    """The passages quoted in `text`, in order: marks of any style, Markdown block quotes, and an opening mark
    that never closes (the rest of its sentence is the quote). Those with no words are left out."""
    found: list[Quotation] = []
    for block in _BLOCK_QUOTE.finditer(text):
        if not any(mark in block.group(1) for mark in _CLOSERS):
            found.append(Quotation(block.start(1), block.end(1), block.group(1)))
    at = 0
    while at < len(text):
        mark = text[at]
        if mark not in _CLOSERS or not _opens(text, at):
            at += 1
            continue
        paragraph_end = text.find("\n", at)
        paragraph_end = len(text) if paragraph_end < 0 else paragraph_end
        end = next((i for i in range(at + 2, paragraph_end) if _closes(text, i, mark)), None)
        if end is None:
            sentence_end = _SENTENCE_END.search(text, at + 1, paragraph_end)
            end = sentence_end.end() if sentence_end and sentence_end.group() != "\n" else paragraph_end
            found.append(Quotation(at + 1, end, text[at + 1 : end]))
            at = end
        else:
            found.append(Quotation(at + 1, end, text[at + 1 : end]))
            at = end + 1
    found = [q for q in found if canonical_words(q.text)]
    return sorted({(q.start, q.end): q for q in found}.values(), key=lambda q: q.start)


def canonical_words(text: str) -> list[tuple[str, int, int]]:
    """`text`'s words, case-folded and without punctuation, each number as one word of its value, with
    its (start, end) in `text`, so a match can be traced back to what was said."""
    spans = numbers(text)
    starts = [number.start for number in spans]
    words: list[tuple[str, int, int]] = []
    emitted = -1
    for match in _WORD.finditer(text):
        index = bisect.bisect_right(starts, match.start()) - 1
        if index >= 0 and spans[index].start <= match.start() < spans[index].end:
            if index != emitted:
                number = spans[index]
                words.append(("#" + "/".join(f"{v:g}" for v in sorted(number.values)), number.start, number.end))
                emitted = index
            continue
        word = match.group().replace("'", "").replace("’", "").casefold()
        if "_" in word:
            words.extend((part, match.start(), match.end()) for part in word.replace("_", " ").split())
        else:
            words.append((word, match.start(), match.end()))
    return words


class SaidWord(NamedTuple):
    """One word of the transcript, with the segment it is in, its provider's confidence and its time."""

    word: str
    segment: int  # index into the transcript's segments
    confidence: float | None
    start: float
    end: float
    char_start: int  # where in the segment's text the word was written
    char_end: int


class Transcript:
    """A batch's transcript as one run of canonical words, for finding quotes in it; confidence, time
    and place are read only for the segments a quote is found in (`said`)."""

    def __init__(self, spoken: list) -> None:
        self.spoken = spoken
        self.words: list[str] = []
        self.segment_of: list[int] = []
        self.first_word: list[int] = []  # of each segment, in self.words
        for index, part in enumerate(spoken):
            written = _word_strings(part.text)
            self.first_word.append(len(self.words))
            self.words.extend(written)
            self.segment_of.extend([index] * len(written))
        self.text = " " + " ".join(self.words) + " "
        self.offsets = []  # where each word starts in self.text
        position = 1
        for word in self.words:
            self.offsets.append(position)
            position += len(word) + 1
        # Every value said, from the numbers' canonical words ("#40", "#14/2"): no second reading of the text.
        self.values = {float(v) for word in self.words if word[0] == "#" for v in word[1:].split("/")}
        self._positions: dict[str, list[int]] | None = None
        self._details: dict[int, list[SaidWord]] = {}

    def said(self, first: int, end: int) -> list[SaidWord]:
        """Words first..end with their segment, confidence, time and place in the segment's text."""
        found = []
        for index in range(first, end):
            segment = self.segment_of[index]
            if segment not in self._details:
                self._details[segment] = _said_words(segment, self.spoken[segment])
            found.append(self._details[segment][index - self.first_word[segment]])
        return found

    def find(self, quoted: list[str]) -> list[int]:
        """Where the words `quoted` stand in the transcript, one after the other: the index of each first word."""
        needle = " " + " ".join(quoted) + " "
        found, at = [], self.text.find(needle)
        while at >= 0:
            found.append(bisect.bisect_left(self.offsets, at + 1))
            at = self.text.find(needle, at + 1)
        return found

    def closest(self, quoted: list[str]) -> tuple[int, int]:
        """The stretch as long as the quote most like it (difflib's ratio), as (first word, end)."""
        size = min(len(quoted), len(self.words))
        if self._positions is None:
            self._positions = {}
            for index, word in enumerate(self.words):
                self._positions.setdefault(word, []).append(index)
        # Windows that share the most words with the quote; only those are compared in full.
        shared: Counter[int] = Counter()
        for offset, word in enumerate(quoted):
            for index in self._positions.get(word, ()):
                shared[max(0, min(index - offset, len(self.words) - size))] += 1
        candidates = [start for start, _ in shared.most_common(40)] or [0]
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(quoted)
        best, best_ratio = candidates[0], -1.0
        for start in sorted(candidates):
            matcher.set_seq1(self.words[start : start + size])
            if matcher.quick_ratio() <= best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best, best_ratio = start, ratio
        return best, best + size

    def passage(self, first: int, end: int) -> str:
        """The transcript's own text of words first..end, as the segments have it."""
        by_segment: dict[int, list[SaidWord]] = {}
        for word in self.said(first, end):
            by_segment.setdefault(word.segment, []).append(word)
        pieces = []
        for segment, words in by_segment.items():
            text = self.spoken[segment].text
            start = text.rfind(" ", 0, words[0].char_start) + 1  # whole tokens, punctuation and all
            end = text.find(" ", words[-1].char_end)
            pieces.append(text[start : None if end < 0 else end])
        return " ".join(pieces)


def _word_strings(text: str) -> list[str]:
    """canonical_words(text) without their places: the same words, read faster where no number is written."""
    if numbers(text):
        return [word for word, _, _ in canonical_words(text)]
    return _PLAIN_WORD.findall(text.casefold().replace("'", "").replace("’", ""))


def _said_words(index: int, part) -> list[SaidWord]:
    """A segment's canonical words, each with the confidence and time of the provider's words it came from."""
    written = canonical_words(part.text)
    if not part.words:
        return [SaidWord(word, index, None, part.start, part.end, start, end) for word, start, end in written]
    token_starts = [match.start() for match in re.finditer(r"\S+", part.text)]
    scores = _token_scores(part, len(token_starts))
    words = []
    for word, start, end in written:
        first = bisect.bisect_right(token_starts, start) - 1
        last = bisect.bisect_right(token_starts, end - 1) - 1
        confidences = [scores[i][0] for i in range(first, last + 1) if scores[i][0] is not None]
        confidence = min(confidences) if confidences else None
        words.append(SaidWord(word, index, confidence, scores[first][1], scores[last][2], start, end))
    return words


def token_times(part) -> list[tuple[float, float]]:
    """(start, end) in stream time of each whitespace token of a segment's text, from the provider's words."""
    return [(start, end) for _, start, end in _token_scores(part, len(part.text.split()))]


def unsure_tokens(part) -> set[int]:
    """Which whitespace tokens of a segment's text its recognizer was unsure of (below `part.unsure_below`)."""
    scores = _token_scores(part, len(part.text.split()))
    return {
        i for i, (confidence, _, _) in enumerate(scores) if confidence is not None and confidence < part.unsure_below
    }


def _token_scores(part, count: int) -> list[tuple[float | None, float, float]]:
    """(confidence, start, end) of each whitespace token of the segment's text, from the provider's words;
    in an editor's correction, a word the editor wrote has no confidence (the editor heard it)."""
    plain = [(part.start, part.end)] * count
    spoken = [w for w in part.words if isinstance(w, dict)]
    if not spoken:
        return [(None, start, end) for start, end in plain]
    tokens = [_plain(token) for token in part.text.split()]
    given = [_plain(str(w.get("punctuated_word") or w.get("word") or "")) for w in spoken]
    scores: list[tuple[float | None, float, float]] = [(None, start, end) for start, end in plain]
    matcher = difflib.SequenceMatcher(a=tokens, b=given, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            w = spoken[block.b + offset]
            confidence = w.get("confidence")
            scores[block.a + offset] = (
                float(confidence) if isinstance(confidence, int | float) else None,
                _seconds(w.get("start"), part.start),
                _seconds(w.get("end"), part.end),
            )
    return scores


def _plain(token: str) -> str:
    return re.sub(r"[^\w]", "", token.casefold())


def _seconds(value, fallback: float) -> float:
    return float(value) if isinstance(value, int | float) else fallback
