"""URLs of the transcript exports and audio for an event's journalists and editors."""

from django.urls import path

from transcription import review_views

app_name = "transcripts"

urlpatterns = [
    path("segments/<int:pk>/audio.wav", review_views.segment_audio, name="segment_audio"),
    path("sessions/<int:pk>/audio.flac", review_views.session_audio, name="session_audio"),
    path("sessions/<int:pk>/transcript.<str:fmt>", review_views.session_transcript, name="session_transcript"),
    path("events/<slug:slug>/transcript.<str:fmt>", review_views.event_transcript, name="event_transcript"),
    path("events/<slug:slug>/posts.md", review_views.event_posts, name="event_posts"),
]
