"""Bad input on the studio socket: an error message, a distinct close code, no traceback, no stored row."""

import json

import pytest
from asgiref.sync import sync_to_async

from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import START, Studio
from transcription.models import Segment, StreamSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]


@sync_to_async
def counts() -> tuple[int, int]:
    return StreamSession.objects.count(), Segment.objects.count()


async def refused_with(studio: Studio, code: str, close: int) -> dict:
    error = await studio.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == code and error["message"]
    assert "Traceback" not in error["message"]
    assert await studio.wait_closed() == close
    await studio.disconnect()
    return error


async def started(event, journalist) -> Studio:
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    assert (await studio.start())["type"] == "ready"
    return studio


async def test_it_rejects_audio_before_start(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.audio(word_audio([1]))
    await refused_with(studio, "audio_before_start", 4001)
    assert await counts() == (0, 0)


@pytest.mark.parametrize(
    "change",
    [{"sample_rate": 44100}, {"encoding": "opus"}, {"channels": 2}, {"sample_rate": "16000"}],
)
async def test_it_rejects_a_format_other_than_linear16_16k_mono(deepgram, event, journalist, change):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.send({**START, **change})
    error = await refused_with(studio, "unsupported_format", 4002)
    assert "16000 Hz" in error["message"]
    assert await counts() == (0, 0)


async def test_it_rejects_an_odd_length_frame(deepgram, event, journalist):
    studio = await started(event, journalist)
    await studio.communicator.send_to(bytes_data=b"\x01\x02\x03")
    await refused_with(studio, "odd_frame", 4003)
    assert await counts() == (1, 0)
    assert deepgram.received_bytes == 0, "nothing undecodable reached Deepgram"


async def test_it_rejects_an_oversize_frame(deepgram, event, journalist):
    studio = await started(event, journalist)
    await studio.communicator.send_to(bytes_data=b"\0\0" * (32 * 1024 + 1))
    await refused_with(studio, "frame_too_large", 4004)
    assert await counts() == (1, 0)


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_it_rejects_audio_sustained_faster_than_real_time(deepgram, event, journalist):
    studio = await started(event, journalist)
    await studio.audio(silence(15))  # 15 s of audio in well under a second
    error = await refused_with(studio, "too_fast", 4005)
    assert "1.5× real time" in error["message"]
    assert await counts() == (1, 0)


@pytest.mark.slow  # waits on the clock: real-time pacing, backoff or a timeout
async def test_a_backlog_within_the_burst_is_accepted(deepgram, event, journalist):
    studio = await started(event, journalist)
    await studio.audio(word_audio([1, 2]) + silence(6))  # ~7 s at once: a reconnect's offline buffer
    await studio.stop()
    assert [m["text"] for m in studio.finals()] == ["word1 word2"]
    await studio.disconnect()


@pytest.mark.parametrize("text", ["hello", "[1, 2]", json.dumps({"type": "dance"}), json.dumps({"kind": "stop"})])
async def test_it_rejects_text_that_is_not_a_known_control(deepgram, event, journalist, text):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.send(text)
    await refused_with(studio, "unknown_message", 4006)
    assert await counts() == (0, 0)


async def test_it_rejects_a_second_concurrent_stream_to_the_same_event(deepgram, event, journalist):
    first = await started(event, journalist)
    second = Studio(event.slug, journalist)
    assert await second.connect()
    await second.send(START)
    error = await refused_with(second, "concurrent_stream", 4007)
    assert "already streaming" in error["message"]
    await first.audio(word_audio([3]) + silence(0.5))
    await first.stop()
    assert [m["text"] for m in first.finals()] == ["word3"]
    assert await counts() == (1, 1)
    await first.disconnect()


async def test_it_rejects_resuming_a_session_that_is_not_theirs(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.send({**START, "session": 999})
    await refused_with(studio, "unknown_session", 4008)
    assert await counts() == (0, 0)


async def test_a_bad_frame_after_speech_keeps_what_was_said(deepgram, event, journalist):
    studio = await started(event, journalist)
    await studio.audio(word_audio([4, 5]))
    await studio.communicator.send_to(bytes_data=b"\x01")
    await refused_with(studio, "odd_frame", 4003)

    @sync_to_async
    def stored():
        session = StreamSession.objects.get()
        return session.status, session.last_error, list(Segment.objects.values_list("text", flat=True))

    status, last_error, texts = await stored()
    assert status == StreamSession.Status.FAILED and "16-bit" in last_error
    assert texts == ["word4 word5"]
