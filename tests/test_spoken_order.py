"""Several journalists on one event (issue 14 point 6): simultaneous sessions' segments come out in the order
they were spoken, in batches, exports and source transcripts, and their speaker labels never collide."""

from datetime import timedelta

import pytest
import srt
from django.urls import reverse

from publishing.brief import SpokenLine, build_brief
from publishing.models import Batch
from tests import factories
from transcription.models import Segment, StreamSession
from transcription.speakers import name_speaker

pytestmark = pytest.mark.django_db


@pytest.fixture
def interleaved(event, journalist, other_journalist):
    """Two journalists streaming the same talk from two rooms, the second starting 10 s after the first."""
    event.journalists.add(other_journalist)
    hall = factories.stream_session(event, journalist)
    room = factories.stream_session(event, other_journalist)
    StreamSession.objects.filter(pk=room.pk).update(started_at=hall.started_at + timedelta(seconds=10))
    room.refresh_from_db()
    for session, sequence, text, start in [
        (hall, 0, "Hall at zero.", 0.0),  # spoken at +0 s
        (hall, 1, "Hall at twenty.", 20.0),  # +20 s
        (room, 0, "Room at ten.", 0.0),  # +10 s
        (room, 1, "Room at twenty-five.", 15.0),  # +25 s
        (hall, 2, "Hall at thirty.", 30.0),  # +30 s
    ]:
        factories.segment(session, text, sequence=sequence, start=start, end=start + 2.0, speaker=0)
    return hall, room


SPOKEN = ["Hall at zero.", "Room at ten.", "Hall at twenty.", "Room at twenty-five.", "Hall at thirty."]


def test_segments_are_in_spoken_order_across_sessions(interleaved):
    assert [s.text for s in Segment.objects.in_order()] == SPOKEN


def test_the_event_export_interleaves_sessions_by_wall_clock_time(client, editor, event, interleaved):
    client.force_login(editor)
    response = client.get(reverse("transcripts:event_transcript", args=[event.slug, "srt"]))
    subs = list(srt.parse(response.content.decode()))
    assert [s.content for s in subs] == [
        "Speaker 0 (jo): Hall at zero.",
        "Speaker 0 (other): Room at ten.",
        "Speaker 0 (jo): Hall at twenty.",
        "Speaker 0 (other): Room at twenty-five.",
        "Speaker 0 (jo): Hall at thirty.",
    ]
    assert [s.start.total_seconds() for s in subs] == [0, 10, 20, 25, 30]


def test_a_batch_brief_interleaves_sessions_and_keeps_their_speakers_apart(event, interleaved):
    hall, _room = interleaved
    name_speaker(hall.pk, 0, "Jane Doe")
    brief = build_brief(Batch.objects.claim_segments(event.pk))
    assert brief.lines == [
        SpokenLine("Jane Doe", "Hall at zero."),
        SpokenLine("Speaker 0 (other)", "Room at ten."),
        SpokenLine("Jane Doe", "Hall at twenty."),
        SpokenLine("Speaker 0 (other)", "Room at twenty-five."),
        SpokenLine("Jane Doe", "Hall at thirty."),
    ]
    assert brief.transcript.splitlines()[:2] == ["Jane Doe: Hall at zero.", "Speaker 0 (other): Room at ten."]


def test_two_sessions_of_one_journalist_are_told_apart_by_session(event, journalist):
    first = factories.stream_session(event, journalist, status=StreamSession.Status.ENDED)
    second = factories.stream_session(event, journalist)
    factories.segment(first, "Before the break.", speaker=0)
    factories.segment(second, "After the break.", start=5.0, end=6.0, speaker=0)
    brief = build_brief(Batch.objects.claim_segments(event.pk))
    assert [line.speaker for line in brief.lines] == [
        f"Speaker 0 (jo, session {first.pk})",
        f"Speaker 0 (jo, session {second.pk})",
    ]
