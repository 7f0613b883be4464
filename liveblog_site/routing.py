from events.routing import websocket_urlpatterns as reader_routes
from transcription.routing import websocket_urlpatterns as studio_routes

__all__ = ["reader_routes", "studio_routes"]
