"""Numbers in text, by value: "40%", "forty per cent" and "40 percent" are all 40; in German, French, Spanish,
Italian, Portuguese and Dutch, "vierzig Prozent" and "3,5 Millionen" too (numbers_in: words to digits by text2num)."""

import difflib
import re
from dataclasses import dataclass

from text_to_num import alpha2digit

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SHORT_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9, "b": 1e9, "tn": 1e12}
_ORDINALS = {
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40,
    "fiftieth": 50, "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90, "hundredth": 100,
    "thousandth": 1000, "millionth": 1e6,
}  # fmt: skip
# "a third", "two fifths": the denominators a fraction is said with.
_DENOMINATORS = (
    {"half": 2, "halves": 2, "quarter": 4, "quarters": 4}
    | {f"{word}s": value for word, value in _ORDINALS.items() if value <= 10}
    | {word: value for word, value in _ORDINALS.items() if value <= 10}
)
# Said so often as something else ("one of them", "first of all", "a second") that they are not read as numbers.
_NOT_COUNTED = {"one", "first", "second", "once"}
_STARTS_A_NUMBER = {*_UNITS, *_TENS, *_ORDINALS, "a", "an", "half", "dozen"}
_MAY_HOLD_A_NUMBER = re.compile(
    r"\d|\b(?:{})".format("|".join(sorted({*_UNITS, *_TENS, *_ORDINALS, "half", "dozen"} - {"a", "an"})))
)
_TAKES_ONE = {"hundred", "point", *_SCALES, *_DENOMINATORS}
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_DIGITS = re.compile(
    r"(?<![\w.,])(?P<cur>[$£€¥])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suffix>%|st\b|nd\b|rd\b|th\b|s\b|(?:k|m|mn|bn|b|tn)\b)?"
    r"(?::(?P<min>\d{2}))?"
)
_TENS_AND_ONES = "(?:{})-(?:{})".format(
    "|".join(_TENS), "|".join([*list(_UNITS)[1:10], *list(_ORDINALS)[:7], "first", "second"])
)
_TOKEN = re.compile(rf"[$£€¥]?\d[\d,.:]*(?:%|[a-z]+)?|{_TENS_AND_ONES}\b|[a-z]+|%")


@dataclass(frozen=True)
class Number:
    """One number as written: where it stands in the text, and the values it may mean."""

    start: int
    end: int
    text: str
    values: frozenset[float]


def key(value: float) -> float:
    """A value rounded so that sums computed two ways compare equal (1/3 written as 0.333…)."""
    return float(f"{value:.6g}")


def _word_values(words: list[str], index: int) -> tuple[int, set[float]] | None:
    """A number said in words starting at words[index]: (words used, values), or None."""
    word = words[index]
    following = words[index + 1] if index + 1 < len(words) else ""
    if word in ("a", "an", "one") and following in _DENOMINATORS and following not in ("second", "first"):
        return 2, {key(1 / _DENOMINATORS[following])}
    if word in ("a", "an") and (following in _SCALES or following in ("hundred", "dozen")):
        value = 100 if following == "hundred" else 12 if following == "dozen" else _SCALES[following]
        return 2, {value}
    if word == "half":
        return 1, {0.5}
    if word == "dozen":
        return 1, {12}
    if word in _ORDINALS:
        return 1, {_ORDINALS[word]}
    parts = word.split("-")
    if not (parts[0] in _UNITS or parts[0] in _TENS):
        return None
    if word in _NOT_COUNTED and following not in _TAKES_ONE:
        return None
    total, current, used, decimals = 0.0, 0.0, 0, ""
    last_kind = ""
    while index + used < len(words):
        word = words[index + used]
        parts = word.split("-")
        if len(parts) == 2 and parts[0] in _TENS:
            if last_kind in ("unit", "tens"):
                break
            ones = _UNITS.get(parts[1]) or _ORDINALS.get(parts[1]) or {"first": 1, "second": 2}[parts[1]]
            current += _TENS[parts[0]] + ones
            last_kind = "tens"
        elif word in _UNITS:
            if last_kind == "unit" or (last_kind == "tens" and _UNITS[word] >= 10):
                break
            current += _UNITS[word]
            last_kind = "unit"
        elif word in _TENS:
            if last_kind in ("unit", "tens"):
                break
            current += _TENS[word]
            last_kind = "tens"
        elif word == "hundred" and last_kind in ("unit", "tens"):
            current *= 100
            last_kind = "hundred"
        elif word in _SCALES and last_kind:
            total += current * _SCALES[word]
            current = 0.0
            last_kind = "scale"
        elif word == "and" and last_kind in ("hundred", "scale") and index + used + 1 < len(words):
            nxt = words[index + used + 1].split("-")[0]
            if nxt not in _UNITS and nxt not in _TENS:
                break
        elif word == "point" and last_kind in ("unit", "tens") and not decimals:
            digits = []
            while index + used + 1 < len(words) and words[index + used + 1] in _UNITS:
                if _UNITS[words[index + used + 1]] > 9:
                    break
                used += 1
                digits.append(str(_UNITS[words[index + used]]))
            if not digits:
                break
            decimals = "".join(digits)
            current = float(f"{int(current)}.{decimals}")
            last_kind = "decimal"
        elif _is_fraction(word, last_kind, current):
            current /= _DENOMINATORS[word]
            used += 1
            last_kind = "fraction"
            break
        else:
            break
        used += 1
    if not used:
        return None
    # "three and a half million"
    if words[index + used : index + used + 3] == ["and", "a", "half"]:
        current += 0.5
        used += 3
        if index + used < len(words) and words[index + used] in _SCALES:
            total += current * _SCALES[words[index + used]]
            current = 0
            used += 1
    value = total + current
    return used, {key(value)}


