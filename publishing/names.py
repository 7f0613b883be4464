"""Proper names in a draft: capitalised words that do not start a sentence, and runs of them."""

import re
from dataclasses import dataclass
from functools import lru_cache

from wordfreq import zipf_frequency

# A capitalised word this common in the language (Zipf scale: 4 is once in 100,000 words) that starts a
# sentence is taken for an ordinary word ("Meanwhile", "Prices"), not a name.
COMMON_AT_SENTENCE_START = 3.5
# Joined inside a name ("Bank of England", "Ludwig van Beethoven"), never a name alone.
_PARTICLES = {"of", "the", "de", "del", "della", "der", "den", "van", "von", "da", "di", "du", "la", "le", "al", "bin"}
# Capitalised by rule, not because they name someone.
_NEVER_NAMES = {"i", "i'm", "i've", "i'll", "i'd", "mr", "mrs", "ms", "dr", "prof", "sir", "dame", "st"}
_TOKEN = re.compile(r"[^\W\d_][\w'’.-]*[\w]|[^\W\d_]|[.!?…:;\n]+|[,\"“”„«»‹›「」『』()\[\]—–]")
_WORD = re.compile(r"[^\W_][\w'’.-]*")
_SENTENCE_BREAK = re.compile(r"^[.!?…:;\n]+$")
# Languages that capitalise every noun: there a common capitalised word is an ordinary noun ("Regierung") anywhere,
# so only rarer ones are taken for names (a name that is also a common word goes unchecked).
_NOUNS_CAPITALISED = {"de", "lb"}


@dataclass(frozen=True)
class Name:
    start: int
    end: int
    text: str
    words: tuple[str, ...]  # the words that must be found: the name without particles or titles


def words_of(text: str) -> list[str]:
    """A name's or a source's words as they are looked up: case-folded, no possessive, no dots."""
    found = []
    for word in _WORD.findall(text.casefold()):
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        found.append(word.rstrip("'’").replace(".", ""))
    return [word for word in found if word]


@lru_cache(maxsize=4096)
def is_common(word: str, language: str) -> bool:
    """Whether `word` is a common word of `language` (wordfreq's Zipf scale), by how often it is written."""
    return zipf_frequency(word, language) >= COMMON_AT_SENTENCE_START


def names(text: str, language: str = "en") -> list[Name]:
    """Every proper name in `text` (leave quotations out first: they are checked word for word); `language` is a
    wordfreq code."""
    tokens = list(_TOKEN.finditer(text))
    found: list[Name] = []
    run: list[re.Match] = []
    sentence_start = True

    def close_run() -> None:
        while run and run[-1].group().casefold() in _PARTICLES:
            run.pop()
        words = tuple(w for token in run for w in words_of(token.group()) if w not in _NEVER_NAMES | _PARTICLES)
        if words:
            found.append(Name(run[0].start(), run[-1].end(), text[run[0].start() : run[-1].end()], words))
        run.clear()

    for token in tokens:
        word = token.group()
        if _SENTENCE_BREAK.match(word) or not word[0].isalpha():
            close_run()
            sentence_start = sentence_start or bool(_SENTENCE_BREAK.match(word)) or word in '(“"„«»‹「『'
            continue
        capitalised = word[0].isupper()
        if capitalised and sentence_start and not run:
            sentence_start = False
            plain = words_of(word)
            if not plain or plain[0] in _NEVER_NAMES or is_common(plain[0], language):
                continue  # an ordinary word that starts a sentence
            run.append(token)
            continue
        sentence_start = False
        if capitalised and language in _NOUNS_CAPITALISED and words_of(word) and is_common(words_of(word)[0], language):
            close_run()
            continue
        if (capitalised and words_of(word) and words_of(word)[0] not in _NEVER_NAMES) or (run and word in _PARTICLES):
            run.append(token)
        else:
            close_run()
    close_run()
    return found
