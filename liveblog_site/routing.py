"""The WebSocket routes of the readers' pages and the newsroom, for liveblog_site.asgi."""

from newsroom.routing import websocket_urlpatterns as studio_routes
from readers.routing import websocket_urlpatterns as reader_routes

__all__ = ["reader_routes", "studio_routes"]