def _is_fraction(word: str, last_kind: str, numerator: float) -> bool:
    """ "two thirds", "one half": a small number, then a denominator (an ordinal only in the plural)."""
    plural_or_not_ordinal = word.endswith("s") or word not in _ORDINALS
    return word in _DENOMINATORS and last_kind in ("unit", "tens") and numerator <= 10 and plural_or_not_ordinal


def _digit_values(match: re.Match, following: str) -> tuple[set[float], bool]:
    """Values of a number written in digits, and whether it took the scale word after it ("3.5 million")."""
    number = float(match["num"].replace(",", ""))
    suffix = (match["suffix"] or "").lower()
    if match["min"] is not None:  # a time: 14:30 is the 14th hour or 2 (pm), and 30 minutes are their own number
        hour = int(number)
        return {key(hour), key(hour % 12 or 12)}, False
    if suffix in _SHORT_SCALES:
        return {key(number * _SHORT_SCALES[suffix])}, False
    if following in _SCALES:
        return {key(number * _SCALES[following])}, True
    if following == "hundred":
        return {key(number * 100)}, True
    if suffix == "s" and number >= 10:  # the 1990s, the 90s
        return {key(number)}, False
    return {key(number)}, False


def numbers(text: str, *, words: bool = True) -> list[Number]:
    """Every number in English `text`, in order, digits and words alike (`words` False: digits only)."""
    lowered = text.lower()
    found: list[Number] = []
    if not (_MAY_HOLD_A_NUMBER if words else _HAS_A_DIGIT).search(lowered):
        return found
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(lowered)]
    index = 0
    while index < len(tokens):
        start, _end, token = tokens[index]
        following = tokens[index + 1][2] if index + 1 < len(tokens) else ""
        digits = _DIGITS.match(lowered, start) if token[0] in "$£€¥0123456789" else None
        if digits:
            values, took_scale = _digit_values(digits, following)
            stop = tokens[index + 1][1] if took_scale else digits.end()
            found.append(Number(start, stop, text[start:stop], frozenset(values)))
            if digits["min"] is not None and int(digits["min"]):
                found.append(Number(start, stop, text[start:stop], frozenset({key(int(digits["min"]))})))
            index += 2 if took_scale else 1
            continue
        said = None
        if words and (token in _STARTS_A_NUMBER or ("-" in token and _WORD.fullmatch(token))):
            said = _word_values([t[2] for t in tokens[index : index + 12]], 0)
        if said:
            used, values = said
            stop = tokens[index + used - 1][1]
            found.append(Number(start, stop, text[start:stop], frozenset(values)))
            index += used
            continue
        index += 1
    return _spoken_years(found, text)


def _spoken_years(found: list[Number], text: str) -> list[Number]:
    """ "twenty twenty-six", "nineteen ninety": two numbers said one after the other may be one year."""
    merged: list[Number] = []
    for number in found:
        previous = merged[-1] if merged else None
        if previous and not text[previous.end : number.start].strip() and _year_halves(previous, number):
            (high,), (low,) = previous.values, number.values
            values = frozenset({high * 100 + low, high, low})
            merged[-1] = Number(previous.start, number.end, text[previous.start : number.end], values)
        else:
            merged.append(number)
    return merged


def _year_halves(first: Number, second: Number) -> bool:
    if len(first.values) != 1 or len(second.values) != 1:
        return False
    (high,), (low,) = first.values, second.values
    return 10 <= high <= 99 and 0 <= low <= 99 and high == int(high) and low == int(low)


def values(text: str) -> set[float]:
    """All the values `text` states."""
    return {value for number in numbers(text) for value in number.values}


# --- Other languages: number words become digits (text2num), then the digits are read as above. ---

