"""How a stretch of transcript is shown to editors (drafts, batches, segments), with its audio."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from transcription.speakers import Speakers


def has_audio(segment) -> bool:
    return bool(segment.session.audio_file)


def audio_player(segment) -> SafeString:
    """One click plays exactly the segment's stretch of the archived audio."""
    if not has_audio(segment):
        return format_html('<span class="no-audio" title="{}">no audio</span>', "No archived audio for this session.")
    return format_html(
        '<audio class="segment-audio" controls preload="none" src="{}" title="Play {}–{} s"></audio>',
        reverse("transcripts:segment_audio", args=[segment.pk]),
        f"{segment.start:.1f}",
        f"{segment.end:.1f}",
    )


def segment_lines_html(segments, *, current=None, speakers: Speakers | None = None) -> SafeString:
    return format_html(
        '<div class="source-transcript">{}</div>',
        format_html_join(
            "",
            '<p data-segment="{}"{}>{} <small>[{}–{} s]</small> {}<a href="{}">{}</a></p>',
            (
                (
                    s.pk,
                    mark_safe(' class="current" style="font-weight:bold"') if s == current else "",
                    audio_player(s),
                    f"{s.start:.1f}",
                    f"{s.end:.1f}",
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
        return "Hand-written post: no source transcript."
    segments = getattr(batch, "ordered_segments", None)  # prefetched for a list of posts
    if segments is None:
        segments = batch.segments.select_related("session").in_order()
    return segment_lines_html(segments, speakers=speakers or Speakers.for_event(batch.event_id))
