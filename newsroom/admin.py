"""The event admin: the event, its stream sessions, its credits, its draft queue and its embed code."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from events.models import Event
from publishing.models import Batch
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


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "starts_at", "auto_publish", "batch_interval_seconds", "credits", "draft_queue"]
    list_filter = ["status", "auto_publish"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["journalists"]
    date_hierarchy = "starts_at"
    inlines = [StreamSessionInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "status", "is_public"]}),
        ("Schedule", {"fields": ["starts_at", "ends_at", "timezone"]}),
        ("Newsroom", {"fields": ["journalists"]}),
        ("Readers", {"fields": ["embed_code"]}),
        (
            "Speech and drafting",
            {
                "fields": [
                    "language",
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
    ]

    readonly_fields = ["embed_code", "credits"]

    def get_queryset(self, request):
        # The credits column: summed in the list's own query, not one query per row.
        totals = Batch.objects.filter(event=OuterRef("pk")).values("event").annotate(total=Sum("credits_used"))
        return super().get_queryset(request).annotate(credits_total=Coalesce(Subquery(totals.values("total")), 0))

    @admin.display(description="Credits used")
    def credits(self, event: Event) -> str:
        used = getattr(event, "credits_total", 0)  # an event not saved yet has used none
        cap = f" of {event.credit_cap}" if event.credit_cap is not None else ""
        paused = f" · paused: {event.drafting_paused_reason}" if event.drafting_paused_reason else ""
        return f"{used}{cap}{paused}"

    @admin.display(description="Drafts")
    def draft_queue(self, event: Event) -> str:
        return format_html('<a href="{}">Draft queue</a>', reverse("admin:publishing_post_queue", args=[event.pk]))

    @admin.display(description="Embed on another site")
    def embed_code(self, event: Event) -> str:
        if not event.pk:
            return "Save the event to get its embed code."
        return format_html(
            "<textarea readonly rows=3 cols=90>{}</textarea>"
            "<p class=help>Paste into any page: a live-updating box of this event's posts.</p>",
            embed_snippet(getattr(event, "site_base", ""), event),
        )

    def get_object(self, request, object_id, from_field=None):
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            event.site_base = site_base(request)  # the snippet needs absolute URLs
        return event
