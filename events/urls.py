from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.event_index, name="index"),
    path("events/<slug:slug>/", views.event_detail, name="detail"),
    path("events/<slug:slug>/posts/<int:post_id>/", views.post_detail, name="post"),
]