_HAS_A_DIGIT = re.compile(r"\d")
_PERCENT = {
    "de": r"prozent",
    "fr": r"pour[ -]?cent",
    "es": r"por ?cient[oa]?|por cien",
    "it": r"per ?cento",
    "pt": r"por ?cento",
    "nl": r"procent",
}
# Scale words, which text2num misreads after a decimal ("3,5 Millionen"): set aside as English ones, read afterwards.
_SCALE_WORDS = {
    "de": {"million": r"millionen|million|mio\.?", "billion": r"milliarden|milliarde|mrd\.?",
           "trillion": r"billionen|billion"},
    "fr": {"million": r"millions?", "billion": r"milliards?", "trillion": r"billions?"},
    "es": {"billion": r"mil millones", "million": r"millones|millón|millon", "trillion": r"billones|billón|billon"},
    "it": {"million": r"milioni|milione|mln", "billion": r"miliardi|miliardo|mld", "trillion": r"bilioni|bilione"},
    "pt": {"billion": r"mil milhões|bilhões|bilhão", "million": r"milhões|milhão", "trillion": r"trilhões|trilhão"},
    "nl": {"million": r"miljoenen|miljoen|mln\.?", "billion": r"miljarden|miljard|mld\.?", "trillion": r"biljoen"},
}  # fmt: skip
_SET_ASIDE = {"million": "\u27e8M\u27e9", "billion": "\u27e8B\u27e9", "trillion": "\u27e8T\u27e9"}
_A_SCALE = re.compile(r"\b(?:ein|eine|einer|un|une|uno|una|um|uma|een)\s+(?=\u27e8[MBT]\u27e9)", re.IGNORECASE)
# Thousands grouped by dots (or thin spaces; French also plain spaces), a decimal comma: "1.000,5" is 1000.5.
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?:,\d+)?(?![\d.,]\d)")
_GROUPED_FR = re.compile(r"(?<![\d.,])\d{1,3}(?:[ .\u00a0\u202f]\d{3})+(?:,\d+)?(?![\d.,]\d)")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")


def _rules(language: str) -> str:
    return language.split("-")[0].lower()


def normalised(text: str, language: str) -> str:
    """`text` with its number words as digits and its digits written the English way ("3,5 ⟨M⟩" → "3.5 million")."""
    lang = _rules(language)
    if lang in _PERCENT:
        text = re.sub(rf"\s*\b(?:{_PERCENT[lang]})\b", " %", text, flags=re.IGNORECASE)
    for scale, pattern in _SCALE_WORDS.get(lang, {}).items():
        text = re.sub(rf"\b(?:{pattern})(?!\w)", _SET_ASIDE[scale], text, flags=re.IGNORECASE)
    text = _A_SCALE.sub("1 ", text)
    if lang in _PERCENT:  # text2num's languages among ours (English is read by numbers() itself)
        text = alpha2digit(text, lang, threshold=0)
    grouped = _GROUPED_FR if lang == "fr" else _GROUPED
    text = grouped.sub(lambda m: re.sub(r"[ .\u00a0\u202f]", "", m.group()).replace(",", "."), text)
    text = _DECIMAL_COMMA.sub(".", text)
    for scale, mark in _SET_ASIDE.items():
        text = text.replace(mark, scale)
    return text


def _back(original: str, changed: str):
    """Maps a span of `changed` to the span of `original` it came from."""
    opcodes = difflib.SequenceMatcher(None, original, changed, autojunk=False).get_opcodes()

    def where(at: int, *, end: bool) -> int:
        for tag, i1, i2, j1, j2 in opcodes:
            if j1 <= at < j2 or (tag == "insert" and at == j1):
                if tag == "equal":
                    return i1 + (at - j1) + (1 if end else 0)
                return i2 if end else i1
        return len(original)

    return lambda start, stop: (where(start, end=False), max(where(start, end=False), where(stop - 1, end=True)))


def numbers_in(text: str, language: str = "en") -> list[Number]:
    """Every number in `text` written in `language`, with its place in `text`. A lone "one" in words ("ein Mann",
    "un projet") is an article more often than a number, as in English, and is left out."""
    if _rules(language) == "en" or not text:
        return numbers(text)
    changed = normalised(text, language)
    if changed == text:
        return numbers(text, words=False)
    back = _back(text, changed)
    found = []
    for number in numbers(changed, words=False):
        start, stop = back(number.start, number.end)
        while stop < len(text) and text[stop].isalnum() and text[stop - 1].isalnum():
            stop += 1  # the rest of a word only partly aligned ("millions" read as "million")
        written = text[start:stop]
        if number.values == {1} and not _HAS_A_DIGIT.search(written):
            continue
        found.append(Number(start, stop, written, number.values))
    return found


def values_in(text: str, language: str = "en") -> set[float]:
    """All the values `text`, written in `language`, states."""
    if _rules(language) == "en":
        return values(text)
    return {value for number in numbers(normalised(text, language), words=False) for value in number.values}
