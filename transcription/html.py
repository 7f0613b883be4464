"""How a stretch of transcript is shown to editors (drafts, batches, segments)."""

from django.utils.html import format_html, format_html_join


def transcript_html(batch) -> str:
    if batch is None:
        return "Hand-written post: no source transcript."
    segments = batch.segments.order_by("session__started_at", "sequence")
    return format_html(
        '<div class="source-transcript">{}</div>',
        format_html_join(
            "",
            '<p data-segment="{}"><small>[{}–{} s]</small> {}</p>',
            ((s.pk, f"{s.start:.1f}", f"{s.end:.1f}", s.text) for s in segments),
        ),
    )
