"""The events app: the event itself, its people and their roles (the bottom layer)."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
