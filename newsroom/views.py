from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from events.models import Event
from events.roles import can_stream, is_editor
from newsroom import lifecycle, recap, studio_feed
from publishing.models import Post
from publishing.pictures import PictureRefused, add_picture
from transcription.models import StreamSession
from transcription.speech.base import backend_class


def _may_follow(user, event) -> bool:
    """The event's journalists and staff see its drafts; nobody else."""
    return user.is_active and (user.is_staff or can_stream(user, event))


def _private_json(data: dict) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def studio(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        raise PermissionDenied("You are not assigned to stream this event.")
    provider = backend_class().provider
    return render(
        request,
        "newsroom/studio.html",
        {
            "event": event,
            "provider": provider,
            "provider_label": StreamSession.Provider(provider).label,
            "buffer_seconds": settings.STUDIO_OFFLINE_BUFFER_SECONDS,
            "go_live_question": lifecycle.go_live_question(event),
            "ended_message": lifecycle.ended_message(),
        },
    )


@login_required
@require_GET
def drafts(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if not _may_follow(request.user, event):
        return HttpResponseForbidden("Only the event's journalists and staff may follow its drafts.")
    return _private_json({"drafts": studio_feed.drafts_of(event, staff=request.user.is_staff)})


@login_required
@require_GET
def draft(request, slug, post_id):
    event = get_object_or_404(Event, slug=slug)
    if not _may_follow(request.user, event):
        raise PermissionDenied("Only the event's journalists and staff may read its drafts.")
    post = get_object_or_404(Post.objects.select_related("event"), event=event, pk=post_id)
    response = render(
        request,
        "newsroom/draft.html",
        {"event": event, "post": post, "draft": studio_feed.draft_summary(post, staff=request.user.is_staff)},
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def session_recap(request, slug, session_id):
    session = get_object_or_404(StreamSession.objects.select_related("event"), event__slug=slug, pk=session_id)
    own = session.journalist_id == request.user.pk and can_stream(request.user, session.event)
    if not (own or is_editor(request.user)):
        return HttpResponseForbidden("Only the session's journalist and editors may see its recap.")
    return _private_json(recap.session_recap(session))


# Room for the form's other fields around the picture in the request body.
PICTURE_FORM_OVERHEAD_BYTES = 64 * 1024


@login_required
@require_POST
def studio_picture(request, slug):
    """A picture from the studio (chosen or taken): it waits with the event and goes with its next draft."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        raise PermissionDenied("You are not assigned to this event.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.PICTURE_MAX_BYTES + PICTURE_FORM_OVERHEAD_BYTES:
        limit = settings.PICTURE_MAX_BYTES // (1024 * 1024)
        return JsonResponse({"error": f"The picture is too large: at most {limit} MB is accepted."}, status=413)
    upload = next(iter(request.FILES.getlist("picture")), None)
    if upload is None:
        return JsonResponse({"error": "Choose or take a picture first."}, status=400)
    try:
        picture = add_picture(
            upload,
            event=event,
            alt_text=request.POST.get("alt_text", ""),
            caption=request.POST.get("caption", ""),
            credit=request.POST.get("credit", ""),
            user=request.user,
        )
    except PictureRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {"id": picture.pk, "message": "Picture sent: it goes to the editors with the next draft."}, status=201
    )
