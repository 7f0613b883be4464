"""The newsroom's WebSocket routes: the studio and the editors' live draft queue."""

from django.urls import path

from newsroom.consumers import StudioConsumer
from newsroom.queue_socket import QueueConsumer

websocket_urlpatterns = [
    path("ws/studio/<slug:slug>/", StudioConsumer.as_asgi()),
    path("ws/queue/<int:event_id>/", QueueConsumer.as_asgi()),
]
