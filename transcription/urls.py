from django.urls import path

from transcription import views

app_name = "transcription"

urlpatterns = [
    path("<slug:slug>/", views.studio, name="studio"),
]
