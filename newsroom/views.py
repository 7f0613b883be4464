from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render

from events.models import Event
from events.roles import can_stream
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
