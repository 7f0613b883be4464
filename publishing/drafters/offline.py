"""The offline drafter: reports the batch's most telling sentences as attributed quotations, the same every time.

It writes no words of the speakers' own outside quotation marks and none of its own inside them: each quotation is
a stretch of the transcript as said and heard with confidence, so every post it drafts passes the check.
"""

import re
from collections import Counter
from dataclasses import dataclass, replace

from django.utils import translation
from django.utils.translation import pgettext

from publishing.brief import Brief, SpokenLine, SummaryBrief, SummaryUpdate
from publishing.drafters.base import Draft, Drafter

MIN_WORDS = 80
MAX_WORDS = 120
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
        "not",
        "do",
        "does",
        "just",
        "very",
    ]
)


# An unpunctuated run (the offline recognizer writes no punctuation) is quoted in pieces of at most this many words.
_LONGEST_PIECE = 25
_LONGEST_QUOTE = 45
# A confident stretch shorter than this between unsure words is left out: too little to quote.
_SHORTEST_PIECE = 4


def _verbs() -> tuple[str, ...]:
    """How each quotation is introduced, in the language active (the event's: OfflineDrafter.draft)."""
    return (
        pgettext("offline post: a speaker", "says"),
        pgettext("offline post: a speaker", "adds"),
        pgettext("offline post: a speaker", "goes on"),
        pgettext("offline post: a speaker", "continues"),
    )


@dataclass(frozen=True)
class Sentence:
    speaker: str  # the speaker's name or label ("Speaker 2"), or "" when the transcript has none
    text: str
    follows_on: bool = True  # said right after the sentence before it: nothing left out between them
    by_number: bool = False  # `speaker` is a label, not a name (SpokenLine.by_number)


def _pieces(text: str) -> list[str]:
    words = text.split()
    if len(words) <= _LONGEST_PIECE + 5:
        return [text]
    count = -(-len(words) // _LONGEST_PIECE)
    size = -(-len(words) // count)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def _sentences(lines: list[SpokenLine]) -> list[Sentence]:
    sentences = []
    for line in lines:
        # Quotation marks inside speech would end our quotation early: the check ignores punctuation anyway.
        tokens = [re.sub(r"[“”\"«»‹›„「」『』]|(?<!\w)['‘’]|['‘’](?!\w)", "", token) for token in line.text.split()]
        # Words the recognizer was unsure of are never quoted: the stretch around them is quoted in pieces.
        stretches, current = [], []
        for index, token in enumerate(tokens):
            if index in line.unsure:
                stretches.append(current)
                current = []
            elif token:
                current.append(token)
        stretches.append(current)
        follows_on = True
        for stretch in stretches:
            if len(stretch) < _SHORTEST_PIECE and len(stretches) > 1:  # a fragment between unsure words
                follows_on = False
                continue
            if not stretch:
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(stretch)):
                for piece in _pieces(sentence.strip()):
                    sentences.append(Sentence(line.speaker, piece, follows_on, line.by_number))
                    follows_on = True
            follows_on = False
    return [sentence for sentence in sentences if sentence.text]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text.lower())


def _compose(sentences: list[Sentence], chosen: list[int]) -> str:
    """Chosen sentences in the order said, one quotation per run of adjacent sentences by one speaker."""
    named = {s.speaker for s in sentences if s.speaker}
    runs: list[tuple[Sentence, list[str]]] = []
    previous = None
    for index in sorted(chosen):
        sentence = sentences[index]
        continues = runs and previous == index - 1 and runs[-1][0].speaker == sentence.speaker and sentence.follows_on
        if continues and len(" ".join([*runs[-1][1], sentence.text]).split()) <= _LONGEST_QUOTE:
            runs[-1][1].append(sentence.text)
        else:
            runs.append((sentence, [sentence.text]))
        previous = index
    told: Counter[str] = Counter()
    reports = []
    verbs = _verbs()
    for first, texts in runs:
        # One speaker known only by number is "the speaker"; a name, or several speakers, is said.
        unnamed = pgettext("offline post", "The speaker")
        speaker = first.speaker
        who = speaker if len(named) > 1 or (speaker and not first.by_number) else unnamed
        verb = verbs[0] if not told[who] else verbs[1 + (told[who] - 1) % (len(verbs) - 1)]
        told[who] += 1
        quote = " ".join(texts)
        end = "" if quote[-1] in ".!?…" else "."
        reports.append(f"{who} {verb}: “{quote}”{end}")
    return " ".join(reports)


