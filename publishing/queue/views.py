"""The draft queue's pages in admin: every event's queue listed, and one event's queue, drafts newest first, each
beside its transcript, every decision one click (a POST to the same page).

PostAdmin routes them (its get_urls) and lends them its admin site and permissions (QueueAdmin)."""

from datetime import timedelta
from typing import Protocol

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, F, Prefetch, Q, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import QUEUE_BATCH_INTERVAL_SECONDS, Event
from publishing.credits import credits_of
from publishing.models import Alert, Batch, Picture, Post, PostAction
from publishing.queue import summary, translations
from publishing.queue.html import check_html
from publishing.queue.live import RENEW_SECONDS, queue_state
from publishing.queue.moderation import HANDLERS, Decision, ModerationForm
from publishing.revisions import Conflict, EditConflict
from transcription.html import segment_lines_html, transcript_html
from transcription.models import Segment
from transcription.speakers import Speakers

# The queue's banner shows an event's alerts this recent (all of them are listed under Publishing › Alerts).
ALERTS_SHOWN_FOR = timedelta(hours=12)


class QueueAdmin(Protocol):
    """What the queue needs of the ModelAdmin routing it: its site, and has_<permission>_permission for each
    permission a decision names (publishing.queue.moderation)."""

    admin_site: AdminSite
    model: type[Post]

    def has_view_or_change_permission(self, request: HttpRequest, obj: Post | None = None) -> bool: ...
    def has_add_permission(self, request: HttpRequest) -> bool: ...
    def has_change_permission(self, request: HttpRequest, obj: Post | None = None) -> bool: ...
    def has_publish_permission(self, request: HttpRequest) -> bool: ...
    def has_retry_permission(self, request: HttpRequest) -> bool: ...
    def has_interval_permission(self, request: HttpRequest) -> bool: ...


