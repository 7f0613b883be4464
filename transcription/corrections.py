"""An editor's correction of a segment's text. Drafts read Segment.text, so later ones use it."""

from django.db import transaction

from transcription.models import Segment, SegmentCorrection


def correct_segment(segment_id: int, editor, text: str) -> SegmentCorrection | None:
    """Replace the segment's text, recording who, when, before and after; None when nothing changed."""
    text = text.strip()
    if not text:
        raise ValueError("A corrected segment needs text; the original stays recorded in its corrections.")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        if segment.text == text:
            return None
        correction = SegmentCorrection.objects.create(segment=segment, editor=editor, before=segment.text, after=text)
        Segment.objects.filter(pk=segment_id).update(text=text)
    return correction


def original_text(segment: Segment) -> str:
    """What the machine heard, before any correction."""
    first = segment.corrections.order_by("corrected_at", "pk").first()
    return first.before if first else segment.text
