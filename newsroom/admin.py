"""The event admin: the event, its stream sessions, its credits, its draft queue and its embed code."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from events.models import Event
from publishing.models import Batch, PostTranslation, Summary
from readers.changes import site_base
from readers.widget import embed_snippet
from transcription.models import StreamSession


class StreamSessionInline(admin.TabularInline):
    model = StreamSession
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["journalist", "provider", "status", "started_at", "ended_at", "audio_seconds", "reconnects"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def go_live(event: Event, user) -> str:
    return _("%(event)s is live.") % {"event": event} if event.go_live(user) else ""


def end(event: Event, user) -> str:
    return _("%(event)s has ended.") % {"event": event} if event.end(user) else ""


LIFECYCLE = {"go_live": go_live, "end": end}


@admin.action(permissions=["change"], description=gettext_lazy("Go live"))
def go_live_action(modeladmin, request, queryset):
    done = [go_live(event, request.user) for event in queryset.filter(status=Event.Status.SCHEDULED)]
    count = len([d for d in done if d])
    messages.success(
        request, ngettext("%(count)d event went live.", "%(count)d events went live.", count) % {"count": count}
    )


@admin.action(permissions=["change"], description=gettext_lazy("End event"))
def end_action(modeladmin, request, queryset):
    done = [end(event, request.user) for event in queryset.exclude(status=Event.Status.ENDED)]
    count = len([d for d in done if d])
    messages.success(request, ngettext("%(count)d event ended.", "%(count)d events ended.", count) % {"count": count})


class EventForm(forms.ModelForm):
    """A status chosen here does what Go live and End event do; an ended event never goes live again."""

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        before = self.instance.status if self.instance.pk else None
        if before == Event.Status.ENDED and status != Event.Status.ENDED:
            raise forms.ValidationError(_("This event has ended: it cannot go live or be scheduled again."))
        if before == Event.Status.LIVE and status == Event.Status.SCHEDULED:
            raise forms.ValidationError(_("A live event cannot be scheduled again: end it instead."))
        return status


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    form = EventForm
    actions = [go_live_action, end_action]
    change_form_template = "admin/events/event/change_form.html"
    list_display = ["title", "status", "starts_at", "auto_publish", "batch_interval_seconds", "credits", "draft_queue"]
    list_filter = ["status", "auto_publish"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["journalists"]
    date_hierarchy = "starts_at"
    inlines = [StreamSessionInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "status", "is_public"]}),
        (gettext_lazy("Schedule"), {"fields": ["starts_at", "go_live_at_start", "ends_at", "timezone"]}),
        (gettext_lazy("Newsroom"), {"fields": ["journalists", "journalists_publish"]}),
        (gettext_lazy("Readers"), {"fields": ["reader_languages", "embed_code"]}),
        (
            gettext_lazy("Speech and drafting"),
            {
                "fields": [
                    "language",
                    "speech_languages",
                    "diarize",
                    "glossary",
                    "style_notes",
                    "batch_interval_seconds",
                    "auto_publish",
                    "readers_hear_quotes",
                    "credit_cap",
                    "credits",
                    "drafting_paused_reason",
                    "audio_retention_days",
                ]
            },
        ),
        (gettext_lazy("The story so far"), {"fields": ["summary_every_posts", "summary_every_minutes"]}),
    ]

    readonly_fields = ["embed_code", "credits"]

    def get_queryset(self, request):
        # The credits column, its batches' and its summaries': summed in the list's own query, not one per row.
        totals = [
            Coalesce(
                Subquery(
                    model.objects.filter(event=OuterRef("pk"))
                    .values("event")
                    .annotate(total=Sum("credits_used"))
                    .values("total")
                ),
                0,
            )
            for model in (Batch, Summary)
        ]
        # …and its posts' translations (reader editions).
        translated = Coalesce(
            Subquery(
                PostTranslation.objects.filter(post__event=OuterRef("pk"))
                .values("post__event")
                .annotate(total=Sum("credits_used"))
                .values("total")
            ),
            0,
        )
        return super().get_queryset(request).annotate(credits_total=totals[0] + totals[1] + translated)

    @admin.display(description=gettext_lazy("Credits used"))
    def credits(self, event: Event) -> str:
        used = getattr(event, "credits_total", 0)  # an event not saved yet has used none
        if event.credit_cap is None:
            shown = number_format(used)
        else:
            shown = _("%(used)s of %(cap)s") % {"used": number_format(used), "cap": number_format(event.credit_cap)}
        if event.drafting_paused:
            shown += " · " + _("paused: %(reason)s") % {"reason": event.pause_reason()}
        return shown

    @admin.display(description=gettext_lazy("Drafts"))
    def draft_queue(self, event: Event) -> str:
        url = reverse("admin:publishing_post_queue", args=[event.pk])
        return format_html('<a href="{}">{}</a>', url, _("Draft queue"))

    @admin.display(description=gettext_lazy("Embed on another site"))
    def embed_code(self, event: Event) -> str:
        if not event.pk:
            return _("Save the event to get its embed code.")
        return format_html(
            '<textarea readonly rows=3 cols=90 aria-label="{}">{}</textarea><p class=help>{}</p>',
            _("Embed code"),
            embed_snippet(getattr(event, "site_base", ""), event),
            _("Paste into any page: a live-updating box of this event's posts."),
        )

    def save_model(self, request, obj: Event, form, change: bool) -> None:
        """Saved with a new status: the event goes live or ends through the same steps as the actions."""
        wanted = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        step = LIFECYCLE["go_live" if wanted == Event.Status.LIVE else "end"]
        if obj.status != wanted and (done := step(obj, request.user)):
            messages.success(request, done)

    def get_urls(self):
        lifecycle = path(
            "<int:pk>/lifecycle/", self.admin_site.admin_view(self.lifecycle_view), name="events_event_lifecycle"
        )
        return [lifecycle, *super().get_urls()]

    def lifecycle_view(self, request: HttpRequest, pk: int):
        """POST op=go_live or op=end: the change form's and the draft queue's buttons."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        event = get_object_or_404(Event, pk=pk)
        step = LIFECYCLE.get(request.POST.get("op", ""))
        if step is None or not self.has_change_permission(request, event):
            raise PermissionDenied
        done = step(event, request.user)
        if done:
            messages.success(request, done)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:events_event_change", args=[pk])
        return HttpResponseRedirect(back)

    def get_object(self, request, object_id, from_field=None):
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            event.site_base = site_base(request)  # the snippet needs absolute URLs
        return event
