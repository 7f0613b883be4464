"""The studio socket against the Deepgram emulator: happy path, pause/resume, stop, reconnects."""

import asyncio
from itertools import pairwise

import pytest
from asgiref.sync import sync_to_async

from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription.models import Segment, StreamSession

# Each test gets its own audio archive folder: session ids restart, and a resume reads what is archived.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles", "media")]


def spoken(ids: list[int], per_utterance: int = 3) -> bytes:
    audio = b""
    for at in range(0, len(ids), per_utterance):
        audio += word_audio(ids[at : at + per_utterance]) + silence(0.5)
    return audio


def words_of(texts) -> list[str]:
    return " ".join(texts).split()


@sync_to_async
def stored(session_id: int) -> list[Segment]:
    return list(Segment.objects.filter(session_id=session_id).order_by("sequence"))


@sync_to_async
def session_row(session_id: int) -> StreamSession:
    return StreamSession.objects.get(pk=session_id)


async def test_it_stores_each_final_as_a_segment_and_stops_cleanly(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    assert ready["type"] == "ready" and ready["provider"] == "deepgram" and ready["resumed"] is False
    await studio.audio(spoken(list(range(9))))
    await studio.wait_for(lambda m: m["type"] == "transcript" and "word8" in m["text"] and m["is_final"])
    stopped = await studio.stop()

    assert stopped == {"type": "stopped", "session": ready["session"]}
    assert studio.close_code == 1000
    segments = await stored(ready["session"])
    assert words_of(s.text for s in segments) == [f"word{i}" for i in range(9)]
    assert [s.sequence for s in segments] == list(range(len(segments)))
    assert [f["segment"] for f in studio.finals()] == [s.pk for s in segments]
    assert any(m["type"] == "transcript" and not m["is_final"] for m in studio.messages), "interim results shown"
    assert segments[0].start == 0.0 and all(a.end <= b.start for a, b in pairwise(segments))
    session = await session_row(ready["session"])
    assert session.status == StreamSession.Status.ENDED and session.ended_at is not None
    assert session.audio_seconds == pytest.approx(len(spoken(list(range(9)))) / 32000)
    assert session.request_ids and session.request_ids[0] == deepgram.connections[0].request_id
    assert deepgram.connections[0].keyterms == ["Ada Lovelace", "Liveblog"]
    assert deepgram.connections[0].closed_by_client, "CloseStream sent on stop"
    await studio.disconnect()


async def test_pause_finalizes_what_was_said_and_resume_continues(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([1, 2]))  # no pause after it: only Finalize can end this utterance
    await studio.send({"type": "pause"})
    final = await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"])
    assert final["text"] == "word1 word2"
    paused = await studio.wait_for(lambda m: m["type"] == "status" and m["state"] == "paused")
    assert paused["provider"] == "deepgram"
    assert (await session_row(ready["session"])).status == StreamSession.Status.PAUSED
    await studio.send({"type": "resume"})
    await studio.wait_for(lambda m: m["type"] == "status" and m["state"] == "live")
    await studio.audio(spoken([3, 4]))
    await studio.stop()
    assert words_of(s.text for s in await stored(ready["session"])) == ["word1", "word2", "word3", "word4"]
    assert deepgram.connections[0].finalize_count == 1
    await studio.disconnect()


async def test_stop_keeps_the_last_words(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([5, 6, 7]))  # still speaking when the journalist presses Stop
    await studio.stop()
    assert words_of(s.text for s in await stored(ready["session"])) == ["word5", "word6", "word7"]
    await studio.disconnect()


@pytest.mark.slow
async def test_upstream_dropped_every_few_seconds_loses_no_final(deepgram, event, journalist):
    deepgram.script.drop_every = 3.0  # seconds of audio per upstream connection
    ids = list(range(36))
    audio = spoken(ids)  # about 20 s of speech
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(audio, pace=1.4)
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word35" in m["text"], timeout=40)
    assert studio.close_code is None, "the journalist's socket stayed open"
    await studio.stop()

    segments = await stored(ready["session"])
    assert words_of(s.text for s in segments) == [f"word{i}" for i in ids], "every word once, in order"
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and all(a.end <= b.start for a, b in pairwise(segments))
    # Stream time survives reconnects: word k of utterance u starts where the audio put it.
    first_of_last = segments[-1].words[0]
    assert first_of_last["start"] == pytest.approx(11 * (3 * 0.4 + 0.5), abs=0.05)
    session = await session_row(ready["session"])
    assert len(deepgram.connections) >= 6 and session.reconnects == len(deepgram.connections) - 1
    assert len(session.request_ids) == len(deepgram.connections)
    assert any(m["type"] == "status" and m["upstream"] == "reconnecting" for m in studio.messages)
    await studio.disconnect()


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_a_refused_handshake_is_retried_with_backoff(deepgram, event, journalist):
    deepgram.script.refuse.extend([429, 503])
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(spoken([1, 2, 3]))
    await studio.stop()
    assert words_of(s.text for s in await stored(ready["session"])) == ["word1", "word2", "word3"]
    assert deepgram.refused == 2
    await studio.disconnect()


async def test_a_bad_api_key_is_shown_in_plain_words(deepgram, settings, event, journalist):
    settings.DEEPGRAM_API_KEY = "wrong-key"
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.start()
    error = await studio.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == "upstream_refused" and "API key was refused" in error["message"]
    assert await studio.wait_closed() == 4401
    await studio.disconnect()


async def test_studio_reconnect_resumes_the_same_session_in_stream_time(deepgram, event, journalist):
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    await first.audio(spoken([1, 2, 3]))
    await first.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word3" in m["text"])
    await first.disconnect()  # the laptop's Wi-Fi drops

    second = Studio(event.slug, journalist)
    assert await second.connect()
    received = len(spoken([1, 2, 3])) / 32000
    # The page sent 0.3 s more that never arrived (lost in flight): it stays a gap in stream time.
    resumed = await second.start(
        session=ready["session"], dropped_seconds=0.5, stream_time=received + 0.3, last_sequence=-1
    )
    replayed = await second.wait_for(lambda m: m["type"] == "transcript")
    assert replayed["is_final"] and replayed["sequence"] == 0 and replayed["text"] == "word1 word2 word3"
    assert resumed["session"] == ready["session"] and resumed["resumed"] is True
    assert resumed["stream_time"] == pytest.approx(received + 0.3)
    await second.audio(spoken([4, 5]))
    await second.stop()
    segments = await stored(ready["session"])
    assert words_of(s.text for s in segments) == [f"word{i}" for i in range(1, 6)]
    assert segments[-1].words[0]["start"] == pytest.approx(received + 0.3, abs=0.02)
    session = await session_row(ready["session"])
    assert session.reconnects == 1 and session.dropped_audio_seconds == pytest.approx(0.5)
    assert session.audio_seconds == pytest.approx(received + 0.3 + len(spoken([4, 5])) / 32000)
    assert session.status == StreamSession.Status.ENDED
    await second.disconnect()


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_keepalive_holds_a_paused_upstream_open(deepgram, event, journalist):
    deepgram.script.idle_timeout = 5.0  # Deepgram closes after ~10 s without input; KeepAlive goes every 4 s
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(spoken([1]))
    await studio.send({"type": "pause"})
    await asyncio.sleep(7)
    await studio.send({"type": "resume"})
    await studio.audio(spoken([2]))
    await studio.stop()
    assert words_of(s.text for s in await stored(ready["session"])) == ["word1", "word2"]
    assert len(deepgram.connections) == 1 and deepgram.connections[0].keepalives >= 1
    await studio.disconnect()


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_an_idle_timeout_close_is_reconnected(deepgram, event, journalist):
    deepgram.script.drop_every, deepgram.script.drop_code = 2.5, 1011
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(spoken([1, 2, 3, 4, 5, 6]))
    await studio.stop()
    assert words_of(s.text for s in await stored(ready["session"])) == [f"word{i}" for i in range(1, 7)]
    assert len(deepgram.connections) >= 2
    await studio.disconnect()


async def test_undecodable_audio_upstream_is_fatal_and_keeps_what_was_stored(deepgram, event, journalist):
    deepgram.script.drop_every, deepgram.script.drop_code = 2.0, 1008
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(spoken([1, 2, 3]) + spoken([4, 5, 6]))
    error = await studio.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == "upstream_failed" and "could not decode" in error["message"]
    assert await studio.wait_closed() == 4502
    session = await session_row(ready["session"])
    for _ in range(100):  # the socket closes first; the relay then winds down
        if session.status != StreamSession.Status.LIVE:
            break
        await asyncio.sleep(0.1)
        session = await session_row(ready["session"])
    assert session.status == StreamSession.Status.FAILED and "decode" in session.last_error
    assert words_of(s.text for s in await stored(ready["session"])) == ["word1", "word2", "word3"]
    await studio.disconnect()
