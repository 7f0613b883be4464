from django.conf import settings


def site(request):
    return {"PUBLISHER_NAME": settings.PUBLISHER_NAME}
