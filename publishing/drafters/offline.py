"""The offline drafter: picks the batch's most telling sentences, 80-120 words, the same every time."""

import re
from collections import Counter

from publishing.brief import Brief
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


def _sentences(transcript: str) -> list[str]:
    text = re.sub(r"^Speaker \d+:\s*", "", transcript, flags=re.MULTILINE)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text.lower())


def extract(transcript: str, glossary: list[str]) -> str:
    """Choose whole sentences by how much of the batch's vocabulary they carry, then restore their order."""
    sentences = _sentences(transcript)
    frequency = Counter(word for word in _words(transcript) if word not in _STOPWORDS)
    terms = [term.lower() for term in glossary]

    def score(index: int) -> tuple[float, int]:
        sentence = sentences[index]
        words = [w for w in _words(sentence) if w not in _STOPWORDS]
        weight = sum(frequency[w] for w in words) / (len(words) + 3)
        weight += sum(2.0 for term in terms if term in sentence.lower())
        return (-weight, index)  # ties go to the earlier sentence, so the result never varies

    ranked = sorted(range(len(sentences)), key=score)
    chosen: list[int] = []
    count = 0
    for index in ranked:
        length = len(sentences[index].split())
        if count + length <= MAX_WORDS:
            chosen.append(index)
            count += length
        if count >= MIN_WORDS:
            break
    if count < MIN_WORDS:
        # Whole sentences did not reach the minimum: add the next best one, clipped at the maximum.
        rest = [i for i in ranked if i not in chosen]
        if rest:
            words = sentences[rest[0]].split()[: MAX_WORDS - count]
            sentences[rest[0]] = " ".join(words) + "…"
            chosen.append(rest[0])
    return " ".join(sentences[i] for i in sorted(chosen))


class OfflineDrafter(Drafter):
    name = "offline"
    endpoint = "offline"

    def draft(self, brief: Brief) -> Draft:
        # The whole batch is read locally, however long: nothing to split.
        return Draft(
            body=extract(brief.transcript, brief.glossary),
            provider=self.name,
            endpoint=self.endpoint,
            request_id="",
            credits_used=0,
            latency_ms=0,
            parts=1,
        )
