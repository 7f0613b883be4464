"""Play the line, corrections, search and retention: what editors do with the archived audio."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from publishing.brief import labelled_transcript
from publishing.models import Batch
from tests.support import factories, framecoded
from tests.support.audio import wav_pcm
from tests.support.framecoded import RATE, frames_in, pcm
from transcription.archive import audio
from transcription.html import audio_player, transcript_html
from transcription.models import Segment, SegmentCorrection, StreamSession
from transcription.tasks import purge_expired_audio

# Audio is archived from worker threads, which see only committed rows; the roles (groups) come from
# a data migration, so they are restored after each flush.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]


@pytest.fixture
def session(event, journalist) -> StreamSession:
    session = factories.stream_session(event, journalist, audio_seconds=20)
    framecoded.archive_audio(session.pk, pcm(0, 200))
    session.refresh_from_db()
    return session


@pytest.fixture
def segment(session) -> Segment:
    return factories.segment(session, "We ratify the treaty today.", start=7.3, end=12.1)


@pytest.fixture
def staff_viewer(django_user_model):
    # Staff who may look at transcripts in admin but is no editor.
    user = django_user_model.objects.create_user("staff", password="staff-password-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    return user


def test_a_segments_play_control_plays_exactly_its_stretch(client, editor, segment):
    client.force_login(editor)
    response = client.get(reverse("transcripts:segment_audio", args=[segment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert "no-store" in response["Cache-Control"]
    assert frames_in(wav_pcm(b"".join(response.streaming_content))) == list(range(73, 121))


def test_segment_audio_answers_range_requests(client, editor, segment):
    client.force_login(editor)
    url = reverse("transcripts:segment_audio", args=[segment.pk])
    whole = b"".join(client.get(url).streaming_content)
    first = client.get(url, HTTP_RANGE="bytes=0-999")
    middle = client.get(url, HTTP_RANGE="bytes=41-1000")  # across the header, from an odd byte
    rest = client.get(url, HTTP_RANGE="bytes=1000-")
    assert (first.status_code, rest.status_code) == (206, 206)
    assert first["Content-Range"] == f"bytes 0-999/{len(whole)}"
    assert first["Content-Length"] == "1000"
    assert b"".join(middle.streaming_content) == whole[41:1001]
    assert b"".join(first.streaming_content) + b"".join(rest.streaming_content) == whole
    assert b"".join(client.get(url, HTTP_RANGE="bytes=-7").streaming_content) == whole[-7:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416


def test_the_whole_session_downloads_as_one_flac(client, journalist, session):
    import soundfile

    client.force_login(journalist)
    response = client.get(reverse("transcripts:session_audio", args=[session.pk]))
    assert response.status_code == 200
    samples, rate = soundfile.read(io.BytesIO(b"".join(response.streaming_content)), dtype="int16")
    assert rate == RATE
    assert frames_in(samples.tobytes()) == list(range(200))


def _private_urls(session, segment) -> list[str]:
    slug = session.event.slug
    return [
        reverse("transcripts:segment_audio", args=[segment.pk]),
        reverse("transcripts:session_audio", args=[session.pk]),
        *(reverse("transcripts:session_transcript", args=[session.pk, f]) for f in ("txt", "srt", "vtt")),
        *(reverse("transcripts:event_transcript", args=[slug, f]) for f in ("txt", "srt", "vtt")),
        reverse("transcripts:event_posts", args=[slug]),
    ]


@pytest.mark.parametrize("who", ["anonymous", "reader", "other_journalist", "staff_viewer"])
def test_audio_and_exports_are_refused_to_all_but_the_events_journalists_and_editors(
    client, request, session, segment, who
):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    for url in _private_urls(session, segment):
        assert client.get(url).status_code in (403, 404), url
    chunk = audio.list_chunks(session.pk)[0].name
    assert client.get(f"/media/{chunk}").status_code == 404  # the files themselves are never served


@pytest.mark.parametrize("who", ["journalist", "editor"])
def test_the_events_journalists_and_editors_get_audio_and_exports(client, request, session, segment, who):
    client.force_login(request.getfixturevalue(who))
    for url in _private_urls(session, segment):
        assert client.get(url).status_code == 200, url


def test_an_editor_corrects_a_segment_and_later_drafts_use_the_correction(client, editor, segment):
    client.force_login(editor)
    url = reverse("admin:transcription_segment_change", args=[segment.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert reverse("transcripts:segment_audio", args=[segment.pk]) in page.content.decode()
    response = client.post(url, {"text": "We ratified the treaty today."})
    assert response.status_code == 302

    segment.refresh_from_db()
    assert segment.text == "We ratified the treaty today."
    correction = SegmentCorrection.objects.get(segment=segment)
    assert (correction.editor, correction.before, correction.after) == (
        editor,
        "We ratify the treaty today.",
        "We ratified the treaty today.",
    )
    assert timezone.now() - correction.corrected_at < timedelta(minutes=5)
    # The original stays on record, shown beside the corrected text.
    assert "We ratify the treaty today." in client.get(url).content.decode()

    batch = Batch.objects.create(event=segment.event)
    Segment.objects.filter(pk=segment.pk).update(batch=batch)
    assert batch.transcript() == "We ratified the treaty today."
    assert "We ratified the treaty today." in labelled_transcript(batch)


def test_a_correction_cannot_empty_a_segment_or_change_anything_but_its_text(client, editor, segment):
    client.force_login(editor)
    url = reverse("admin:transcription_segment_change", args=[segment.pk])
    response = client.post(url, {"text": "   "})
    assert response.status_code == 200  # the form comes back with its error
    client.post(url, {"text": "Corrected.", "start": "0", "end": "99", "sequence": "5"})
    segment.refresh_from_db()
    assert (segment.text, segment.start, segment.end, segment.sequence) == ("Corrected.", 7.3, 12.1, 0)
    assert SegmentCorrection.objects.count() == 1


def test_only_editors_may_correct(client, staff_viewer, segment):
    client.force_login(staff_viewer)
    url = reverse("admin:transcription_segment_change", args=[segment.pk])
    assert client.get(url).status_code == 200  # may look
    client.post(url, {"text": "Something else."})
    segment.refresh_from_db()
    assert segment.text == "We ratify the treaty today."
    assert not SegmentCorrection.objects.exists()


def test_search_finds_segments_across_events_and_jumps_to_their_audio(client, editor, segment, other_journalist):
    from events.models import Event

    other = Event.objects.create(title="Budget", slug="budget", starts_at=timezone.now())
    other_session = factories.stream_session(other, other_journalist)
    factories.segment(other_session, "The TREATY was signed.", start=0, end=2)
    factories.segment(segment.session, "Unrelated.", sequence=1, start=13, end=14)
    client.force_login(editor)
    changelist = reverse("admin:transcription_segment_changelist")

    everywhere = client.get(changelist, {"q": "treaty"}).content.decode()
    assert "We ratify the treaty today." in everywhere and "The TREATY was signed." in everywhere
    assert "Unrelated." not in everywhere
    assert reverse("transcripts:segment_audio", args=[segment.pk]) in everywhere
    assert reverse("admin:transcription_segment_change", args=[segment.pk]) in everywhere

    one_event = client.get(changelist, {"q": "treaty", "event__id__exact": other.pk}).content.decode()
    assert "The TREATY was signed." in one_event and "We ratify" not in one_event
    assert "We ratify" in client.get(changelist, {"q": "today ratify"}).content.decode()  # every word, any order
    assert reverse("transcripts:event_transcript", args=[other.slug, "srt"]) in one_event  # export what you see


def test_a_drafts_source_transcript_plays_each_line(segment):
    batch = Batch.objects.create(event=segment.event)
    Segment.objects.filter(pk=segment.pk).update(batch=batch)
    html = transcript_html(batch)
    assert f'src="{reverse("transcripts:segment_audio", args=[segment.pk])}"' in html
    assert "We ratify the treaty today." in html


def test_purge_removes_audio_past_the_events_retention_and_keeps_the_rest(client, editor, segment, session, event):
    call_command("purge_audio")
    assert audio.list_chunks(session.pk)  # still live: kept

    StreamSession.objects.filter(pk=session.pk).update(
        status=StreamSession.Status.ENDED,
        started_at=timezone.now() - timedelta(days=3, hours=1),
        ended_at=timezone.now() - timedelta(days=3),
    )
    event.audio_retention_days = 7
    event.save()
    call_command("purge_audio")
    assert audio.list_chunks(session.pk)  # within retention: kept

    event.audio_retention_days = 2
    event.save()
    call_command("purge_audio", "--dry-run")
    assert audio.list_chunks(session.pk)
    assert purge_expired_audio() == 1  # the beat task and the command share one purge
    assert audio.list_chunks(session.pk) == []
    session.refresh_from_db()
    assert not session.audio_file
    assert Segment.objects.filter(pk=segment.pk).exists()  # the transcript stays
    client.force_login(editor)
    assert client.get(reverse("transcripts:segment_audio", args=[segment.pk])).status_code == 404
    assert "no audio" in audio_player(Segment.objects.select_related("session").get(pk=segment.pk))


def test_the_session_admin_links_its_audio_and_exports(client, editor, session):
    client.force_login(editor)
    page = client.get(reverse("admin:transcription_streamsession_change", args=[session.pk])).content.decode()
    assert reverse("transcripts:session_audio", args=[session.pk]) in page
    assert reverse("transcripts:session_transcript", args=[session.pk, "vtt"]) in page
    assert reverse("transcripts:event_posts", args=[session.event.slug]) in page
