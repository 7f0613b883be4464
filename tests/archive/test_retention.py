"""Audio retention that always runs: sessions left open, deleted events and sessions, bounded retention,
and thousands of events on SQLite."""

import os
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from events.models import Event
from tests.support import factories, framecoded
from tests.support.framecoded import pcm
from transcription.archive import audio
from transcription.models import StreamSession
from transcription.tasks import purge_expired_audio

# Deleted sessions' audio goes when the deletion commits: the tests commit.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]


def with_audio(event, journalist, **fields) -> StreamSession:
    session = factories.stream_session(event, journalist)
    framecoded.archive_audio(session.pk, pcm(0, 60))
    StreamSession.objects.filter(pk=session.pk).update(**fields)
    return session


def another_event(journalist) -> Event:
    return factories.live_event(journalist, title="Marathon", slug="marathon")


def saved_days_ago(session: StreamSession, days: float) -> None:
    """Date the session's archived files as if saved `days` ago."""
    when = (timezone.now() - timedelta(days=days)).timestamp()
    for chunk in audio.list_chunks(session.pk):
        os.utime(audio.storage().path(chunk.name), (when, when))


def test_sessions_left_open_by_a_crash_or_a_dropped_socket_are_purged(event, journalist, other_journalist):
    event.audio_retention_days = 2
    event.save()
    long_ago = timezone.now() - timedelta(days=10)
    # Both were streaming ten days ago when their Daphne died: never ended, one with no progress saved.
    crashed = with_audio(event, journalist, status=StreamSession.Status.LIVE, started_at=long_ago)
    dropped = with_audio(event, other_journalist, status=StreamSession.Status.PAUSED, started_at=long_ago)
    StreamSession.objects.filter(pk=dropped.pk).update(audio_seconds=6.0)
    saved_days_ago(crashed, 10)
    saved_days_ago(dropped, 3)
    # Begun ten days ago and still streaming: its latest audio was saved just now.
    streaming = with_audio(another_event(journalist), journalist, status=StreamSession.Status.LIVE, started_at=long_ago)

    assert purge_expired_audio() == 2
    assert audio.list_chunks(crashed.pk) == [] and audio.list_chunks(dropped.pk) == []
    assert len(audio.list_chunks(streaming.pk)) == 2
    assert not os.path.exists(audio.storage().path(audio.archive_dir(crashed.pk)))  # no empty folder left
    assert StreamSession.objects.filter(pk=crashed.pk).values_list("audio_file", flat=True).get() == ""


def test_deleting_an_event_or_a_session_deletes_its_audio(event, journalist, other_journalist):
    one = with_audio(event, journalist)
    two = with_audio(event, other_journalist, status=StreamSession.Status.ENDED)
    other = with_audio(another_event(journalist), journalist)

    with pytest.raises(RuntimeError), transaction.atomic():
        StreamSession.objects.get(pk=one.pk).delete()
        raise RuntimeError("rolled back")
    assert audio.list_chunks(one.pk), "a rolled-back deletion keeps the audio"

    StreamSession.objects.get(pk=one.pk).delete()
    assert audio.list_chunks(one.pk) == []
    assert audio.list_chunks(two.pk)

    Event.objects.get(pk=event.pk).delete()
    assert audio.list_chunks(two.pk) == []
    assert audio.archived_session_ids() == [other.pk]


def test_the_purge_sweeps_audio_whose_session_is_gone(event, journalist, capsys):
    kept = with_audio(event, journalist)
    # Left by a deletion that bypassed the signal (raw SQL, a restore, a crash before the commit hook).
    framecoded.archive_audio(987654, pcm(0, 60))
    audio.storage().save(f"{audio.archive_dir(987655)}/000000000000-16000.flac", ContentFile(b"torn"))

    call_command("purge_audio", "--dry-run")
    assert "would purge deleted session 987654: 2 files" in capsys.readouterr().out
    assert audio.archived_session_ids() == [kept.pk, 987654, 987655]

    call_command("purge_audio", "--event", event.slug)  # one event only: others' orphans wait for a full run
    assert audio.archived_session_ids() == [kept.pk, 987654, 987655]

    call_command("purge_audio")
    assert "Purged the audio of 2 sessions (3 files)." in capsys.readouterr().out
    assert audio.archived_session_ids() == [kept.pk]
    assert len(audio.list_chunks(kept.pk)) == 2


@pytest.mark.portable
def test_audio_retention_days_is_bounded_by_validation_and_by_the_database(event):
    for days in (1, 3650):
        event.audio_retention_days = days
        event.full_clean()
    for days in (0, 3651):
        event.audio_retention_days = days
        with pytest.raises(ValidationError) as refused:
            event.full_clean()
        assert "audio_retention_days" in refused.value.message_dict
        with pytest.raises(IntegrityError), transaction.atomic():
            Event.objects.filter(pk=event.pk).update(audio_retention_days=days)


@pytest.mark.slow
def test_the_purge_runs_over_5000_events_on_sqlite(journalist):
    assert connection.vendor == "sqlite"
    now = timezone.now()
    events = Event.objects.bulk_create(
        Event(title=f"Talk {i}", slug=f"talk-{i}", starts_at=now, audio_retention_days=1 + i % 30) for i in range(5000)
    )
    # Every event's one session ended fifteen and a half days ago: past retention where it is 15 days or less.
    sessions = StreamSession.objects.bulk_create(
        StreamSession(
            event=e,
            journalist=journalist,
            provider="offline",
            status=StreamSession.Status.ENDED,
            audio_seconds=5.0,
        )
        for e in events
    )
    StreamSession.objects.update(started_at=now - timedelta(days=16), ended_at=now - timedelta(days=15, hours=12))
    with_files = sessions[::4]  # more than one batch of the purge's queries
    for session in with_files:
        audio.storage().save(f"{audio.archive_dir(session.pk)}/000000000000-80000.flac", ContentFile(b"fLaC"))

    assert purge_expired_audio() == sum(1 for s in with_files if s.event.audio_retention_days <= 15)
    assert audio.archived_session_ids() == [s.pk for s in with_files if s.event.audio_retention_days > 15]
