from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from events.models import Event
from events.roles import can_publish_own, can_stream, is_editor
from newsroom import lifecycle, recap, studio_feed
from publishing import authored
from publishing.models import Post
from publishing.pictures import PictureRefused, add_picture
from transcription.models import StreamSession
from transcription.speech.base import backend_class, language_refusal, understands_event


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
        raise PermissionDenied(_("You are not assigned to stream this event."))
    provider = backend_class().provider
    # The offline recognizer is English only: for another language the page says so before going live.
    not_heard = "" if understands_event(event) else language_refusal(event)
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
            "publishes_at_once": can_publish_own(request.user, event),
            "post_max_chars": authored.MAX_TEXT_CHARS,
            "studio_words": studio_words(),
            "language_refusal": not_heard,
        },
    )


def studio_words() -> dict[str, str]:
    """What the studio's scripts say about quotes and posts, translated here: the scripts hold no words."""
    return {
        "choose": _("Select words or click lines of your transcript to quote them."),
        "chosen": _("Quote of %(speaker)s, %(lines)s line(s): “%(words)s”"),
        "one_speaker": _("A quote is of one speaker: choose lines of one speaker only."),
        "consecutive": _("Choose consecutive lines: a quote has no gaps."),
        "no_speaker": _("These lines have no speaker to attribute the quote to."),
        "sending_quote": _("Posting the quote…"),
        "sending_post": _("Posting…"),
        "not_sent": _("Not sent: no connection. Try again."),
        "refused": _("Not sent (HTTP %(status)s)."),
        "quote": _("Quote"),
        "post": _("Your post"),
        "by": _("by %(author)s"),
    }


@login_required
@require_GET
def drafts(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if not _may_follow(request.user, event):
        return HttpResponseForbidden(_("Only the event's journalists and staff may follow its drafts."))
    return _private_json({"drafts": studio_feed.drafts_of(event, staff=request.user.is_staff)})


@login_required
@require_GET
def draft(request, slug, post_id):
    event = get_object_or_404(Event, slug=slug)
    if not _may_follow(request.user, event):
        raise PermissionDenied(_("Only the event's journalists and staff may read its drafts."))
    post = get_object_or_404(Post.objects.select_related("event"), event=event, pk=post_id)
    draft = studio_feed.draft_summary(post, staff=request.user.is_staff)
    response = render(
        request,
        "newsroom/draft.html",
        {"event": event, "post": post, "draft": draft, "state_label": studio_feed.STATE_LABELS.get(draft["state"], "")},
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def session_recap(request, slug, session_id):
    session = get_object_or_404(StreamSession.objects.select_related("event"), event__slug=slug, pk=session_id)
    own = session.journalist_id == request.user.pk and can_stream(request.user, session.event)
    if not (own or is_editor(request.user)):
        return HttpResponseForbidden(_("Only the session's journalist and editors may see its recap."))
    return _private_json(recap.session_recap(session))


# Room for the form's other fields around the picture in the request body.
PICTURE_FORM_OVERHEAD_BYTES = 64 * 1024


@login_required
@require_POST
def studio_picture(request, slug):
    """A picture from the studio (chosen or taken): it waits with the event and goes with its next draft."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        raise PermissionDenied(_("You are not assigned to this event."))
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.PICTURE_MAX_BYTES + PICTURE_FORM_OVERHEAD_BYTES:
        limit = settings.PICTURE_MAX_BYTES // (1024 * 1024)
        error = _("The picture is too large: at most %(limit)d MB is accepted.") % {"limit": limit}
        return JsonResponse({"error": error}, status=413)
    upload = next(iter(request.FILES.getlist("picture")), None)
    if upload is None:
        return JsonResponse({"error": _("Choose or take a picture first.")}, status=400)
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
        {"id": picture.pk, "message": _("Picture sent: it goes to the editors with the next draft.")}, status=201
    )


def refusal(message: str, status: int, **extra) -> JsonResponse:
    """A studio request refused: the journalist's words in `error`."""
    return JsonResponse({"error": message, **extra}, status=status)


@login_required
@require_POST
def studio_quote(request, slug):
    """Flash a quote: the journalist's chosen lines (`segment`, repeated; `first_word`, `last_word` optional)."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        return refusal(_("Only the event's journalists may post quotes to it."), 403)
    try:
        wanted = authored.quote_request(
            request.POST.getlist("segment"), request.POST.get("first_word", ""), request.POST.get("last_word", "")
        )
        made = authored.flash_quote(request.user, event, wanted)
    except authored.Refused as exc:
        return refusal(str(exc), 400)
    if not made.created:
        message = _("This quote was posted a moment ago.")
    elif made.post.is_published:
        message = _("Quote published.")
    else:
        message = _("Quote sent to the editors' queue.")
    summary = studio_feed.draft_summary(made.post, staff=request.user.is_staff)
    return JsonResponse({"post": summary, "message": message}, status=201 if made.created else 200)


@login_required
@require_POST
def studio_post(request, slug):
    """A short post in the journalist's own words (`body`), under their name."""
    event = get_object_or_404(Event, slug=slug)
    if not can_stream(request.user, event):
        return refusal(_("Only the event's journalists may post to it."), 403)
    try:
        post = authored.write_post(request.user, event, request.POST.get("body", ""))
    except authored.Refused as exc:
        return refusal(str(exc), 400)
    message = _("Post published.") if post.is_published else _("Post sent to the editors' queue.")
    return JsonResponse(
        {"post": studio_feed.draft_summary(post, staff=request.user.is_staff), "message": message}, status=201
    )
