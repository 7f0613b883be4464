"""What every template may read about the site."""

from django.conf import settings


def site(request):
    return {"PUBLISHER_NAME": settings.PUBLISHER_NAME}
