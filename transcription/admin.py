"""Editors' admin for stream sessions, segments (with audio players and corrections) and speaker names."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.models import Event
from transcription.corrections import correct_segment, original_text
from transcription.html import audio_player, segment_lines_html
from transcription.models import Segment, SegmentCorrection, SpeakerName, StreamSession
from transcription.review.access import can_correct
from transcription.search import search_segments
from transcription.speakers import BadSpeakerName, Speakers, announce_names_on_commit, check_label, clean_name


class ReadOnlyAdmin(admin.ModelAdmin):
    """What the machines record is evidence: shown, never edited or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _export_links(links) -> str:
    return format_html_join(" · ", '<a href="{}">{}</a>', links)


class SpeakerNameForm(forms.ModelForm):
    class Meta:
        model = SpeakerName
        fields = ["label", "name"]

    def clean_name(self) -> str:
        try:
            name = clean_name(self.cleaned_data["name"])
        except BadSpeakerName as error:
            raise forms.ValidationError(str(error)) from None
        if not name:
            raise forms.ValidationError(_("Give a name, or delete the row to forget it."))
        return name

    def clean_label(self) -> int:
        try:
            return check_label(self.cleaned_data["label"])
        except BadSpeakerName as error:
            raise forms.ValidationError(str(error)) from None


class SpeakerNameInline(admin.TabularInline):
    """Who "Speaker 0" is in this session: used by the exports, the draft queue and the drafters' brief."""

    model = SpeakerName
    form = SpeakerNameForm
    extra = 1


@admin.register(StreamSession)
class StreamSessionAdmin(ReadOnlyAdmin):
    """The session is evidence and stays read-only; only its speakers' names are edited here."""

    list_display = ["event", "journalist", "provider", "status", "started_at", "audio_seconds", "reconnects", "exports"]
    list_filter = ["status", "provider", "event"]
    search_fields = ["event__title", "journalist__username"]
    exclude = ["audio_file"]
    inlines = [SpeakerNameInline]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fields = [f.name for f in StreamSession._meta.fields if f.name not in ("id", "audio_file")]
        return [*fields, "archived_audio", "exports", "event_exports"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Saving the session form saves no field of the session (all read-only): only the inline's names.
        return request.user.has_perm("transcription.change_speakername")

    def save_model(self, request, obj, form, change) -> None:
        pass  # no session field is edited here, and saving the row would overwrite the relay's figures

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if any(formset.has_changed() for formset in formsets):
            announce_names_on_commit(form.instance.pk)  # a running stream shows them at once

    @admin.display(description=gettext_lazy("Archived audio"))
    def archived_audio(self, session: StreamSession) -> str:
        if not session.audio_file:
            return _("None (not recorded, or purged).")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("transcripts:session_audio", args=[session.pk]),
            _("Download the session as FLAC"),
        )

    @admin.display(description=gettext_lazy("Transcript"))
    def exports(self, session: StreamSession) -> str:
        url = "transcripts:session_transcript"
        return _export_links((reverse(url, args=[session.pk, fmt]), fmt.upper()) for fmt in ("txt", "srt", "vtt"))

    @admin.display(description=gettext_lazy("Whole event"))
    def event_exports(self, session: StreamSession) -> str:
        slug = session.event.slug
        url = "transcripts:event_transcript"
        links = [(reverse(url, args=[slug, fmt]), fmt.upper()) for fmt in ("txt", "srt", "vtt")]
        links.append((reverse("transcripts:event_posts", args=[slug]), _("Published posts (Markdown)")))
        return _export_links(links)


class SegmentCorrectionForm(forms.ModelForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), strip=True)

    class Meta:
        model = Segment
        fields = ["text"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Segments are evidence: only their text may be corrected, and every correction is recorded."""

    form = SegmentCorrectionForm
    list_display = ["event", "session", "sequence", "start", "end", "text", "play", "batch"]
    list_filter = ["event", "speaker"]
    search_fields = ["text"]
    search_help_text = gettext_lazy("Words anywhere in the transcript; filter by event to search one event.")
    list_select_related = ["event", "session", "batch"]
    fields = ["text", "play", "original", "context", "event", "session", "sequence", "start", "end", "speaker"]
    fields += ["confidence", "batch", "correction_history"]
    readonly_fields = [f for f in fields if f != "text"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return can_correct(request.user)

    def changelist_view(self, request, extra_context=None):
        event_id = request.GET.get("event__id__exact", "")
        if event_id.isdigit():
            extra_context = {**(extra_context or {}), "export_event": Event.objects.filter(pk=event_id).first()}
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        return search_segments(queryset, search_term), False

    @admin.display(description=gettext_lazy("Audio"))
    def play(self, segment: Segment) -> str:
        return audio_player(segment)

    @admin.display(description=gettext_lazy("Machine transcript"))
    def original(self, segment: Segment) -> str:
        return original_text(segment)

    @admin.display(description=gettext_lazy("In context"))
    def context(self, segment: Segment) -> str:
        around = Segment.objects.filter(
            session_id=segment.session_id, sequence__gte=segment.sequence - 3, sequence__lte=segment.sequence + 3
        ).select_related("session")
        speakers = Speakers.for_session(segment.session_id)
        return segment_lines_html(around.order_by("sequence"), current=segment, speakers=speakers)

    @admin.display(description=gettext_lazy("Corrections"))
    def correction_history(self, segment: Segment) -> str:
        corrections = segment.corrections.select_related("editor").order_by("corrected_at", "pk")
        if not corrections:
            return _("None.")
        return format_html_join(
            "",
            "<p>{}: “{}” → “{}”</p>",
            (
                (
                    _("%(when)s by %(editor)s")
                    % {"when": date_format(localtime(c.corrected_at), "DATETIME_FORMAT"), "editor": c.editor},
                    c.before,
                    c.after,
                )
                for c in corrections
            ),
        )

    def save_model(self, request, obj: Segment, form, change: bool) -> None:
        # The text goes through correct_segment so the before/after is always recorded.
        if correct_segment(obj.pk, request.user, form.cleaned_data["text"]):
            messages.info(request, _("Correction recorded; drafts made from now on use the corrected text."))

    def save_related(self, request, form, formsets, change: bool) -> None:
        pass


@admin.register(SegmentCorrection)
class SegmentCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["segment", "editor", "corrected_at", "before", "after"]
    list_filter = ["segment__event"]
    search_fields = ["before", "after"]
