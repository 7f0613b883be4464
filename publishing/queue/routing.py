"""The draft queue's WebSocket route, for liveblog_site.routing: staff only, behind the session lookup."""

from django.urls import path

from publishing.queue.consumers import QueueConsumer

websocket_urlpatterns = [
    path("ws/queue/<int:event_id>/", QueueConsumer.as_asgi()),
]
