from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render

from events.models import Event
from events.roles import can_stream


@login_required
def studio(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        raise PermissionDenied("You are not assigned to stream this event.")
    return render(request, "transcription/studio.html", {"event": event})
