"""Editors' admin for posts, batches, alerts and who did what; the draft queue of each event is routed here
(publishing.queue)."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import linebreaksbr
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from publishing import embeds, pictures
from publishing.embed_providers import provider_names
from publishing.models import Alert, Batch, Embed, Picture, Post, PostAction
from publishing.queue import views as queue_views
from publishing.queue.html import check_html
from publishing.queue.moderation import TRANSITIONS
from publishing.revisions import RevisionCheckedForm
from transcription.admin import ReadOnlyAdmin
from transcription.html import transcript_html
from transcription.speakers import Speakers


def _bulk_action(op: str, name: str, description: str, *, limit: int | None = None):
    transition = TRANSITIONS[op]

    def action(modeladmin, request, queryset):
        # Counted as applied: a filtered changelist may no longer match the posts once changed.
        posts = list(queryset.select_related("event")[:limit])
        for post in posts:
            transition.apply(post, request.user)
        messages.success(request, transition.done_message(len(posts)))

    action.__name__ = name
    return admin.action(permissions=[transition.permission], description=description)(action)


approve = _bulk_action("approve", "approve", _("Approve selected posts"))
publish = _bulk_action("publish", "publish", _("Publish selected posts"))
unpublish = _bulk_action("unpublish", "unpublish", _("Unpublish selected posts"))
reject = _bulk_action("reject", "reject", _("Reject selected posts"))
pin = _bulk_action("pin", "pin", _("Pin (one per event)"), limit=1)
unpin = _bulk_action("unpin", "unpin", _("Unpin"))
mark_key_event = _bulk_action("key", "mark_key_event", _("Mark as key event"))
unmark_key_event = _bulk_action("unkey", "unmark_key_event", _("Unmark key event"))


@admin.action(permissions=["retry"], description=_("Retry drafting of the selected failed batches"))
def retry_drafting(modeladmin, request, queryset):
    retried = queryset.retry_failed()
    messages.success(
        request,
        ngettext(
            "Sent %(count)d failed batch back for drafting.",
            "Sent %(count)d failed batches back for drafting.",
            retried,
        )
        % {"count": retried},
    )


class PostActionInline(admin.TabularInline):
    model = PostAction
    extra = 0
    can_delete = False
    fields = ["at", "user", "action"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def picture_thumbnail(picture: Picture) -> SafeString:
    smallest = picture.renditions[0]
    return format_html(
        '<img class="picture-thumb" src="{}" width="{}" height="{}" alt="{}"><br>{}',
        picture.url(smallest),
        smallest["width"],
        smallest["height"],
        picture.alt_text,
        gettext("%(width)d×%(height)d, alt text: %(alt)s")
        % {"width": picture.width, "height": picture.height, "alt": picture.alt_text},
    )


class PostForm(RevisionCheckedForm):
    """The post's fields, and its picture: a new one (alt text required), or the present one's text, or none."""

    picture_upload = forms.FileField(
        label=_("Picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("JPEG, PNG or WebP; replaces the present picture. Stored without its metadata (GPS, camera)."),
    )
    picture_alt_text = forms.CharField(
        label=_("Alt text"),
        required=False,
        max_length=300,
        help_text=_("What the picture shows. Required with a picture."),
    )
    picture_caption = forms.CharField(label=_("Caption"), required=False, max_length=300)
    picture_credit = forms.CharField(label=_("Credit"), required=False, max_length=120)
    remove_picture = forms.BooleanField(label=_("Remove the picture"), required=False)
    embed_url = forms.CharField(
        label=_("Embed a video or post"),
        required=False,
        max_length=1000,
        widget=forms.URLInput(attrs={"size": 80, "placeholder": "https://"}),
    )
    remove_embeds = forms.ModelMultipleChoiceField(
        label=_("Remove embeds"), required=False, queryset=Embed.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Post
        fields = ["headline", "body"]  # the admin passes its own list

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        picture = Picture.objects.filter(post_id=self.instance.pk).first() if self.instance.pk else None
        self.fetched_embed: embeds.Fetched | None = None
        self.fields["embed_url"].help_text = _(
            "The address of a video or post on %(providers)s. Its title and thumbnail are fetched once, when you "
            "save; readers load the player only when they choose to."
        ) % {"providers": ", ".join(provider_names())}
        if self.instance.pk:
            self.fields["remove_embeds"].queryset = Embed.objects.filter(post_id=self.instance.pk)
        if isinstance(getattr(self.fields.get("publish_at"), "widget", None), forms.MultiWidget):
            # Django's split date and time boxes share one <label> that names neither: each gets its own name.
            date, time = self.fields["publish_at"].widget.widgets
            date.attrs["aria-label"] = _("Publish at: date")
            time.attrs["aria-label"] = _("Publish at: time")
        if picture is not None:
            self.initial.update(
                picture_alt_text=picture.alt_text, picture_caption=picture.caption, picture_credit=picture.credit
            )

    def clean_picture_upload(self):
        upload = self.cleaned_data.get("picture_upload")
        if upload:
            try:
                pictures.open_checked(upload)
            except pictures.PictureRefused as exc:
                raise ValidationError(str(exc)) from None
        return upload

    def clean_embed_url(self) -> str:
        """The pasted address looked up now, so a refusal is shown on the form and nothing is stored."""
        address = self.cleaned_data.get("embed_url", "").strip()
        if address:
            try:
                embeds.check_room(self.instance if self.instance.pk else None, address)
                self.fetched_embed = embeds.fetch(address)
            except embeds.EmbedRefused as exc:
                raise ValidationError(str(exc)) from None
        return address

    def save_embeds(self, post: Post, user) -> Embed | None:
        for embed in self.cleaned_data.get("remove_embeds") or ():
            embeds.remove_embed(post, embed.pk, user)
        return embeds.store(self.fetched_embed, post, user) if self.fetched_embed else None

    def clean(self) -> dict:
        data = super().clean()
        has_picture = self.instance.pk and Picture.objects.filter(post_id=self.instance.pk).exists()
        wants_picture = data.get("picture_upload") or (has_picture and not data.get("remove_picture"))
        if wants_picture and not data.get("picture_alt_text", "").strip():
            self.add_error(
                "picture_alt_text", _("Describe the picture in its alt text: readers who cannot see it need it.")
            )
        return data

    def save_picture(self, post: Post, user) -> None:
        data = self.cleaned_data
        text = {
            "alt_text": data["picture_alt_text"],
            "caption": data["picture_caption"],
            "credit": data["picture_credit"],
        }
        if data.get("picture_upload"):
            pictures.add_picture(data["picture_upload"], event=post.event, post=post, user=user, **text)
        elif data.get("remove_picture"):
            pictures.remove_picture(post, user)
        elif Picture.objects.filter(post=post).exists():
            pictures.update_picture_text(post, user, **text)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = PostForm
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
    list_filter = ["event", "status", "kind", "pinned", "key_event", "ai_assisted"]
    ordering = ["-created_at"]
    search_fields = ["headline", "body"]
    list_select_related = ["event", "batch"]
    actions = [approve, publish, unpublish, reject, pin, unpin, mark_key_event, unmark_key_event]
    fields = [
        "held_because",
        "quote_check",
        "event",
        "headline",
        "body",
        "correction",
        "corrected_at",
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
        "based_on_revision",
        "batch",
        "picture_preview",
        "picture_upload",
        "picture_alt_text",
        "picture_caption",
        "picture_credit",
        "remove_picture",
        "embed_list",
        "embed_url",
        "remove_embeds",
    ]
    readonly_fields = [
        "held_because",
        "quote_check",
        "source_transcript",
        "status",
        "published_at",
        "pinned",
        "ai_assisted",
        "author",
        "last_editor",
        "revision",
        "batch",
        "corrected_at",
        "picture_preview",
        "embed_list",
    ]
    inlines = [PostActionInline]

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("publishing.publish_post")

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("publishing.change_batch")

    def has_interval_permission(self, request) -> bool:
        """The event's batch interval, set from its draft queue."""
        return request.user.has_perm("events.change_event")

    # A deleted published post would leave the readers' cursor nothing to report: it is unpublished instead.
    def has_delete_permission(self, request, obj: Post | None = None) -> bool:
        if obj is not None and obj.status == Post.Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs, request):
        # Nobody deletes a post's actions by hand (PostActionAdmin), but a deleted draft takes its own with it.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed - {PostAction._meta.verbose_name}, protected

    @admin.display(description=_("Drafted by"))
    def drafted_by(self, post: Post) -> str:
        if post.kind == Post.Kind.QUOTE:
            return _("Quote by %(author)s") % {"author": post.author or _("someone")}
        if post.batch is None:
            return gettext("Hand-written")
        if post.batch.provider == "offline":
            return gettext("Offline draft")
        return gettext("AI draft (%(provider)s)") % {"provider": post.batch.provider or "…"}

    @admin.display(description=_("held for an editor because"))
    def held_because(self, post: Post) -> str:
        return post.why_held()

    @admin.display(description=_("Quotes, numbers and names"))
    def quote_check(self, post: Post) -> str:
        return check_html(post) or gettext("Hand-written post: not checked.")

    @admin.display(description=_("Source transcript"))
    def source_transcript(self, post: Post) -> str:
        if post.kind == Post.Kind.QUOTE:  # its own lines
            return queue_views.source_html(post, Speakers.for_event(post.event_id))
        return transcript_html(post.batch)

    def get_fields(self, request, obj: Post | None = None) -> list[str]:
        fields = list(super().get_fields(request, obj))
        if obj is None or not obj.is_published:
            fields = [name for name in fields if name not in ("correction", "corrected_at")]  # readers see no draft
        return fields

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
            correction = obj.correction if "correction" in form.changed_data else None
            edited.edit(request.user, headline=obj.headline, body=obj.body, correction=correction)
            if "key_event" in form.changed_data:
                edited.set_key_event(request.user, obj.key_event)
            if scheduled:
                edited.schedule(request.user, obj.publish_at)
            obj.refresh_from_db()
        else:
            when, obj.publish_at = obj.publish_at, None
            obj.write(request.user)
            if scheduled and when is not None:
                obj.schedule(request.user, when)
        form.save_picture(obj, request.user)
        try:
            embed = form.save_embeds(obj, request.user)
        except embeds.EmbedRefused as exc:  # the post filled up while the form was open
            messages.error(request, str(exc))
        else:
            if embed is not None and embed.thumbnail_note:
                messages.warning(request, _("Embedded without its thumbnail: %(why)s") % {"why": embed.thumbnail_note})

    @admin.display(description=_("Embeds"))
    def embed_list(self, post: Post) -> SafeString | str:
        shown = Embed.objects.filter(post_id=post.pk) if post.pk else Embed.objects.none()
        rows = [
            (
                format_html('<img class="picture-thumb" src="{}" alt="">', embed.thumbnail_url)
                if embed.thumbnail
                else "",
                embed.url,
                embed.provider_name,
                embed.title,
                embed.get_status_display(),
            )
            for embed in shown
        ]
        if not rows:
            return _("None.")
        return format_html(
            '<ul class="embeds">{}</ul>', format_html_join("", '<li>{} <a href="{}">{}: {}</a> ({})</li>', rows)
        )

    @admin.display(description=_("Present picture"))
    def picture_preview(self, post: Post) -> str:
        picture = Picture.objects.filter(post_id=post.pk).first() if post.pk else None
        return picture_thumbnail(picture) if picture else gettext("None.")

    # The per-event draft queue lives in publishing.queue.views; the admin routes it and lends it permissions.
    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("queue/", view(partial(queue_views.queue_index, self)), name="publishing_post_queue_index"),
            path("queue/<int:event_id>/", view(partial(queue_views.queue_view, self)), name="publishing_post_queue"),
            *super().get_urls(),
        ]


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

    @admin.display(description=_("Error"))
    def error(self, batch: Batch) -> str:
        return batch.why_failed()[:200]

    @admin.display(description=_("Transcript"))
    def transcript_html(self, batch: Batch) -> str:
        return transcript_html(batch)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "event", "text", "delivery", "attempts", "last_error"]
    list_filter = ["kind", "delivery", "event"]
    list_select_related = ["event"]
    search_fields = ["message"]  # the site's language
    date_hierarchy = "created_at"
    fields = ["kind", "event", "text", "delivery", "attempts", "last_error", "delivered_at"]
    readonly_fields = ["text"]

    @admin.display(description=_("message"))
    def text(self, alert: Alert) -> str:
        return alert.text()


