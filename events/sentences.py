"""A sentence stored as its msgid and arguments, to be written out in each reader's language when shown (issue 30):
what the desk is told once for every editor (alerts, failures) is kept this way.

Sentence.gettext and Sentence.ngettext are named after the functions they defer, so makemessages finds their msgids
as it finds gettext's. A stored msgid is looked up as it was written: one changed since reads in English."""

from dataclasses import dataclass, field
from typing import Any, Self

from django.conf import settings
from django.utils import translation


@dataclass(frozen=True)
class Sentence:
    msgid: str
    # Written into the msgid: a Sentence in the reader's language too; anything else (a number, a name, an HTTP
    # status, an exception's own text) as it is.
    args: dict[str, Any] = field(default_factory=dict)
    plural: str = ""

    @classmethod
    def gettext(cls, msgid: str, /, **args) -> Self:
        return cls(msgid, args)

    @classmethod
    def ngettext(cls, singular: str, plural: str, count: int, /, **args) -> Self:
        """The singular or plural form as `count` asks, written with it as %(count)d."""
        return cls(singular, {"count": count, **args}, plural)

    def __str__(self) -> str:
        """In the active language."""
        args = {name: str(value) if isinstance(value, Sentence) else value for name, value in self.args.items()}
        if self.plural:
            text = translation.ngettext(self.msgid, self.plural, args["count"])
        else:
            text = translation.gettext(self.msgid)
        return text % args if args else text

    def as_json(self) -> dict[str, Any]:
        stored = {"id": self.msgid, "args": {name: _as_json(value) for name, value in self.args.items()}}
        return {**stored, "plural": self.plural} if self.plural else stored

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Self:
        args = {name: _from_json(value) for name, value in stored.get("args", {}).items()}
        return cls(stored["id"], args, stored.get("plural", ""))


def _as_json(value: Any) -> Any:
    return value.as_json() if isinstance(value, Sentence) else value


def _from_json(value: Any) -> Any:
    return Sentence.from_json(value) if isinstance(value, dict) and "id" in value else value


def in_site_language(said: str | Sentence) -> str:
    """`said` as the site's language writes it: the text stored with the sentence, for logs, webhooks and search."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(said)


def as_stored(said: str | Sentence) -> dict[str, Any] | None:
    """What a row keeps to write `said` out later; None for text that stays as it is (technical detail)."""
    return said.as_json() if isinstance(said, Sentence) else None


def shown(stored: dict[str, Any] | None, text: str) -> str:
    """The stored sentence in the active language; `text`, the site's version stored with it, for a row kept before
    sentences were, or one whose msgid has since changed its arguments."""
    if not stored:
        return text
    try:
        return str(Sentence.from_json(stored))
    except (KeyError, TypeError, ValueError):
        return text
