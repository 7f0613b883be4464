from events.routing import websocket_urlpatterns as event_routes
from transcription.routing import websocket_urlpatterns as studio_routes

websocket_urlpatterns = [*studio_routes, *event_routes]
