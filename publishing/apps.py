"""The publishing app: segments into batches, batches into drafts, drafts into posts."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from events.signals import event_ended, event_went_live
from transcription.signals import audio_purged, stream_ended, stream_failed


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from events.models import Event
        from publishing import checks  # noqa: F401  (registers the drafter's check)
        from publishing.alerts import alert_stream_failed
        from publishing.batching import event_ended_receiver, stream_ended_receiver
        from publishing.clips import (
            audio_purged_receiver,
            clip_deleted_receiver,
            event_switch_receiver,
            post_clips_receiver,
        )
        from publishing.embeds import embed_deleted_receiver
        from publishing.models import Embed, Picture, Post, QuoteClip, ended_action_receiver, went_live_action_receiver
        from publishing.pictures import picture_deleted_receiver
        from publishing.queue.live import post_saved_receiver, summary_changed_receiver
        from publishing.signals import summary_changed, translation_changed

        # What the last beat did not take becomes the final batch, once the event or a stream ends.
        event_ended.connect(event_ended_receiver, dispatch_uid="publishing-flush-at-event-end")
        stream_ended.connect(stream_ended_receiver, dispatch_uid="publishing-flush-at-stream-end")
        stream_failed.connect(alert_stream_failed, dispatch_uid="publishing-alert-stream-failed")
        # The event's start and end go into its history of who did what (PostAction).
        event_went_live.connect(went_live_action_receiver, dispatch_uid="publishing-history-event-live")
        event_ended.connect(ended_action_receiver, dispatch_uid="publishing-history-event-ended")
        # Open draft queues look again when a post of their event changes (publishing.queue.live).
        post_save.connect(post_saved_receiver, sender=Post, dispatch_uid="publishing-queue-post-saved")
        summary_changed.connect(summary_changed_receiver, dispatch_uid="publishing-queue-summary-changed")
        translation_changed.connect(summary_changed_receiver, dispatch_uid="publishing-queue-translation-changed")
        post_delete.connect(picture_deleted_receiver, sender=Picture, dispatch_uid="publishing-picture-files-deleted")
        post_delete.connect(embed_deleted_receiver, sender=Embed, dispatch_uid="publishing-embed-thumbnail-deleted")
        # Readers hear the quote: public clips follow the post, the event's switch and the audio's retention.
        post_save.connect(post_clips_receiver, sender=Post, dispatch_uid="publishing-clips-follow-post")
        post_save.connect(event_switch_receiver, sender=Event, dispatch_uid="publishing-clips-follow-event")
        audio_purged.connect(audio_purged_receiver, dispatch_uid="publishing-clips-audio-purged")
        post_delete.connect(clip_deleted_receiver, sender=QuoteClip, dispatch_uid="publishing-clip-files-deleted")