def report(lines: list[SpokenLine], glossary: list[str]) -> str:
    """Choose sentences by how much of the batch's vocabulary they carry, and report them in the order said."""
    # Nothing heard with confidence: quote it as heard; the check then holds the draft with the words marked.
    sentences = _sentences(lines) or _sentences([replace(line, unsure=frozenset()) for line in lines])
    transcript = " ".join(line.text for line in lines)
    if not sentences:
        return ""
    frequency = Counter(word for word in _words(transcript) if word not in _STOPWORDS)
    terms = [term.lower() for term in glossary]

    def score(index: int) -> tuple[float, int]:
        text = sentences[index].text
        words = [w for w in _words(text) if w not in _STOPWORDS]
        weight = sum(frequency[w] for w in words) / (len(words) + 3)
        weight += sum(2.0 for term in terms if term in text.lower())
        return (-weight, index)  # ties go to the earlier sentence, so the result never varies

    ranked = sorted(range(len(sentences)), key=score)
    chosen: list[int] = []
    length = 0
    for index in ranked:
        longer = len(_compose(sentences, [*chosen, index]).split())
        if longer <= MAX_WORDS:
            chosen.append(index)
            length = longer
        if length >= MIN_WORDS:
            break
    rest = [index for index in ranked if index not in chosen]
    if length < MIN_WORDS and rest:
        # Whole sentences did not reach the minimum: the next best one, cut short where the maximum allows.
        index = rest[0]
        words = sentences[index].text.split()
        room = MAX_WORDS - len(_compose(sentences, [*chosen, index]).split()) + len(words)
        if room >= 3:
            sentences[index] = replace(sentences[index], text=" ".join(words[:room]) + "…")
            chosen.append(index)
    return _compose(sentences, chosen)


# --- The story so far, offline: the pinned post and the key events, told by their headlines or first sentences. ---

SUMMARY_POINTS = 5
_POINT_WORDS = 40
_OPENS = "“«„「『‹"
_CLOSES = "”»“」』›"
_SENTENCE_END = ".!?…"


def first_sentence(text: str) -> str:
    """`text` up to its first full stop outside quotation marks, at most _POINT_WORDS words (a quotation cut short
    is closed again, so it stays a run of the post's own words)."""
    depth, straight, end = 0, False, len(text)
    for index, char in enumerate(text):
        if char == '"':
            straight = not straight
        elif char in _OPENS and not (char == "“" and depth):
            depth += 1
        elif char in _CLOSES:
            depth = max(0, depth - 1)
            stops = index and text[index - 1] in _SENTENCE_END
            if stops and not depth and not text[index + 1 : index + 2].strip():
                end = index + 1  # the sentence ends inside the quotation: “… it never tires.”
                break
        elif char in _SENTENCE_END and not depth and not straight and text[index + 1 : index + 2].strip() == "":
            end = index + 1
            break
    sentence = " ".join(text[:end].split())
    words = sentence.split()
    if len(words) <= _POINT_WORDS:
        return sentence
    cut = " ".join(words[:_POINT_WORDS]).rstrip(",;:")
    opened = sum(cut.count(mark) for mark in _OPENS) - sum(cut.count(mark) for mark in "”»」』›")
    return cut + "…" + ("”" if opened > 0 else "")


def summary_points(updates: list[SummaryUpdate]) -> list[str]:
    """The pinned post first, then the latest key events as they happened; too few, and the latest other posts fill
    in. Each is told by its headline, or its body's first sentence: the post's own words, so every point is traced."""
    pinned = [update for update in updates if update.pinned][:1]
    keys = [update for update in updates if update.key_event and not update.pinned]
    chosen = pinned + keys[len(keys) - (SUMMARY_POINTS - len(pinned)) :] if keys else pinned
    if len(chosen) < 3:
        others = [update for update in updates if update not in chosen]
        chosen += others[-(3 - len(chosen)) :] if others else []
    ordered = chosen[:1] + sorted(chosen[1:], key=updates.index) if pinned else sorted(chosen, key=updates.index)
    return [update.headline or first_sentence(update.body) for update in ordered]


class OfflineDrafter(Drafter):
    name = "offline"
    endpoint = "offline"

    translates = False  # it only quotes what was said: reader editions show the original, with a note

    def draft(self, brief: Brief) -> Draft:
        # The whole batch is read locally, however long: nothing to split. Its few own words in the event's language.
        with translation.override(brief.language):
            body = report(brief.lines, brief.glossary)
        return Draft(
            body=body,
            provider=self.name,
            endpoint=self.endpoint,
            request_id="",
            credits_used=0,
            latency_ms=0,
            parts=1,
        )

    def summarise(self, brief: SummaryBrief) -> Draft:
        return Draft(
            body="\n".join(f"- {point}" for point in summary_points(brief.updates)),
            provider=self.name,
            endpoint=self.endpoint,
            request_id="",
            credits_used=0,
            latency_ms=0,
            parts=1,
        )
