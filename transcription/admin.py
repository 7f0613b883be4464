from django.contrib import admin

from transcription.models import Segment, SegmentCorrection, StreamSession


class ReadOnlyAdmin(admin.ModelAdmin):
    """What the machines record is evidence: shown, never edited or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StreamSession)
class StreamSessionAdmin(ReadOnlyAdmin):
    list_display = ["event", "journalist", "provider", "status", "started_at", "audio_seconds", "reconnects"]
    list_filter = ["status", "provider", "event"]
    search_fields = ["event__title", "journalist__username"]


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ["event", "session", "sequence", "start", "end", "text", "batch"]
    list_filter = ["event"]
    search_fields = ["text"]
    list_select_related = ["event", "session", "batch"]


@admin.register(SegmentCorrection)
class SegmentCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["segment", "editor", "corrected_at", "before", "after"]
