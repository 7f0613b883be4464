"""Transcript search on PostgreSQL: stemmed full-text matches as well as plain substrings."""

import pytest
from django.db import connection
from django.urls import reverse

from tests.support import factories
from transcription.models import Segment
from transcription.search import search_segments

pytestmark = [pytest.mark.scaleout, pytest.mark.django_db]


@pytest.fixture
def segments(event, journalist):
    session = factories.stream_session(event, journalist)
    texts = ["The senate will ratify the treaty.", "Lovelace2026 is the codename.", "Nothing to see."]
    return [factories.segment(session, t, sequence=i, start=i, end=i + 1) for i, t in enumerate(texts)]


def test_search_uses_postgres_full_text_with_stemming(segments):
    assert connection.vendor == "postgresql"
    found = list(search_segments(Segment.objects.all(), "ratified treaties"))
    assert found == [segments[0]]  # no substring matches: only stemming finds it


def test_search_still_finds_substrings_of_names(client, editor, segments):
    assert list(search_segments(Segment.objects.all(), "lovelace")) == [segments[1]]
    client.force_login(editor)
    page = client.get(reverse("admin:transcription_segment_changelist"), {"q": "ratified"}).content.decode()
    assert "The senate will ratify the treaty." in page and "Nothing to see." not in page
