"""System check: settings.DRAFTER names a drafter."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from publishing.drafters.base import drafter_class


@checks.register()
def drafter_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        drafter_class()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="publishing.E001")]
    return []
