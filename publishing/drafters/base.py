"""The drafting backend interface, and the drafter settings.DRAFTER names."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from publishing.brief import NOTES, TRANSCRIPT, Brief, fenced


@dataclass(frozen=True)
class Completion:
    """One answer from a backend."""

    text: str
    request_id: str = ""
    credits_used: int = 0
    latency_ms: int = 0


@dataclass(frozen=True)
class Draft:
    """The text for one post, and what it cost."""

    body: str
    provider: str
    endpoint: str
    request_id: str
    credits_used: int
    latency_ms: int
    parts: int


class DraftingFailed(Exception):
    """The backend refused for a reason retrying cannot fix (bad key, no credits…): editors must see it."""


class DraftingUnavailable(Exception):
    """The backend is down or rate-limited beyond our patience: try the batch again later."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Drafter:
    name = ""
    endpoint = ""
    # Transcript characters one call takes; longer batches are summarised part by part, then drafted.
    chunk_chars: int | None = None

    def complete(self, instructions: str, data: str) -> Completion:
        """One call: `instructions` are ours alone; `data` is untrusted text, already fenced and labelled."""
        raise NotImplementedError

    def draft(self, brief: Brief) -> Draft:
        parts = brief.parts(self.chunk_chars)
        if len(parts) == 1:
            answers = [self.complete(brief.instructions, brief.data(parts[0]))]
        else:
            answers = [
                self.complete(brief.notes_instructions(number, len(parts)), fenced(TRANSCRIPT, part))
                for number, part in enumerate(parts, start=1)
            ]
            notes = "\n\n".join(f"Part {n}: {answer.text}" for n, answer in enumerate(answers, start=1))
            answers.append(self.complete(brief.instructions, brief.data(notes, label=NOTES)))
        return Draft(
            body=answers[-1].text,
            provider=self.name,
            endpoint=self.endpoint,
            request_id=answers[-1].request_id,
            credits_used=sum(answer.credits_used for answer in answers),
            latency_ms=sum(answer.latency_ms for answer in answers),
            parts=len(parts),
        )


def drafter_class() -> type[Drafter]:
    """The class settings.DRAFTER names, imported on first use."""
    path = settings.DRAFTER
    try:
        found = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"DRAFTER {path!r} cannot be imported: {error}") from None
    if not (isinstance(found, type) and issubclass(found, Drafter)):
        raise ImproperlyConfigured(f"DRAFTER {path!r} is not a subclass of {Drafter.__qualname__}")
    return found


def get_drafter() -> Drafter:
    return drafter_class()()
