"""Transcript exports (plain text, SRT, WebVTT) and the published posts as Markdown."""

import html
import io
from datetime import timedelta

import pytest
import srt
import webvtt
from django.urls import reverse
from django.utils import timezone

from publishing.models import Post
from tests.support import factories
from transcription.models import StreamSession

pytestmark = pytest.mark.django_db

TRICKY = "A <b>bold</b> claim --> & more\n\nsaid on a second line"


@pytest.fixture
def sessions(event, journalist, other_journalist):
    event.journalists.add(other_journalist)
    first = factories.stream_session(event, journalist, audio_seconds=30)
    second = factories.stream_session(event, other_journalist)
    StreamSession.objects.filter(pk=second.pk).update(started_at=first.started_at + timedelta(seconds=60))
    second.refresh_from_db()
    rows = [
        (first, 0, "Good morning everyone.", 0.5, 2.25, 0),
        (first, 1, TRICKY, 3.0, 6.5, 1),
        (first, 2, "No speaker known here.", 7.0, 7.0, None),
        (second, 0, "Second room, first words.", 1.0, 4.0, 0),
    ]
    for session, sequence, text, start, end, speaker in rows:
        factories.segment(session, text, sequence=sequence, start=start, end=end, speaker=speaker)
    return first, second


def _get(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content.decode()


def test_the_event_srt_parses_with_speakers_and_one_time_axis(client, editor, event, sessions):
    body = _get(client, editor, reverse("transcripts:event_transcript", args=[event.slug, "srt"]))
    subs = list(srt.parse(body))
    # Two journalists' sessions: each one's speakers are labelled with who streamed them.
    assert [s.content for s in subs] == [
        "Speaker 0 (jo): Good morning everyone.",
        "Speaker 1 (jo): A <b>bold</b> claim --> & more said on a second line",
        "No speaker known here.",
        "Speaker 0 (other): Second room, first words.",
    ]
    assert subs[0].start == timedelta(seconds=0.5) and subs[0].end == timedelta(seconds=2.25)
    assert subs[2].end > subs[2].start  # a zero-length segment still gets a cue players show
    # The second session started 60 s after the first: its stream time is placed there.
    assert subs[3].start == timedelta(seconds=61)


def test_the_event_vtt_parses_with_voices_and_escaped_text(client, journalist, event, sessions):
    body = _get(client, journalist, reverse("transcripts:event_transcript", args=[event.slug, "vtt"]))
    assert body.startswith("WEBVTT")
    captions = webvtt.from_buffer(io.StringIO(body)).captions
    assert len(captions) == 4
    assert [c.voice for c in captions] == ["Speaker 0 (jo)", "Speaker 1 (jo)", None, "Speaker 0 (other)"]
    assert html.unescape(captions[1].text) == "A <b>bold</b> claim --> & more said on a second line"
    assert "<b>" not in captions[1].raw_text  # markup in speech is text, not a cue tag
    assert captions[3].start_in_seconds == 61


def test_a_session_exports_on_its_own_stream_time(client, editor, sessions):
    _first, second = sessions
    body = _get(client, editor, reverse("transcripts:session_transcript", args=[second.pk, "srt"]))
    subs = list(srt.parse(body))
    assert [(s.start, s.content) for s in subs] == [(timedelta(seconds=1), "Speaker 0: Second room, first words.")]
    vtt = _get(client, editor, reverse("transcripts:session_transcript", args=[second.pk, "vtt"]))
    assert webvtt.from_buffer(io.StringIO(vtt)).captions[0].start_in_seconds == 1


def test_sessions_that_overlap_in_time_interleave_in_the_export(client, editor, event, sessions):
    first, second = sessions
    StreamSession.objects.filter(pk=second.pk).update(started_at=first.started_at + timedelta(seconds=5))
    second.segments.update(spoken_at=first.started_at + timedelta(seconds=6))
    subs = list(srt.parse(_get(client, editor, reverse("transcripts:event_transcript", args=[event.slug, "srt"]))))
    # Spoken 6 s after the first session began: between the first session's segments at 3 s and 7 s.
    assert [s.start.total_seconds() for s in subs] == [0.5, 3.0, 6.0, 7.0]
    assert subs[2].content == "Speaker 0 (other): Second room, first words."


def test_the_plain_text_transcript_has_times_and_speakers(client, editor, event, sessions):
    body = _get(client, editor, reverse("transcripts:event_transcript", args=[event.slug, "txt"]))
    lines = body.splitlines()
    assert lines[0] == event.title
    assert "[00:00:00.500] Speaker 0 (jo): Good morning everyone." in lines
    assert "[00:00:07.000] No speaker known here." in lines
    assert "[00:01:01.000] Speaker 0 (other): Second room, first words." in lines


def test_an_unknown_format_is_a_clear_404(client, editor, event, sessions):
    client.force_login(editor)
    response = client.get(reverse("transcripts:event_transcript", args=[event.slug, "docx"]))
    assert response.status_code == 404


def test_published_posts_export_as_markdown_oldest_first(client, editor, event):
    now = timezone.now()
    Post.objects.create(
        event=event, headline="Opening", body="The keynote opens.", status="published", published_at=now
    )
    Post.objects.create(
        event=event, headline="", body="Earlier update.", status="published", published_at=now - timedelta(minutes=5)
    )
    Post.objects.create(event=event, headline="Secret draft", body="Not for readers.")
    body = _get(client, editor, reverse("transcripts:event_posts", args=[event.slug]))
    assert body.startswith(f"# {event.title}\n")
    assert body.index("Earlier update.") < body.index("## Opening") < body.index("The keynote opens.")
    assert "Secret draft" not in body and "Not for readers." not in body
