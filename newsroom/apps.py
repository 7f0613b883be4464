"""The newsroom app: what journalists and editors work in, over every layer below (studio, event admin)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = _("Newsroom")
