"""The readers' URLs: the index, event pages, permalinks, cursor JSON, feed, widget, API, pictures and clips."""

from django.urls import path, re_path

from readers import alert_views, views
from readers.feeds import EditionFeed, EventFeed

app_name = "events"

urlpatterns = [
    path("", views.event_index, name="index"),
    path("events/<slug:slug>/", views.event_detail, name="detail"),
    path("events/<slug:slug>/posts/<int:post_id>/", views.post_detail, name="post"),
    path("events/<slug:slug>/posts.json", views.posts_since, name="posts_since"),
    path("events/<slug:slug>/older.json", views.older_posts, name="older"),
    path("events/<slug:slug>/later.json", views.later_posts, name="later"),
    path("events/<slug:slug>/feed.atom", EventFeed(), name="feed"),
    path("events/<slug:slug>/feed/<str:lang>.atom", EditionFeed(), name="edition_feed"),
    path("events/<slug:slug>/embed/", views.event_embed, name="embed"),
    path("events/<slug:slug>/alerts/subscribe", alert_views.subscribe, name="alerts_subscribe"),
    path("events/<slug:slug>/alerts/unsubscribe", alert_views.unsubscribe, name="alerts_unsubscribe"),
    path("events/<slug:slug>/alerts/status", alert_views.status, name="alerts_status"),
    path("alerts/token", alert_views.token, name="alerts_token"),
    path("push-sw.js", alert_views.service_worker, name="push_sw"),
    path("static/events/widget.js", views.widget_script_moved),  # its address until issue 26
    path("api/events.json", views.api_events, name="api_events"),
    path("api/events/<slug:slug>.json", views.api_event, name="api_event"),
    re_path(
        r"^media/pictures/(?P<name>[0-9a-f]{32}-[0-9]{1,4}w\.(?:jpg|png|webp))$", views.picture_file, name="picture"
    ),
    re_path(r"^media/clips/(?P<name>[0-9a-f]{32}\.flac)$", views.clip_file, name="clip"),
]
