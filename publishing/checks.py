"""System checks: settings.DRAFTER names a drafter; settings.EMBED_PROVIDERS are well formed."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from publishing.drafters.base import drafter_class
from publishing.embed_providers import providers


@checks.register()
def drafter_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        drafter_class()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="publishing.E001")]
    return []


@checks.register()
def embed_providers_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """settings.EMBED_PROVIDERS: each provider complete, its patterns and origins well formed."""
    try:
        providers()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="publishing.E002")]
    return []
