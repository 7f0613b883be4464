"""The languages an event is spoken, written and read in: a bounded list, each one the whole chain supports
(Deepgram's nova-3, the drafter's instructions, numbers in words by text2num, names by wordfreq).

`multi` is nova-3's multilingual mode: the journalist picks the languages spoken (Deepgram is hinted toward them),
and posts are written in the first of them. Design: docs/architecture.md, *Languages*.
"""

from django import forms
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext, gettext_lazy

# Each of these is a nova-3 language, an alpha2digit language of text2num, and a wordfreq language.
CODES = ("en", "de", "fr", "es", "it", "pt", "nl")
MULTI = "multi"
SPEECH_CODES = (*CODES, MULTI)


def english_name(code: str) -> str:
    """The language's name in English, as the drafter is told it ("German")."""
    return LANG_INFO[code]["name"]


def display_name(code: str) -> str:
    """The language's name in the reader's or editor's own language (Django's catalogues name every one)."""
    return gettext(LANG_INFO[code]["name"])


def local_name(code: str) -> str:
    """The language's name in itself ("Deutsch", "Español"): what a reader looks for among the editions."""
    name = LANG_INFO[code]["name_local"]
    return name[:1].upper() + name[1:]


def language_choices() -> list[tuple[str, str]]:
    return [(code, gettext_lazy(LANG_INFO[code]["name"])) for code in CODES]


def speech_choices() -> list[tuple[str, str]]:
    return [*language_choices(), (MULTI, gettext_lazy("Several languages (multilingual)"))]


def validate_codes(value) -> None:
    """A list of distinct codes from CODES, at most one of each."""
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError(gettext("Choose languages from the list."))
    unknown = [code for code in value if code not in CODES]
    if unknown:
        raise ValidationError(
            gettext("%(codes)s: not a language offered here (%(known)s).")
            % {"codes": ", ".join(code[:16] for code in unknown[:3]), "known": ", ".join(CODES)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(gettext("Each language once."))


class LanguagesFormField(forms.TypedMultipleChoiceField):
    """Ticked languages, as a list of codes in the order of CODES."""

    widget = forms.CheckboxSelectMultiple

    def clean(self, value):
        chosen = super().clean(value)
        return [code for code in CODES if code in chosen]

    def prepare_value(self, value):
        return value if isinstance(value, list) else []


class LanguageListField(models.JSONField):
    """A list of language codes from CODES, ticked in forms, validated in full_clean."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        kwargs["validators"] = [validate_codes]
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for implied in ("default", "blank", "validators"):
            kwargs.pop(implied, None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        return LanguagesFormField(
            choices=language_choices(),
            required=not self.blank,
            label=self.verbose_name[:1].upper() + self.verbose_name[1:],
            help_text=self.help_text,
        )
