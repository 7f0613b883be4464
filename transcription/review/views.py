"""Archived audio and transcript exports, for the event's journalists and editors only."""

import math
import tempfile

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from events.models import Event
from transcription.archive import audio, ranges
from transcription.models import Segment, StreamSession
from transcription.review import exports
from transcription.review.access import can_review

_FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def _refused(request: HttpRequest, event: Event) -> HttpResponse | None:
    # A plain 403 response, not PermissionDenied: a refusal is expected traffic, not an error to log.
    if can_review(request.user, event):
        return None
    return HttpResponseForbidden(_("Only the event's journalists and editors may hear its audio or export it."))


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _ranged(request: HttpRequest, stretch: audio.Stretch) -> HttpResponse:
    """The stretch as WAV, streamed in bounded pieces: one byte range when asked, else the whole file."""
    size = audio.wav_size(stretch)
    try:
        wanted = ranges.requested_range(request.headers.get("Range", ""), size)
    except ranges.Unsatisfiable:
        return _private(ranges.not_satisfiable(size))
    if wanted is None:
        response = StreamingHttpResponse(audio.iter_wav(stretch), content_type="audio/wav")
        response["Content-Length"] = str(size)
        response["Accept-Ranges"] = "bytes"
        return _private(response)
    first, last = wanted
    response = StreamingHttpResponse(audio.iter_wav(stretch, first, last), status=206, content_type="audio/wav")
    response["Content-Length"] = str(last - first + 1)
    return _private(ranges.partial(response, first, last, size))


@require_GET
def segment_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """Exactly the stretch of audio behind one segment, as WAV."""
    segment = get_object_or_404(Segment.objects.select_related("event", "session"), pk=pk)
    if refused := _refused(request, segment.event):
        return refused
    stretch = audio.Stretch(segment.session_id, segment.start, segment.end, segment.session.audio_sample_rate)
    if not stretch.frames:
        raise Http404("No archived audio for this segment (never recorded, or purged).")
    return _ranged(request, stretch)


# A stretch is a quote's or a passage's audio, not a session's: longer ones are the whole session's download.
MAX_STRETCH_SECONDS = 120.0


def _seconds(text: str) -> float | None:
    try:
        value = float(text[:20])
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


@require_GET
def stretch_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """Stream time [start, end) of a session's archived audio, as WAV: a flashed quote's exact words."""
    session = get_object_or_404(StreamSession.objects.select_related("event"), pk=pk)
    if refused := _refused(request, session.event):
        return refused
    start, end = _seconds(request.GET.get("start", "")), _seconds(request.GET.get("end", ""))
    if start is None or end is None or not start < end <= start + MAX_STRETCH_SECONDS:
        return _private(
            HttpResponseBadRequest(
                _("Give start and end in seconds, end after start and at most %(seconds)s s later.")
                % {"seconds": f"{MAX_STRETCH_SECONDS:g}"}
            )
        )
    stretch = audio.Stretch(session.pk, start, end, session.audio_sample_rate)
    if not stretch.frames:
        raise Http404("No archived audio for this stretch (not yet saved, never recorded, or purged).")
    return _ranged(request, stretch)


@require_GET
def session_audio(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(StreamSession.objects.select_related("event"), pk=pk)
    if refused := _refused(request, session.event):
        return refused
    if not audio.list_chunks(session.pk):
        raise Http404("No archived audio for this session (never recorded, or purged).")
    # FileResponse closes the file once sent; a temporary file keeps an hour of audio out of memory,
    # and the archive is read into it a chunk at a time, gaps included.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    audio.write_session_flac(session.pk, session.audio_sample_rate, out)
    out.seek(0)
    filename = f"{session.event.slug}-session-{session.pk}.flac"
    response = FileResponse(out, as_attachment=True, filename=filename, content_type="audio/flac")
    _private(response)
    return response


def _transcript_response(lines: list, fmt: str, title: str, filename: str) -> HttpResponse:
    if fmt == "srt":
        text = exports.as_srt(lines)
    elif fmt == "vtt":
        text = exports.as_vtt(lines)
    else:
        text = exports.as_text(lines, title)
    response = HttpResponse(text, content_type=_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return _private(response)


@require_GET
def session_transcript(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in _FORMATS:
        raise Http404(f"Unknown transcript format {fmt!r}: use txt, srt or vtt.")
    session = get_object_or_404(StreamSession.objects.select_related("event", "journalist"), pk=pk)
    if refused := _refused(request, session.event):
        return refused
    title = f"{session.event.title} — session {session.pk} ({session.journalist}, {session.started_at:%Y-%m-%d %H:%M})"
    return _transcript_response(
        exports.session_lines(session), fmt, title, f"{session.event.slug}-session-{session.pk}"
    )


@require_GET
def event_transcript(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    if fmt not in _FORMATS:
        raise Http404(f"Unknown transcript format {fmt!r}: use txt, srt or vtt.")
    event = get_object_or_404(Event, slug=slug)
    if refused := _refused(request, event):
        return refused
    return _transcript_response(exports.event_lines(event), fmt, event.title, f"{event.slug}-transcript")


@require_GET
def event_posts(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    if refused := _refused(request, event):
        return refused
    response = HttpResponse(exports.posts_markdown(event), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}-posts.md"'
    return _private(response)