def queue_index(model_admin: QueueAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    # Live first, then what is scheduled (soonest first), then what has ended (latest first).
    rank = Case(When(status=Event.Status.LIVE, then=0), When(status=Event.Status.SCHEDULED, then=1), default=2)
    events = Event.objects.annotate(
        # distinct: the two joins multiply rows, so each count would repeat per row of the other.
        drafts=Count("posts", filter=Q(posts__status__in=[Post.Status.DRAFT, Post.Status.APPROVED]), distinct=True),
        failed=Count("batches", filter=Q(batches__status=Batch.Status.FAILED), distinct=True),
        rank=rank,
    ).order_by("rank", Case(When(status=Event.Status.ENDED, then=F("ends_at"))).desc(nulls_last=True), "starts_at")
    context = {**model_admin.admin_site.each_context(request), "title": _("Draft queues"), "events": events[:200]}
    return TemplateResponse(request, "admin/publishing/queue_index.html", context)


def queue_view(model_admin: QueueAdmin, request: HttpRequest, event_id: int) -> HttpResponse:
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    event = get_object_or_404(Event, pk=event_id)
    conflict = None
    if request.method == "POST":
        conflict = moderate(model_admin, request, event)
        if conflict is None:
            return HttpResponseRedirect(request.get_full_path())
    show = request.GET.get("show", "queue")
    recent_actions = Prefetch("actions", PostAction.objects.select_related("user")[:8], to_attr="recent_actions")
    ordered_segments = Prefetch(
        "batch__segments", Segment.objects.select_related("session").in_order(), to_attr="ordered_segments"
    )
    quoted = Prefetch("quoted_segments", Segment.objects.select_related("session").in_order(), to_attr="ordered_quoted")
    posts = (
        Post.objects.filter(event=event)
        .select_related("batch", "author", "last_editor", "picture")
        .prefetch_related(recent_actions, ordered_segments, quoted, "embeds")
        .order_by("-created_at")
    )
    if show == "queue":
        refused = Q(pk=conflict.theirs.pk) if conflict else Q(pk__in=[])  # its editor's text is shown again
        posts = posts.filter(Q(status__in=[Post.Status.DRAFT, Post.Status.APPROVED]) | refused)
    speakers = Speakers.for_event(event.pk)
    state = queue_state(event.pk)
    editing: dict[int, list[str]] = {}
    for seat in state.editing:
        if seat.user_id != request.user.pk:
            editing.setdefault(seat.post_id, []).append(seat.name)
    items = [
        {
            "post": post,
            "transcript": source_html(post, speakers),
            "quotes": check_html(post),
            "actions": post.recent_actions,
            "editing": editing.get(post.pk, []),
            **_edit_form_values(post, conflict),
        }
        for post in posts[:100]
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Draft queue · %(event)s") % {"event": event.title},
        "waiting": state.drafts,
        "version": state.version,
        "renew_seconds": RENEW_SECONDS,
        "event": event,
        "items": items,
        "show": show,
        "failed": Batch.objects.filter(event=event, status=Batch.Status.FAILED).order_by("-created_at")[:50],
        "alerts": Alert.objects.filter(event=event, created_at__gte=timezone.now() - ALERTS_SHOWN_FOR)[:5],
        "credits": credits_of(event),
        "waiting_pictures": Picture.objects.waiting(event.pk)[:20],
        "can_publish": model_admin.has_publish_permission(request),
        "can_change": model_admin.has_change_permission(request),
        "can_add": model_admin.has_add_permission(request),
        "can_retry": model_admin.has_retry_permission(request),
        "can_set_interval": model_admin.has_interval_permission(request) and event.status == Event.Status.LIVE,
        "interval_bounds": QUEUE_BATCH_INTERVAL_SECONDS,
        "can_view_actions": request.user.has_perm("publishing.view_postaction"),
        "opts": model_admin.model._meta,
        **summary.card(event),
        **translations.card(event),
    }
    return TemplateResponse(request, "admin/publishing/queue.html", context, status=409 if conflict else 200)


def source_html(post: Post, speakers: Speakers) -> str:
    """What a post was made from: its batch's transcript, a quote's own lines, or nothing (written by hand)."""
    if post.kind == Post.Kind.QUOTE:
        segments = getattr(post, "ordered_quoted", None)  # prefetched for a list of posts
        if segments is None:
            segments = post.quoted_segments.select_related("session").in_order()
        return segment_lines_html(segments, speakers=speakers)
    return transcript_html(post.batch, speakers)


def _edit_form_values(post: Post, conflict: Conflict | None) -> dict:
    """What a post's edit form in the queue shows: the post, or a refused editor's own text again."""
    if conflict is not None and conflict.theirs.pk == post.pk:
        mine = {"headline": conflict.headline, "body": conflict.body}
        return {**mine, "revision": post.revision, "conflict": conflict}
    return {"headline": post.headline, "body": post.body, "revision": post.revision, "conflict": None}


def moderate(model_admin: QueueAdmin, request: HttpRequest, event: Event) -> Conflict | None:
    """One decision from the queue page: the form checks it, its handler applies it. An edit refused
    because the post changed since its form was opened comes back, for the page to show both texts."""
    form = ModerationForm(request.POST, request.FILES, event=event)
    valid = form.is_valid()
    op = form.cleaned_data.get("op")
    if op is None:
        messages.error(request, form.first_error())
        return None
    handler = HANDLERS[op]
    post = get_object_or_404(Post, pk=form.cleaned_data.get("post"), event=event) if handler.on_post else None
    if not getattr(model_admin, f"has_{handler.permission}_permission")(request):
        raise PermissionDenied
    if not valid:
        messages.error(request, form.first_error())
        return None
    decision = Decision(request.user, event, post, form.cleaned_data, model_admin.has_publish_permission(request))
    try:
        messages.success(request, handler.apply(decision))
    except EditConflict as exc:
        messages.error(request, exc.conflict.message)
        return exc.conflict
    except ValidationError as exc:
        messages.error(request, exc.message)
    return None
