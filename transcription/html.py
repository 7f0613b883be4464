"""How a stretch of transcript is shown to editors (drafts, batches, segments), with its audio."""

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from transcription.speakers import Speakers


def has_audio(segment) -> bool:
    return bool(segment.session.audio_file)


def audio_player(segment) -> SafeString:
    """One click plays exactly the segment's stretch of the archived audio."""
    if not has_audio(segment):
        return format_html(
            '<span class="no-audio" title="{}">{}</span>',
            gettext("No archived audio for this session."),
            gettext("no audio"),
        )
    return format_html(
        '<audio class="segment-audio" controls preload="none" src="{}" title="{}"></audio>',
        reverse("transcripts:segment_audio", args=[segment.pk]),
        _stretch_title(segment.start, segment.end),
    )


def _tenths(seconds: float) -> str:
    return number_format(seconds, 1)


def _stretch_title(start: float, end: float) -> str:
    return gettext("Play %(start)s–%(end)s s") % {"start": _tenths(start), "end": _tenths(end)}


def stretch_player(session_id: int, start: float, end: float) -> SafeString:
    """One click plays exactly stream time [start, end) of the session's archived audio; shown before the audio's
    chunk is saved (a few seconds after it was said), it plays once it is."""
    url = f"{reverse('transcripts:stretch_audio', args=[session_id])}?start={start:.3f}&end={end:.3f}"
    return format_html(
        '<audio class="stretch-audio" controls preload="none" src="{}" title="{}"></audio>',
        url,
        _stretch_title(start, end),
    )


def segment_lines_html(segments, *, current=None, speakers: Speakers | None = None) -> SafeString:
    return format_html(
        '<div class="source-transcript">{}</div>',
        format_html_join(
            "",
            '<p data-segment="{}"{}>{} <small>[{}]</small> {}<a href="{}">{}</a></p>',
            (
                (
                    s.pk,
                    mark_safe(' class="current" style="font-weight:bold"') if s == current else "",
                    audio_player(s),
                    gettext("%(start)s–%(end)s s") % {"start": _tenths(s.start), "end": _tenths(s.end)},
                    _speaker(speakers, s),
                    reverse("admin:transcription_segment_change", args=[s.pk]),
                    s.text,
                )
                for s in segments
            ),
        ),
    )


def _speaker(speakers: Speakers | None, segment) -> str:
    label = speakers.label(segment) if speakers is not None else ""
    return format_html('<b class="speaker">{}:</b> ', label) if label else ""


def transcript_html(batch, speakers: Speakers | None = None) -> str:
    """`speakers`: the event's, when showing many of its batches (Speakers.for_event)."""
    if batch is None:
        return gettext("Hand-written post: no source transcript.")
    segments = getattr(batch, "ordered_segments", None)  # prefetched for a list of posts
    if segments is None:
        segments = batch.segments.select_related("session").in_order()
    return segment_lines_html(segments, speakers=speakers or Speakers.for_event(batch.event_id))
