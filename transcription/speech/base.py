"""The speech backend interface, and the backend settings.SPEECH_BACKEND names.

A backend is started once, fed 16 kHz mono linear16 audio, and yields `Transcript` and `UpstreamStatus`
from `events()` until stopped; its times count from the first byte it was given, across reconnects.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from events.languages import MULTI, display_name
from events.sentences import Sentence

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2


@dataclass(frozen=True)
class StreamOptions:
    language: str = "en"  # a code of events.languages.SPEECH_CODES; "multi" is nova-3's multilingual mode
    diarize: bool = False
    keyterms: tuple[str, ...] = ()
    language_hints: tuple[str, ...] = ()  # with "multi": the languages the journalist expects to hear

    @classmethod
    def for_event(cls, event) -> StreamOptions:
        hints = tuple(event.speech_languages) if event.language == MULTI else ()
        return cls(
            language=event.language, diarize=event.diarize, keyterms=tuple(event.glossary_terms), language_hints=hints
        )


@dataclass(frozen=True)
class Transcript:
    text: str
    start: float
    end: float
    is_final: bool
    speech_final: bool = False
    from_finalize: bool = False
    confidence: float | None = None
    speaker: int | None = None
    words: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class UpstreamStatus:
    state: Literal["connecting", "live", "reconnecting", "closed"]
    request_id: str = ""
    detail: str = ""


class UpstreamFailed(Exception):
    """The provider refused us for good (bad key, no credits, undecodable audio) or stayed unreachable. `message` is
    a Sentence, told to the journalist and to each editor (alerts) in their own language."""

    def __init__(self, message: Sentence, *, reason: str = "upstream_failed"):
        super().__init__(message)
        self.message = message
        self.reason = reason


SpeechEvent = Transcript | UpstreamStatus | UpstreamFailed


class SpeechBackend(abc.ABC):
    provider: str
    # The languages the backend recognizes (codes of events.languages.SPEECH_CODES); None: every one offered.
    languages: frozenset[str] | None = None

    @classmethod
    def understands(cls, options: StreamOptions) -> bool:
        return cls.languages is None or options.language in cls.languages

    def __init__(self) -> None:
        self._events: asyncio.Queue[SpeechEvent | None] = asyncio.Queue()

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect or load; raises UpstreamFailed when it cannot start at all."""

    @abc.abstractmethod
    async def send(self, pcm: bytes) -> None:
        """Queue audio; never waits for the provider."""

    @abc.abstractmethod
    async def finalize(self) -> None:
        """The speaker paused: turn what is buffered into final results now."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Finish: every final result for the audio sent is emitted before `events()` ends."""

    async def events(self) -> AsyncIterator[SpeechEvent]:
        while (item := await self._events.get()) is not None:
            yield item

    def _emit(self, item: SpeechEvent | None) -> None:
        self._events.put_nowait(item)


def backend_class() -> type[SpeechBackend]:
    """The class settings.SPEECH_BACKEND names, imported on first use."""
    path = settings.SPEECH_BACKEND
    try:
        found = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"SPEECH_BACKEND {path!r} cannot be imported: {error}") from None
    if not (isinstance(found, type) and issubclass(found, SpeechBackend)):
        raise ImproperlyConfigured(f"SPEECH_BACKEND {path!r} is not a subclass of {SpeechBackend.__qualname__}")
    return found


def open_backend(options: StreamOptions) -> SpeechBackend:
    return backend_class()(options)


def understands_event(event) -> bool:
    """Whether the configured backend recognizes the event's language (the offline one: English only)."""
    return backend_class().understands(StreamOptions.for_event(event))


def language_refusal(event) -> str:
    """Why the configured backend takes no stream of this event, in words for the journalist."""
    spoken = (
        ", ".join(display_name(code) for code in event.speech_languages)
        if event.language == MULTI
        else display_name(event.language)
    )
    return gettext(
        "The offline recognizer understands English only, and this event is in %(language)s. Ask an administrator "
        "to set up a speech provider (DEEPGRAM_API_KEY): then the microphone, a stream address and a recording all "
        "work in the event's language."
    ) % {"language": spoken}
