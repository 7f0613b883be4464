"""What a stream session came to, for its journalist after Stop: figures and where to take it from here."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from publishing.models import Batch, Post
from transcription.models import Segment, StreamSession

EXPORT_FORMATS = ("txt", "srt", "vtt")


def session_recap(session: StreamSession) -> dict:
    segments = Segment.objects.filter(session=session)
    texts = list(segments.values_list("text", flat=True))
    posts = Post.objects.filter(batch__segments__session=session).distinct()
    ended_at = session.ended_at or timezone.now()
    # Drafting goes on after Stop: the last words wait for a batch, then for the drafter.
    drafting = (
        segments.filter(batch__isnull=True).exists()
        or Batch.objects.filter(
            segments__session=session, status__in=[Batch.Status.PENDING, Batch.Status.DRAFTING]
        ).exists()
    )
    return {
        "session": session.pk,
        "status": session.status,
        "duration_seconds": round((ended_at - session.started_at).total_seconds(), 1),
        "audio_seconds": round(session.audio_seconds, 1),
        "words": sum(len(text.split()) for text in texts),
        "segments": len(texts),
        "drafts": posts.count(),
        "published": posts.filter(status=Post.Status.PUBLISHED).count(),
        "dropped_seconds": round(session.dropped_audio_seconds, 1),
        "drafting": drafting,
        "exports": {fmt: reverse("transcripts:session_transcript", args=[session.pk, fmt]) for fmt in EXPORT_FORMATS},
        "public_url": reverse("events:detail", args=[session.event.slug]),
    }
