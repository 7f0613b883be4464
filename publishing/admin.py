import zoneinfo
from collections.abc import Callable
from typing import NamedTuple

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import Event
from publishing.drafting import retry_failed
from publishing.models import Batch, Post, PostAction
from transcription.admin import ReadOnlyAdmin
from transcription.html import transcript_html
from transcription.models import Segment


class Transition(NamedTuple):
    permission: str  # the ModelAdmin's has_<permission>_permission decides who may
    done: str
    apply: Callable[[Post, object], None]


# Every one-click decision on a post, shared by the changelist's actions and the queue page's buttons.
TRANSITIONS = {
    "approve": Transition("change", "Approved", lambda post, user: post.approve(user)),
    "publish": Transition("publish", "Published", lambda post, user: post.publish(user)),
    "unpublish": Transition("publish", "Unpublished", lambda post, user: post.unpublish(user)),
    "reject": Transition("change", "Rejected", lambda post, user: post.reject(user)),
    "pin": Transition("publish", "Pinned", lambda post, user: post.set_pinned(user, True)),
    "unpin": Transition("publish", "Unpinned", lambda post, user: post.set_pinned(user, False)),
    "key": Transition("change", "Marked", lambda post, user: post.set_key_event(user, True)),
    "unkey": Transition("change", "Unmarked", lambda post, user: post.set_key_event(user, False)),
}


def _bulk_action(op: str, name: str, description: str, *, limit: int | None = None):
    transition = TRANSITIONS[op]

    def action(modeladmin, request, queryset):
        # Counted as applied: a filtered changelist may no longer match the posts once changed.
        posts = list(queryset.select_related("event")[:limit])
        for post in posts:
            transition.apply(post, request.user)
        messages.success(request, f"{transition.done} {len(posts)} post(s).")

    action.__name__ = name
    return admin.action(permissions=[transition.permission], description=description)(action)


approve = _bulk_action("approve", "approve", "Approve selected posts")
publish = _bulk_action("publish", "publish", "Publish selected posts")
unpublish = _bulk_action("unpublish", "unpublish", "Unpublish selected posts")
reject = _bulk_action("reject", "reject", "Reject selected posts")
pin = _bulk_action("pin", "pin", "Pin (one per event)", limit=1)
unpin = _bulk_action("unpin", "unpin", "Unpin")
mark_key_event = _bulk_action("key", "mark_key_event", "Mark as key event")
unmark_key_event = _bulk_action("unkey", "unmark_key_event", "Unmark key event")


@admin.action(permissions=["retry"], description="Retry drafting of the selected failed batches")
def retry_drafting(modeladmin, request, queryset):
    retried = retry_failed(list(queryset.filter(status=Batch.Status.FAILED).values_list("pk", flat=True)))
    messages.success(request, f"Sent {retried} failed batch(es) back for drafting.")


