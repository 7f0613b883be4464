"""URLs of the transcript exports and audio for an event's journalists and editors."""

from django.urls import path

from transcription.review import views

app_name = "transcripts"

urlpatterns = [
    path("segments/<int:pk>/audio.wav", views.segment_audio, name="segment_audio"),
    path("sessions/<int:pk>/audio.flac", views.session_audio, name="session_audio"),
    path("sessions/<int:pk>/stretch.wav", views.stretch_audio, name="stretch_audio"),
    path("sessions/<int:pk>/transcript.<str:fmt>", views.session_transcript, name="session_transcript"),
    path("events/<slug:slug>/transcript.<str:fmt>", views.event_transcript, name="event_transcript"),
    path("events/<slug:slug>/posts.md", views.event_posts, name="event_posts"),
]