# The post's text as an edit or a correction changed it (PostAction.before and after).
_TEXT_LABELS = {"headline": _("Headline"), "body": _("Body"), "correction": _("Correction note")}


@admin.register(PostAction)
class PostActionAdmin(ReadOnlyAdmin):
    """Who did what across events: the editors read it (events.roles), nobody writes it."""

    list_display = ["when", "who", "event", "post_link", "action", "text_change"]
    list_filter = ["event", ("user", admin.RelatedOnlyFieldListFilter), "action"]
    list_select_related = ["user", "event", "post"]
    date_hierarchy = "at"
    search_fields = ["user__username", "event__title", "post__headline", "post__body"]
    ordering = ["-at", "-pk"]
    fields = ["when", "who", "event", "post_link", "action", "text_before_and_after"]
    readonly_fields = fields

    @admin.display(description=_("When"), ordering="at")
    def when(self, action: PostAction):
        return action.at

    @admin.display(description=_("Who"), ordering="user__username")
    def who(self, action: PostAction):
        return action.user or _("the system")

    @admin.display(description=_("Post"))
    def post_link(self, action: PostAction) -> SafeString | None:
        if action.post is None:
            return None
        url = reverse("admin:publishing_post_change", args=[action.post_id])
        return format_html('<a href="{}">#{} {}</a>', url, action.post_id, Truncator(str(action.post)).chars(60))

    @admin.display(description=_("Before → after"))
    def text_change(self, action: PostAction) -> SafeString | None:
        if not action.before:
            return None
        rows = (
            (_TEXT_LABELS.get(name, name), Truncator(was).chars(60), Truncator(action.after.get(name, "")).chars(60))
            for name, was in action.before.items()
        )
        return format_html('<ul class="text-change">{}</ul>', format_html_join("", "<li>{}: “{}” → “{}”</li>", rows))

    @admin.display(description=_("Text before and after"))
    def text_before_and_after(self, action: PostAction) -> SafeString | None:
        if not action.before:
            return None
        rows = (
            (_TEXT_LABELS.get(name, name), linebreaksbr(was), linebreaksbr(action.after.get(name, "")))
            for name, was in action.before.items()
        )
        return format_html(
            '<table class="text-change"><tr><th></th><th>{}</th><th>{}</th></tr>{}</table>',
            _("Before"),
            _("After"),
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows),
        )
