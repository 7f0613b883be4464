"""The newsroom app: what journalists and editors work in, over every layer below (studio, event admin)."""

from django.apps import AppConfig


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Newsroom"
