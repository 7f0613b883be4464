"""An event's or a session's transcript as plain text, SRT and WebVTT; its published posts as Markdown.

Times are on one axis per export: a session's own stream time, or for a whole event each session
placed at its wall-clock start after the first session began (never overlapping the one before).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone

from transcription.models import Segment, StreamSession


@dataclass(frozen=True)
class Line:
    start: float
    end: float
    text: str
    speaker: int | None

    @property
    def speaker_label(self) -> str:
        # The provider's numbering, as the drafts name speakers (publishing.brief), so the two agree.
        return "" if self.speaker is None else f"Speaker {self.speaker}"


def _one_line(text: str) -> str:
    # A blank line ends a subtitle cue: keep each segment on one line.
    return re.sub(r"\s+", " ", text).strip()


def _lines(segments, offset: float = 0.0) -> list[Line]:
    return [Line(offset + s.start, offset + s.end, _one_line(s.text), s.speaker) for s in segments]


def session_lines(session: StreamSession) -> list[Line]:
    return _lines(session.segments.order_by("sequence"))


def event_lines(event) -> list[Line]:
    sessions = list(
        StreamSession.objects.filter(event=event).order_by("started_at", "pk").annotate(last_end=Max("segments__end"))
    )
    segments_by_session: dict[int, list[Segment]] = {}
    for segment in Segment.objects.filter(event=event).order_by("session_id", "sequence"):
        segments_by_session.setdefault(segment.session_id, []).append(segment)
    lines: list[Line] = []
    previous_end = 0.0
    for session in sessions:
        offset = max(previous_end, (session.started_at - sessions[0].started_at).total_seconds())
        lines += _lines(segments_by_session.get(session.pk, []), offset)
        previous_end = offset + max(session.audio_seconds, session.last_end or 0.0)
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
        marks = " · ".join(m for m in ("Pinned" if post.pinned else "", "Key event" if post.key_event else "") if m)
        out.append(f"*{when}{' · ' + marks if marks else ''}*")
        out.append("")
        out.append(post.body.strip())
        out.append("")
    return "\n".join(out)
