"""Several journalists on one event (issue 14 point 6): simultaneous sessions' segments come out in the order
they were spoken, in batches, exports and source transcripts, and their speaker labels never collide; spoken
time follows each journalist's clock, within what the server can vouch for (issue 25 point 3)."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import srt
from asgiref.sync import sync_to_async
from django.urls import reverse

from publishing.brief import SpokenLine, build_brief
from publishing.models import Batch
from tests.support import factories
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription.models import Segment, StreamSession
from transcription.speakers import name_speaker
from transcription.spoken import MAX_MARKS, SpokenClock, captured_at

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
        SpokenLine("Speaker 0 (other)", "Room at ten.", by_number=True),
        SpokenLine("Jane Doe", "Hall at twenty."),
        SpokenLine("Speaker 0 (other)", "Room at twenty-five.", by_number=True),
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


# --- spoken time by the journalist's clock (issue 25 point 3) -------------------------------------------------

STARTED = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return STARTED + timedelta(seconds=seconds)


def test_without_capture_times_words_are_timed_by_the_session_start_plus_stream_time():
    clock = SpokenClock(STARTED)
    assert clock.at(2.0, now=at(60)) == at(2.0)
    assert clock.at(5.5, now=at(60)) == at(5.5)


def test_after_a_pause_words_are_timed_by_the_capture_time_of_the_audio_that_resumed():
    clock = SpokenClock(STARTED)
    assert clock.at(1.0, now=at(2)) == at(1.0)
    clock.mark(3.0, at(40.0), now=at(40.1))  # three seconds of audio, then a pause until 40 s
    assert clock.at(3.5, now=at(41)) == at(40.5)
    clock.mark(10.0, at(47.2), now=at(47.3))  # a mark every few seconds keeps the audio clock's drift out
    assert clock.at(12.0, now=at(50)) == at(49.2)


def test_a_clock_ahead_of_the_servers_brings_words_to_now_and_never_past_it():
    clock = SpokenClock(STARTED)
    clock.mark(0.0, at(3600), now=at(0.5))
    assert clock.at(0.0, now=at(1)) == at(0.5)
    assert clock.at(2.0, now=at(1.5)) == at(1.5), "the audio since the mark would run past now"


def test_a_clock_behind_never_puts_words_before_the_session_start_plus_stream_time():
    clock = SpokenClock(STARTED)
    clock.mark(4.0, datetime(1970, 1, 1, tzinfo=UTC), now=at(10))
    assert clock.at(5.0, now=at(10)) == at(5.0)


def test_a_clock_going_backwards_never_moves_words_back():
    clock = SpokenClock(STARTED, last=at(30))  # a resumed session's latest words were spoken at 30 s
    assert clock.at(1.0, now=at(31)) == at(30)
    clock.mark(2.0, at(40), now=at(41))
    assert clock.at(3.0, now=at(42)) == at(41)
    clock.mark(5.0, at(20), now=at(45))  # back to 20 s: held to the earlier mark plus the audio since
    assert clock.at(5.0, now=at(50)) == at(43)
    clock.mark(5.0, at(10), now=at(50))  # again, with no audio since: it cannot replace the mark with an earlier one
    assert clock.at(6.0, now=at(50)) == at(44)


def test_a_flood_of_marks_keeps_a_bounded_number():
    clock = SpokenClock(STARTED)
    for tenth in range(10 * MAX_MARKS):
        clock.mark(tenth / 10, at(tenth / 10), now=at(tenth / 10))
    assert len(clock.marks) == MAX_MARKS
    assert clock.at(10 * MAX_MARKS / 10, now=at(10_000)) == at(MAX_MARKS)


@pytest.mark.parametrize("sent", ["2026-05-04T14:00:00Z", True, None, float("nan"), float("inf"), 1e308, [1], {}])
def test_a_capture_time_that_is_no_time_is_ignored(sent):
    assert captured_at(sent) is None


def test_a_capture_time_is_unix_time_in_seconds():
    assert captured_at(STARTED.timestamp() + 0.25) == at(0.25)


def final_with(word: str):
    return lambda m: m["type"] == "transcript" and m["is_final"] and word in m["text"]


@sync_to_async
def session_segments(session_id: int) -> tuple[StreamSession, list[Segment]]:
    return StreamSession.objects.get(pk=session_id), list(Segment.objects.filter(session_id=session_id))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_words_after_a_pause_sort_after_a_colleagues_words_spoken_meanwhile(
    deepgram, event, journalist, other_journalist
):
    await sync_to_async(event.journalists.add)(other_journalist)
    hall, room = Studio(event.slug, journalist), Studio(event.slug, other_journalist)
    assert await hall.connect() and await room.connect()
    await hall.start(captured_at=time.time())
    await hall.audio(word_audio([1]) + silence(0.6))
    await hall.wait_for(final_with("word1"))
    await hall.send({"type": "pause"})
    await hall.wait_for(lambda m: m["type"] == "status" and m["state"] == "paused")
    await asyncio.sleep(2.0)  # the hall's speaker waits while the room's starts

    await room.start()  # a client that sends no capture time
    await room.audio(word_audio([2]) + silence(0.6))
    await room.wait_for(final_with("word2"))
    await hall.send({"type": "resume", "captured_at": time.time()})
    await hall.audio(word_audio([3]) + silence(0.6))
    await hall.wait_for(final_with("word3"))
    await hall.stop()
    await room.stop()
    await hall.disconnect()
    await room.disconnect()

    in_order = await sync_to_async(lambda: [s.text for s in Segment.objects.in_order()])()
    assert in_order == ["word1", "word2", "word3"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_hostile_capture_times_never_put_words_in_the_future_before_the_start_or_backwards(
    deepgram, event, journalist
):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start(captured_at=time.time() + 3600)  # an hour ahead
    await studio.audio(word_audio([1]) + silence(0.6))
    await studio.wait_for(final_with("word1"))
    for nonsense in ['"yesterday"', "true", "1e308", "NaN", "-Infinity", "[1]", '{"at": 1}', "null"]:
        await studio.send(f'{{"type": "clock", "captured_at": {nonsense}}}')
    await studio.send({"type": "clock", "captured_at": 0})  # 1970
    await studio.audio(word_audio([2]) + silence(0.6))
    await studio.wait_for(final_with("word2"))
    await studio.send({"type": "clock", "captured_at": time.time() - 3600})  # an hour back, before the session
    await studio.audio(word_audio([3]) + silence(0.6))
    await studio.wait_for(final_with("word3"))
    assert studio.close_code is None, "a bad capture time is ignored, the stream goes on"
    await studio.stop()
    await studio.disconnect()

    session, segments = await session_segments(ready["session"])
    assert [s.text for s in segments] == ["word1", "word2", "word3"]
    for segment in segments:
        assert session.started_at + timedelta(seconds=segment.start) <= segment.spoken_at <= segment.created_at
    assert all(a.spoken_at <= b.spoken_at for a, b in pairwise(segments))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_a_client_that_sends_no_capture_time_is_timed_by_stream_time(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([1, 2]) + silence(0.6), pace=1.0)
    await studio.wait_for(final_with("word2"))
    await studio.stop()
    await studio.disconnect()

    session, [segment] = await session_segments(ready["session"])
    assert segment.spoken_at == session.started_at + timedelta(seconds=segment.start)
