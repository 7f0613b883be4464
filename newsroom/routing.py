"""The newsroom's WebSocket routes: the studio, and its follow of a livestream."""

from django.urls import path

from newsroom.consumers import StudioConsumer
from newsroom.follow.consumers import FollowConsumer

websocket_urlpatterns = [
    path("ws/studio/<slug:slug>/", StudioConsumer.as_asgi()),
    path("ws/studio/<slug:slug>/follow/", FollowConsumer.as_asgi()),
]
