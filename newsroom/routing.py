"""The newsroom's WebSocket route: the studio."""

from django.urls import path

from newsroom.consumers import StudioConsumer

websocket_urlpatterns = [
    path("ws/studio/<slug:slug>/", StudioConsumer.as_asgi()),
]
