import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from events.models import Event
from events.roles import EDITORS, JOURNALISTS


@pytest.fixture(autouse=True)
def _scaleout_needs_servers(request):
    # A scale-out test without its servers fails loudly; it never skips.
    if request.node.get_closest_marker("scaleout") and not (
        os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")
    ):
        pytest.fail("scale-out test needs REDIS_URL and DATABASE_URL: run scripts/test.sh")


@pytest.fixture
def journalist(django_user_model):
    user = django_user_model.objects.create_user("jo", password="jo-password-123")
    user.groups.add(Group.objects.get(name=JOURNALISTS))
    return user


@pytest.fixture
def other_journalist(django_user_model):
    user = django_user_model.objects.create_user("other", password="other-password-123")
    user.groups.add(Group.objects.get(name=JOURNALISTS))
    return user


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("ed", password="ed-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def reader(django_user_model):
    return django_user_model.objects.create_user("reader", password="reader-password-123")


@pytest.fixture
def event(journalist):
    event = Event.objects.create(
        title="Keynote",
        slug="keynote",
        status=Event.Status.LIVE,
        starts_at=timezone.now() - timedelta(minutes=10),
        glossary="Ada Lovelace\nLiveblog",
    )
    event.journalists.add(journalist)
    return event
