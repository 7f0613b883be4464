from django.contrib import admin

from events.models import Event
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
    list_display = ["title", "status", "starts_at", "auto_publish", "batch_interval_seconds"]
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
                    "credit_cap",
                    "drafting_paused_reason",
                    "audio_retention_days",
                ]
            },
        ),
    ]
