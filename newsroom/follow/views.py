"""Follow and stop a stream from the studio: thin views over transcription.follow.follows."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events.models import Event
from events.roles import can_stream
from newsroom import lifecycle
from newsroom.views import refusal
from transcription.follow import follows


@login_required
@require_POST
def follow_stream(request, slug):
    """Follow the stream at `url`; a scheduled event goes live with it only with `go_live=1` (the journalist agreed)."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        return refusal(_("Only the event's journalists may follow a stream to it."), 403)
    try:
        address = follows.check_address(request.POST.get("url", ""))
        if event.status == Event.Status.SCHEDULED:
            if request.POST.get("go_live") != "1":
                question = lifecycle.go_live_question(event)
                return refusal(question, 409, go_live_question=question)
            event.go_live(request.user)
        follow = follows.request_follow(event, request.user, address, language=translation.get_language() or "")
    except follows.FollowRefused as refused:
        return refusal(str(refused), 400)
    message = _("Following: a worker connects to the stream in a few seconds.")
    return JsonResponse({"follow": follows.follow_message(follow), "message": message}, status=201)


@login_required
@require_POST
def stop_following(request, slug):
    """Stop the journalist's follow: its last words are stored and drafted, as after the microphone's Stop."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        return refusal(_("Only the event's journalists may follow a stream to it."), 403)
    follow = follows.request_stop(event, request.user)
    if follow is None:
        return refusal(_("You are not following a stream to this event."), 409)
    message = _("Stopped.") if not follow.active else _("Stopping: the last words are being saved.")
    return JsonResponse({"follow": follows.follow_message(follow), "message": message})
