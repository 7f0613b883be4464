from django.contrib import admin, messages

from publishing.models import Batch, Post, PostAction
from transcription.admin import ReadOnlyAdmin
from transcription.html import transcript_html


def _each(request, queryset, verb: str, apply) -> None:
    for post in queryset.select_related("event"):
        apply(post)
    messages.success(request, f"{verb} {queryset.count()} post(s).")


@admin.action(permissions=["change"], description="Approve selected posts")
def approve(modeladmin, request, queryset):
    _each(request, queryset, "Approved", lambda post: post.approve(request.user))


@admin.action(permissions=["publish"], description="Publish selected posts")
def publish(modeladmin, request, queryset):
    _each(request, queryset, "Published", lambda post: post.publish(request.user))


@admin.action(permissions=["publish"], description="Unpublish selected posts")
def unpublish(modeladmin, request, queryset):
    _each(request, queryset, "Unpublished", lambda post: post.unpublish(request.user))


@admin.action(permissions=["change"], description="Reject selected posts")
def reject(modeladmin, request, queryset):
    _each(request, queryset, "Rejected", lambda post: post.reject(request.user))


@admin.action(permissions=["publish"], description="Pin (one per event)")
def pin(modeladmin, request, queryset):
    _each(request, queryset[:1], "Pinned", lambda post: post.set_pinned(request.user, True))


@admin.action(permissions=["publish"], description="Unpin")
def unpin(modeladmin, request, queryset):
    _each(request, queryset, "Unpinned", lambda post: post.set_pinned(request.user, False))


@admin.action(permissions=["change"], description="Mark as key event")
def mark_key_event(modeladmin, request, queryset):
    _each(request, queryset, "Marked", lambda post: post.set_key_event(request.user, True))


@admin.action(permissions=["change"], description="Unmark key event")
def unmark_key_event(modeladmin, request, queryset):
    _each(request, queryset, "Unmarked", lambda post: post.set_key_event(request.user, False))


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
    list_display = ["__str__", "event", "status", "pinned", "key_event", "ai_assisted", "created_at", "published_at"]
    list_filter = ["event", "status", "pinned", "key_event", "ai_assisted"]
    search_fields = ["headline", "body"]
    list_select_related = ["event"]
    actions = [approve, publish, unpublish, reject, pin, unpin, mark_key_event, unmark_key_event]
    fields = [
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

    @admin.display(description="Source transcript")
    def source_transcript(self, post: Post) -> str:
        return transcript_html(post.batch)

    def save_model(self, request, obj, form, change):
        if change:
            edited = Post.objects.get(pk=obj.pk)
            edited.publish_at = obj.publish_at
            edited.edit(request.user, headline=obj.headline, body=obj.body)
            if "publish_at" in form.changed_data:
                edited.schedule(request.user, obj.publish_at)
            obj.refresh_from_db()
        else:
            obj.author = request.user
            obj.last_editor = request.user
            obj.save()
            PostAction.objects.create(post=obj, user=request.user, action=PostAction.Kind.CREATED)


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "event", "status", "attempts", "provider", "credits_used", "latency_ms", "created_at"]
    list_filter = ["status", "event", "provider"]
    search_fields = ["last_error", "request_id"]
    readonly_fields = ["transcript_html"]

    @admin.display(description="Transcript")
    def transcript_html(self, batch: Batch) -> str:
        return transcript_html(batch)
