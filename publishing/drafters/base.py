"""The drafting backend interface, and the drafter settings.DRAFTER names."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from publishing.brief import NOTES, TRANSCRIPT, Brief, SummaryBrief, TranslationBrief, fenced


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


class DraftingError(Exception):
    """Drafting stopped; `credits_used` is what the calls that answered before it were billed, paid all the same."""

    credits_used = 0


class DraftingFailed(DraftingError):
    """The backend refused for a reason retrying cannot fix (bad key, no credits…): editors must see it."""


class DraftingUnavailable(DraftingError):
    """The backend is down or rate-limited beyond our patience: try the batch again later."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Drafter:
    name = ""
    endpoint = ""
    # Transcript characters one call takes; longer batches are summarised part by part, then drafted.
    chunk_chars: int | None = None
    # The most one call may bill: a batch reserves this per call against its event's credit cap.
    max_credits_per_call = 0
    # Whether it writes reader editions (publishing.translations); one that does not leaves readers the original.
    translates = True

    def complete(self, instructions: str, data: str) -> Completion:
        """One call: `instructions` are ours alone; `data` is untrusted text, already fenced and labelled."""
        raise NotImplementedError

    def calls(self, brief: Brief) -> int:
        """Calls drafting `brief` takes: one, or one per part and one more to draft from the parts' notes."""
        parts = len(brief.parts(self.chunk_chars))
        return 1 if parts == 1 else parts + 1

    def max_credits(self, brief: Brief) -> int:
        """The most drafting `brief` may bill."""
        return self.calls(brief) * self.max_credits_per_call

    def draft(self, brief: Brief) -> Draft:
        parts = brief.parts(self.chunk_chars)
        answers: list[Completion] = []
        try:
            self._answer(brief, parts, answers)
        except DraftingError as exc:
            exc.credits_used = sum(answer.credits_used for answer in answers)
            raise
        return Draft(
            body=answers[-1].text,
            provider=self.name,
            endpoint=self.endpoint,
            request_id=answers[-1].request_id,
            credits_used=sum(answer.credits_used for answer in answers),
            latency_ms=sum(answer.latency_ms for answer in answers),
            parts=len(parts),
        )

    def summarise(self, brief: SummaryBrief) -> Draft:
        """The story so far in one call (the brief is cut to fit one), one point a line."""
        return self._in_one_call(brief.instructions, brief.data())

    def translate(self, brief: TranslationBrief) -> Draft:
        """One published post into one reader language, in one call: the headline on the first line, if any."""
        return self._in_one_call(brief.instructions, brief.data())

    def _in_one_call(self, instructions: str, data: str) -> Draft:
        answer = self.complete(instructions, data)
        return Draft(
            body=answer.text,
            provider=self.name,
            endpoint=self.endpoint,
            request_id=answer.request_id,
            credits_used=answer.credits_used,
            latency_ms=answer.latency_ms,
            parts=1,
        )

    def _answer(self, brief: Brief, parts: list[str], answers: list[Completion]) -> None:
        """Make the calls, appending each answer as it comes, so a failure leaves what was billed before it."""
        if len(parts) == 1:
            answers.append(self.complete(brief.instructions, brief.data(parts[0])))
            return
        for number, part in enumerate(parts, start=1):
            answers.append(self.complete(brief.notes_instructions(number, len(parts)), fenced(TRANSCRIPT, part)))
        notes = "\n\n".join(f"Part {n}: {answer.text}" for n, answer in enumerate(answers, start=1))
        answers.append(self.complete(brief.instructions, brief.data(notes, label=NOTES)))


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
