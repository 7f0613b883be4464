"""The readers' WebSocket route: one socket per open page."""

from django.urls import path

from readers.consumers import ReaderConsumer

websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", ReaderConsumer.as_asgi()),
]
