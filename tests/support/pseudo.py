"""A pseudo-locale: every msgid of our catalogs and of Django's own, its translation "⟦msgid⟧", so a page read in
it shows at a glance each word that bypassed the translation framework: the words outside ⟦…⟧. Built from the
committed locale and Django's English catalogs with the gettext tools (msgcat, msgfmt)."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
OPEN, CLOSE = "⟦", "⟧"
# Django's catalogs whose words our pages show (admin, login, forms, dates).
DJANGO_CATALOGS = {
    "django": ["conf", "contrib/admin", "contrib/auth", "contrib/contenttypes", "contrib/sessions"],
    "djangojs": ["contrib/admin"],
}


def _django_po(part: str, domain: str) -> Path:
    base = Path(django.__file__).parent
    return base / part / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"


def build(target: Path, language: str = "de") -> Path:
    """target/<language>/LC_MESSAGES/{django,djangojs}.mo in the pseudo-locale; returns target (a LOCALE_PATHS
    entry). Our own catalog comes first, so its header (plural forms) is the one kept."""
    folder = target / language / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    for domain, parts in DJANGO_CATALOGS.items():
        sources = [ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"]
        sources += [path for path in (_django_po(part, domain) for part in parts) if path.exists()]
        merged, pseudo = folder / f"{domain}.all.po", folder / f"{domain}.pseudo.po"
        run("msgcat", "--use-first", "--no-location", "--no-wrap", "-o", str(merged), *map(str, sources))
        pseudo.write_text(pseudo_catalog(merged.read_text(encoding="utf-8")), encoding="utf-8")
        run("msgfmt", "--check-format", "-o", str(folder / f"{domain}.mo"), str(pseudo))
    return target


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


def entries(po: str) -> list[tuple[dict[str, str], list[str], str]]:
    """A catalog's entries, obsolete ones left out: each its fields (msgctxt, msgid, msgid_plural, msgstr…, as
    written between quotes, escapes kept), its comment lines and its text as written."""
    found = []
    for block in po.split("\n\n"):
        lines = [line for line in block.strip("\n").splitlines() if not line.startswith("#~")]
        fields: dict[str, str] = {}
        comments: list[str] = []
        key = None
        for line in lines:
            if line.startswith("#"):
                comments.append(line)
            elif match := _KEYWORD.match(line):
                key = match.group(1)
                fields[key] = fields.get(key, "") + match.group(2)[1:-1]
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if "msgid" in fields:
            found.append((fields, comments, block))
    return found


def is_fuzzy(comments: list[str]) -> bool:
    return any(line.startswith("#,") and "fuzzy" in line for line in comments)


def pseudo_catalog(po: str) -> str:
    """The catalog `po` with every translation replaced by its msgid (msgid_plural for plural forms) in ⟦…⟧;
    the header kept, fuzzy marks and obsolete entries dropped."""
    out: list[str] = []
    for fields, comments, block in entries(po):
        if fields["msgid"] == "":  # the header: its plural forms hold for every entry
            out.append(block)
            continue
        entry = [line.replace(", fuzzy", "") for line in comments if line != "#, fuzzy"]
        if "msgctxt" in fields:
            entry.append(f'msgctxt "{fields["msgctxt"]}"')
        entry.append(f'msgid "{fields["msgid"]}"')
        if "msgid_plural" in fields:
            entry.append(f'msgid_plural "{fields["msgid_plural"]}"')
            entry.append(f'msgstr[0] "{OPEN}{fields["msgid"]}{CLOSE}"')
            entry.append(f'msgstr[1] "{OPEN}{fields["msgid_plural"]}{CLOSE}"')
        else:
            entry.append(f'msgstr "{OPEN}{fields["msgid"]}{CLOSE}"')
        out.append("\n".join(entry))
    return "\n\n".join(out) + "\n"


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_LETTER = re.compile(r"[^\W\d_]")


def unmarked(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The stretches of `text` with a letter in them that are neither inside ⟦…⟧ nor one of the `allowed` strings
    (people's content, names of brands and formats)."""
    before = None
    while before != text:
        before, text = text, _MARKED.sub(" ", text)
    for allowed_text in sorted(allowed, key=len, reverse=True):
        if allowed_text:  # whole words only: an allowed "ed" leaves "edited" alone
            text = re.sub(rf"(?<!\w){re.escape(allowed_text)}(?!\w)", " ", text)
    chunks = (chunk.strip() for chunk in re.split(r"\s{2,}|\n", text))
    # A letter on its own is a key's name (j, k, Q), the same in every language.
    return [chunk for chunk in chunks if _LETTER.search(chunk) and len(chunk) > 1]


# Attributes a person reads or hears (a screen reader speaks aria-label and alt; title is a tooltip).
READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "aria-description")
# Django's admin writes these icons' alt text in English, untranslated, whatever the language.
DJANGO_ICON_ALTS = {"True", "False", "None", "Search"}


class _VisibleText(HTMLParser):
    """The text of a page a person may read, in document order, and the attributes they may read or hear,
    including the words scripts take from the page (data-* attributes holding a sentence)."""

    SKIPPED = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.skipping = 0
        self.tag = ""

    def handle_starttag(self, tag, attrs):
        self.tag = tag
        if tag in self.SKIPPED:
            self.skipping += 1
        values = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            read = name in READ_ATTRIBUTES
            read |= tag == "input" and name == "value" and values.get("type") in ("submit", "button", "reset")
            # Words a script shows, kept on the page: a sentence, not JSON or an address.
            read |= (
                name.startswith("data-") and " " in value.strip() and value.strip()[0] not in "{[" and "/" not in value
            )
            if read and not (tag == "img" and name == "alt" and value in DJANGO_ICON_ALTS):
                self.attributes.append((tag, name, value))

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        code = self.tag == "textarea" and data.lstrip().startswith("<")  # HTML to copy (an embed snippet)
        if not self.skipping and not code:
            self.text.append(data)


def untranslated(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """What a page says outside the pseudo-locale's marks: text, then read attributes (as tag[name]: value)."""
    parser = _VisibleText()
    parser.feed(html)
    found = unmarked("  ".join(parser.text), allowed)
    for tag, name, value in parser.attributes:
        found += [f"{tag}[{name}]: {chunk}" for chunk in unmarked(value, allowed)]
    return found
