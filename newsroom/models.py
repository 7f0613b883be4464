"""What a member of the newsroom chooses for themselves: the language of the newsroom's pages."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def site_languages() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)


class Preferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences", verbose_name=_("user")
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=site_languages,
        help_text=_("The language of the studio, the draft queue and admin. Empty: the browser's language."),
    )

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return str(self.user)
