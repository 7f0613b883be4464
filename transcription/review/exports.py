"""An event's or a session's transcript as plain text, SRT and WebVTT; its published posts as Markdown.

Times are on one axis per export: a session's own stream time, or for a whole event the wall-clock time
each segment was spoken, from the first session's start, so simultaneous sessions interleave.
Speakers are labelled as everywhere else (transcription.speakers): their names where given.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext

from transcription.models import Segment, StreamSession
from transcription.speakers import Speakers


@dataclass(frozen=True)
class Line:
    start: float
    end: float
    text: str
    speaker_label: str


def _one_line(text: str) -> str:
    # A blank line ends a subtitle cue: keep each segment on one line.
    return re.sub(r"\s+", " ", text).strip()


def session_lines(session: StreamSession) -> list[Line]:
    speakers = Speakers.for_session(session.pk)
    return [Line(s.start, s.end, _one_line(s.text), speakers.label(s)) for s in session.segments.order_by("sequence")]


def event_lines(event) -> list[Line]:
    origin = StreamSession.objects.filter(event=event).order_by("started_at").values_list("started_at", flat=True)
    origin = origin.first()
    if origin is None:
        return []
    speakers = Speakers.for_event(event.pk)
    lines = []
    for segment in Segment.objects.filter(event=event).in_order():
        start = (segment.spoken_at - origin).total_seconds()
        end = start + segment.end - segment.start
        lines.append(Line(start, end, _one_line(segment.text), speakers.label(segment)))
    return lines


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_end(line: Line) -> float:
    # Players drop cues that end where they start.
    return max(line.end, line.start + 0.5)


def as_text(lines: list[Line], title: str) -> str:
    out = [title, ""]
    for line in lines:
        who = f"{line.speaker_label}: " if line.speaker_label else ""
        out.append(f"[{_clock(line.start, '.')}] {who}{line.text}")
    return "\n".join(out) + "\n"


def as_srt(lines: list[Line]) -> str:
    blocks = []
    for number, line in enumerate(lines, start=1):
        who = f"{line.speaker_label}: " if line.speaker_label else ""
        blocks.append(f"{number}\n{_clock(line.start, ',')} --> {_clock(_cue_end(line), ',')}\n{who}{line.text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_vtt(lines: list[Line]) -> str:
    blocks = ["WEBVTT\n"]
    for line in lines:
        text = _vtt_escape(line.text)
        if line.speaker_label:
            text = f"<v {line.speaker_label}>{text}"
        blocks.append(f"{_clock(line.start, '.')} --> {_clock(_cue_end(line), '.')}\n{text}\n")
    return "\n".join(blocks)


def posts_markdown(event) -> str:
    """The event's published posts, oldest first, as they read on the public page."""
    tz = zoneinfo.ZoneInfo(event.timezone)
    out = [f"# {_one_line(event.title)}", ""]
    for post in event.posts.published().order_by("published_at", "pk"):
        when = timezone.localtime(post.published_at, tz).strftime("%Y-%m-%d %H:%M %Z")
        out.append(f"## {_one_line(post.headline)}" if post.headline else f"## {when}")
        marks = " · ".join(
            m for m in (gettext("Pinned") if post.pinned else "", gettext("Key event") if post.key_event else "") if m
        )
        out.append(f"*{when}{' · ' + marks if marks else ''}*")
        out.append("")
        out.append(post.body.strip())
        out.append("")
    return "\n".join(out)
