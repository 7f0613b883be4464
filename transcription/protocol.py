"""The studio socket's protocol: accepted messages, error codes and close codes (docs/studio-protocol.md)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import IntEnum

from django.utils.translation import gettext as _


class Close(IntEnum):
    NORMAL = 1000
    AUDIO_BEFORE_START = 4001
    UNSUPPORTED_FORMAT = 4002
    ODD_FRAME = 4003
    FRAME_TOO_LARGE = 4004
    TOO_FAST = 4005
    UNKNOWN_MESSAGE = 4006
    CONCURRENT_STREAM = 4007
    UNKNOWN_SESSION = 4008
    EVENT_ENDED = 4009
    TAKEN_OVER = 4010
    EVENT_NOT_LIVE = 4011
    LANGUAGE_UNSUPPORTED = 4012
    UPSTREAM_REFUSED = 4401
    UPSTREAM_FAILED = 4502
    UPSTREAM_UNAVAILABLE = 4503
    STORAGE_UNAVAILABLE = 4504


class StudioError(Exception):
    """Bad input or a failure the journalist must see: an `error` message, then this close code."""

    def __init__(self, close: Close, message: str):
        super().__init__(message)
        self.close = close
        self.code = close.name.lower()
        self.message = message

    def as_message(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Start:
    session: int | None = None
    dropped_seconds: float = 0.0
    stream_time: float | None = None
    last_sequence: int | None = None
    go_live: bool = False  # the journalist agreed to make a scheduled event live now
    resend: bool = False  # the first frames are audio sent before, from stream_time: drop what the server holds
    captured_at: object = None  # as sent: a time that is none is ignored (transcription/spoken.py)


@dataclass(frozen=True)
class SpeakerNaming:
    """As sent: checked when applied, and a bad one is answered without ending the stream."""

    speaker: object
    name: object


@dataclass(frozen=True)
class Clock:
    """When the next audio frame was captured, as sent with `resume` or `clock`: a time that is none is ignored."""

    captured_at: object


CONTROLS = ("start", "pause", "resume", "stop", "name_speaker", "clock")
FORMAT = {"encoding": "linear16", "sample_rate": 16000, "channels": 1}


def parse_control(text: str) -> tuple[str, Start | SpeakerNaming | Clock | None]:
    """The control a text frame carries, or StudioError."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting like "[[[[…"
        message = None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind not in CONTROLS:
        raise StudioError(
            Close.UNKNOWN_MESSAGE,
            _("Unknown message. Text frames must be JSON with a type of %(types)s.") % {"types": ", ".join(CONTROLS)},
        )
    if kind == "name_speaker":
        return kind, SpeakerNaming(speaker=message.get("speaker"), name=message.get("name"))
    if kind in ("resume", "clock"):
        return kind, Clock(message.get("captured_at"))
    if kind != "start":
        return kind, None
    audio_format = {key: message.get(key) for key in FORMAT}
    # Compare types too: JSON true would otherwise pass for channels 1.
    if any(type(audio_format[key]) is not type(value) or audio_format[key] != value for key, value in FORMAT.items()):
        raise StudioError(
            Close.UNSUPPORTED_FORMAT,
            _(
                "Unsupported audio format %(format)s: send 16-bit little-endian PCM, 16000 Hz, one channel "
                '({"encoding": "linear16", "sample_rate": 16000, "channels": 1}).'
            )
            % {"format": audio_format},
        )
    session = message.get("session")
    if session is not None and (not isinstance(session, int) or isinstance(session, bool) or session < 1):
        raise StudioError(Close.UNKNOWN_SESSION, _("The session to resume must be a session id from `ready`."))
    dropped = message.get("dropped_seconds", 0)
    if not _seconds(dropped):
        raise StudioError(Close.UNKNOWN_MESSAGE, _("dropped_seconds must be a number of seconds."))
    stream_time = message.get("stream_time")
    if stream_time is not None and not _seconds(stream_time):
        raise StudioError(Close.UNKNOWN_MESSAGE, _("stream_time must be a number of seconds."))
    last_sequence = message.get("last_sequence")
    if last_sequence is not None and (not isinstance(last_sequence, int) or isinstance(last_sequence, bool)):
        raise StudioError(Close.UNKNOWN_MESSAGE, _("last_sequence must be the sequence of the last final received."))
    go_live = message.get("go_live", False)
    if not isinstance(go_live, bool):
        raise StudioError(Close.UNKNOWN_MESSAGE, _("go_live must be true or false."))
    resend = message.get("resend", False)
    if not isinstance(resend, bool):
        raise StudioError(Close.UNKNOWN_MESSAGE, _("resend must be true or false."))
    return kind, Start(
        session=session,
        dropped_seconds=float(dropped),
        stream_time=None if stream_time is None else float(stream_time),
        last_sequence=last_sequence,
        go_live=go_live,
        resend=resend and session is not None and stream_time is not None,
        captured_at=message.get("captured_at"),
    )


def _seconds(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 7 * 86400


def check_frame(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise StudioError(
            Close.FRAME_TOO_LARGE,
            _("Audio frame of %(size)d bytes is over the %(limit)d-byte limit: send ~100 ms.")
            % {"size": len(data), "limit": max_bytes},
        )
    if not data or len(data) % 2:
        raise StudioError(
            Close.ODD_FRAME, _("Audio frame of %(size)d bytes is not whole 16-bit samples.") % {"size": len(data)}
        )


class RateGuard:
    """Token bucket over audio seconds: bursts up to `burst` seconds, sustained up to `rate`× real time."""

    def __init__(self, rate: float = 1.5, burst: float = 10.0, clock=None):
        self.rate = rate
        self.burst = burst
        self.clock = clock or time.monotonic
        self.tokens = burst
        self.last = self.clock()

    def take(self, seconds: float) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= seconds
        if self.tokens < 0:
            raise StudioError(
                Close.TOO_FAST,
                _(
                    "Audio is arriving faster than %(rate)s× real time. Send live audio as it is captured "
                    "and backlogs at no more than 1.25× real time."
                )
                % {"rate": f"{self.rate:g}"},
            )
