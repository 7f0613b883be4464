"""The WebSocket routes of the readers' pages, the newsroom and the draft queue, for liveblog_site.asgi."""

from newsroom.routing import websocket_urlpatterns as studio_routes
from publishing.queue.routing import websocket_urlpatterns as queue_routes
from readers.routing import websocket_urlpatterns as reader_routes

# Signed-in staff's sockets, behind the session and user lookup: the studio and the draft queue.
staff_routes = [*studio_routes, *queue_routes]

__all__ = ["reader_routes", "staff_routes"]
