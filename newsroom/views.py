from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from events.models import Event
from events.roles import can_stream
from publishing.pictures import PictureRefused, add_picture
from transcription.models import StreamSession
from transcription.speech.base import backend_class


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
        },
    )


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