class PostActionInline(admin.TabularInline):
    model = PostAction
    extra = 0
    can_delete = False
    fields = ["at", "user", "action"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "event",
        "status",
        "pinned",
        "key_event",
        "drafted_by",
        "publish_at",
        "created_at",
        "published_at",
    ]
    list_filter = ["event", "status", "pinned", "key_event", "ai_assisted"]
    ordering = ["-created_at"]
    search_fields = ["headline", "body"]
    list_select_related = ["event", "batch"]
    actions = [approve, publish, unpublish, reject, pin, unpin, mark_key_event, unmark_key_event]
    fields = [
        "hold_reason",
        "event",
        "headline",
        "body",
        "source_transcript",
        "status",
        "publish_at",
        "published_at",
        "pinned",
        "key_event",
        "ai_assisted",
        "author",
        "last_editor",
        "revision",
        "batch",
    ]
    readonly_fields = [
        "hold_reason",
        "source_transcript",
        "status",
        "published_at",
        "pinned",
        "ai_assisted",
        "author",
        "last_editor",
        "revision",
        "batch",
    ]
    inlines = [PostActionInline]

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("publishing.publish_post")

    # A post readers can see leaves their pages by unpublish or reject, which the cursor reports to
    # open pages; a deleted row would leave nothing to report. So published posts are not deleted,
    # and there is no bulk delete that could take them.
    def has_delete_permission(self, request, obj: Post | None = None) -> bool:
        if obj is not None and obj.status == Post.Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Drafted by")
    def drafted_by(self, post: Post) -> str:
        if post.batch is None:
            return "Hand-written"
        return "Offline draft" if post.batch.provider == "offline" else f"AI draft ({post.batch.provider or '…'})"

    @admin.display(description="Source transcript")
    def source_transcript(self, post: Post) -> str:
        return transcript_html(post.batch)

    def get_readonly_fields(self, request, obj: Post | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("event")  # a post stays with the event it was written for
        if not self.has_publish_permission(request) or (obj is not None and obj.is_published):
            readonly.append("publish_at")  # scheduling is publishing
        return readonly

    def save_model(self, request, obj, form, change):
        # Only what the form let this user change, each through the post's own audited state change.
        scheduled = "publish_at" in form.changed_data and self.has_publish_permission(request)
        if change:
            edited = Post.objects.get(pk=obj.pk)
            edited.edit(request.user, headline=obj.headline, body=obj.body)
            if "key_event" in form.changed_data:
                edited.set_key_event(request.user, obj.key_event)
            if scheduled:
                edited.schedule(request.user, obj.publish_at)
            obj.refresh_from_db()
        else:
            when, obj.publish_at = obj.publish_at, None
            obj.author = request.user
            obj.last_editor = request.user
            obj.save()
            PostAction.objects.create(post=obj, user=request.user, action=PostAction.Kind.CREATED)
            if scheduled and when is not None:
                obj.schedule(request.user, when)

    # --- The per-event queue: drafts newest first, each beside its transcript, every decision one click. ---

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("queue/", view(self.queue_index), name="publishing_post_queue_index"),
            path("queue/<int:event_id>/", view(self.queue_view), name="publishing_post_queue"),
            *super().get_urls(),
        ]

    def queue_index(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        events = Event.objects.exclude(status=Event.Status.SCHEDULED).annotate(
            # distinct: the two joins multiply rows, so each count would repeat per row of the other.
            drafts=Count("posts", filter=Q(posts__status__in=[Post.Status.DRAFT, Post.Status.APPROVED]), distinct=True),
            failed=Count("batches", filter=Q(batches__status=Batch.Status.FAILED), distinct=True),
        )
        context = {**self.admin_site.each_context(request), "title": "Draft queues", "events": events[:200]}
        return TemplateResponse(request, "admin/publishing/queue_index.html", context)

    def queue_view(self, request: HttpRequest, event_id: int) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        event = get_object_or_404(Event, pk=event_id)
        if request.method == "POST":
            self.moderate(request, event)
            return HttpResponseRedirect(request.get_full_path())
        show = request.GET.get("show", "queue")
        recent_actions = Prefetch("actions", PostAction.objects.select_related("user")[:8], to_attr="recent_actions")
        ordered_segments = Prefetch(
            "batch__segments", Segment.objects.select_related("session").in_order(), to_attr="ordered_segments"
        )
        posts = (
            Post.objects.filter(event=event)
            .select_related("batch", "author", "last_editor")
            .prefetch_related(recent_actions, ordered_segments)
            .order_by("-created_at")
        )
        if show == "queue":
            posts = posts.filter(status__in=[Post.Status.DRAFT, Post.Status.APPROVED])
        items = [
            {
                "post": post,
                "transcript": transcript_html(post.batch),
                "actions": post.recent_actions,
            }
            for post in posts[:100]
        ]
        credits = Post.objects.credits_used(event)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Draft queue · {event.title}",
            "event": event,
            "items": items,
            "show": show,
            "failed": Batch.objects.filter(event=event, status=Batch.Status.FAILED).order_by("-created_at")[:50],
            "credits_used": credits,
            "can_publish": self.has_publish_permission(request),
            "can_change": self.has_change_permission(request),
            "can_add": self.has_add_permission(request),
            "can_retry": request.user.has_perm("publishing.change_batch"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/publishing/queue.html", context)

    def moderate(self, request: HttpRequest, event: Event) -> None:
        """One decision from the queue page, applied through the Post's own audited state changes."""
        op = request.POST.get("op", "")
        user = request.user
        if op == "write":
            if not self.has_add_permission(request):
                raise PermissionDenied
            body = request.POST.get("body", "").strip()
            if not body:
                messages.error(request, "A post needs some text.")
                return
            post = Post.objects.create(
                event=event,
                headline=request.POST.get("headline", "").strip()[:200],
                body=body,
                author=user,
                last_editor=user,
            )
            PostAction.objects.create(post=post, user=user, action=PostAction.Kind.CREATED)
            if request.POST.get("publish_now") and self.has_publish_permission(request):
                post.publish(user)
            messages.success(request, "Post written.")
            return
        if op == "retry":
            if not request.user.has_perm("publishing.change_batch"):
                raise PermissionDenied
            retried = retry_failed([int(request.POST.get("batch", 0))])
            messages.success(
                request, "Batch sent back for drafting." if retried else "That batch is not failed any more."
            )
            return
        post = get_object_or_404(Post, pk=request.POST.get("post"), event=event)
        transition = TRANSITIONS.get(op)
        permission = "publish" if op == "schedule" else (transition.permission if transition else "change")
        if not getattr(self, f"has_{permission}_permission")(request):
            raise PermissionDenied
        if op == "edit":
            body = request.POST.get("body", "").strip()
            if not body:
                messages.error(request, "A post needs some text.")
                return
            post.edit(user, headline=request.POST.get("headline", "").strip()[:200], body=body)
        elif op == "schedule":
            when = parse_datetime(request.POST.get("publish_at", ""))
            if when is None:
                messages.error(request, "Give the publish time as YYYY-MM-DD HH:MM.")
                return
            if timezone.is_naive(when):
                when = timezone.make_aware(when, zoneinfo.ZoneInfo(event.timezone))
            if post.is_published:
                messages.error(request, "This post is published already.")
                return
            post.schedule(user, when)
        elif transition is None:
            messages.error(request, f"Unknown action {op!r}.")
            return
        else:
            transition.apply(post, user)
        messages.success(request, f"Post {post.pk}: {op} done.")


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "event",
        "status",
        "is_final",
        "attempts",
        "provider",
        "credits_used",
        "latency_ms",
        "error",
        "created_at",
    ]
    list_filter = ["status", "event", "provider"]
    search_fields = ["last_error", "request_id"]
    readonly_fields = ["transcript_html"]
    actions = [retry_drafting]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("publishing.change_batch")

    @admin.display(description="Error")
    def error(self, batch: Batch) -> str:
        return batch.last_error[:200]

    @admin.display(description="Transcript")
    def transcript_html(self, batch: Batch) -> str:
        return transcript_html(batch)
