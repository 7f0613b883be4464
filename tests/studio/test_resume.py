"""Resuming without loss, and the graceful stop, against the Deepgram emulator in this process: the server
acknowledges the audio it received, drops the part of resent audio it already holds to the sample, and on
a graceful stop finishes the stream, says how far it got and closes the studio with 1012."""

import asyncio
from itertools import pairwise

import numpy as np
import pytest
from asgiref.sync import sync_to_async

from server.shutdown import SERVICE_RESTART, drain_all
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from tests.support.framecoded import packets
from transcription import leases, relay
from transcription.archive.audio import iter_session_pcm
from transcription.models import Segment, StreamSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles", "media")]


def textured(audio: bytes) -> bytes:
    """`audio` with a faint pattern on every sample (under the emulator's silence level and word rounding),
    so any two stretches differ and an archive shifted by one sample does not compare equal."""
    samples = np.frombuffer(audio, dtype="<i2").astype(np.int32)
    pattern = (np.arange(len(samples)) * 7919) % 81 - 40
    return (samples + pattern).astype("<i2").tobytes()


def spoken(ids: list[int]) -> bytes:
    """Three words an utterance, each utterance ended by a pause."""
    audio = b""
    for at in range(0, len(ids), 3):
        audio += word_audio(ids[at : at + 3]) + silence(0.5)
    return textured(audio)


@sync_to_async
def archived(session_id: int) -> bytes:
    return b"".join(iter_session_pcm(session_id))


@sync_to_async
def stored(session_id: int) -> list[Segment]:
    return list(Segment.objects.filter(session_id=session_id).order_by("sequence"))


@sync_to_async
def session_row(session_id: int) -> StreamSession:
    return StreamSession.objects.get(pk=session_id)


def acknowledges(message: dict) -> bool:
    return message["type"] == "ack" or (message["type"] == "transcript" and "received" in message)


def acks(studio: Studio) -> list[float]:
    """Each acknowledgement in order: an `ack`, or a live transcript's `received`, which stands in for one."""
    return [m["stream_time"] if m["type"] == "ack" else m["received"] for m in studio.messages if acknowledges(m)]


async def test_the_server_acknowledges_what_it_received_and_says_where_it_ends_in_ready(deepgram, event, journalist):
    audio = spoken([1, 2, 3, 4, 5, 6])
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    assert ready["stream_time"] == 0 and ready["received"] == 0
    await studio.audio(audio, pace=1.4)
    await studio.send({"type": "pause"})
    await studio.wait_for(lambda m: m["type"] == "ack" and m["stream_time"] == pytest.approx(len(audio) / 32000))
    seen = acks(studio)
    assert len(seen) >= 3, "acknowledged at least once a second while audio flowed, and after the pause"
    assert seen == sorted(seen) and all(0 < at <= len(audio) / 32000 for at in seen)
    assert any(m["type"] == "ack" for m in studio.messages), "an ack when no transcript said it (the first frame's)"
    assert all("received" in m for m in studio.messages if m["type"] == "transcript"), "every transcript says it"
    await studio.disconnect()  # dropped while paused

    again = Studio(event.slug, journalist)
    assert await again.connect()
    resumed = await again.start(session=ready["session"], stream_time=len(audio) / 32000, last_sequence=-1)
    assert resumed["received"] == pytest.approx(len(audio) / 32000)
    assert resumed["stream_time"] == pytest.approx(len(audio) / 32000)
    await again.stop()
    await again.disconnect()


@pytest.mark.parametrize("overlap_samples", [4805, 1600, 1])
async def test_audio_sent_again_after_a_drop_is_stored_once_to_the_sample(deepgram, event, journalist, overlap_samples):
    audio = spoken(list(range(1, 10)))  # three utterances, 5.1 s
    cut = 2 * len(spoken([1, 2, 3]))  # two utterances reach the first socket
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    for packet in packets(audio[:cut]):
        await first.audio(packet)
    await first.disconnect()  # the socket drops: the server holds [0, cut)

    # The client sends again from a point before the end of what the server holds (frames it had no
    # acknowledgement for), cut into other packets: only what the server lacks is kept.
    resend_from = cut - 2 * overlap_samples
    second = Studio(event.slug, journalist)
    assert await second.connect()
    resumed = await second.start(
        session=ready["session"], stream_time=resend_from / 32000, resend=True, last_sequence=-1
    )
    assert resumed["received"] == pytest.approx(cut / 32000)
    assert resumed["stream_time"] == pytest.approx(resend_from / 32000)
    for packet in packets(audio[resend_from:], sizes=(962, 8000, 3202, 640)):
        await second.audio(packet)
    await second.stop()

    assert await archived(ready["session"]) == audio, "every sample once, at its stream time"
    assert deepgram.received_bytes == len(audio), "the speech provider heard no sample twice"
    segments = await stored(ready["session"])
    assert " ".join(s.text for s in segments).split() == [f"word{i}" for i in range(1, 10)]
    assert all(a.end <= b.start for a, b in pairwise(segments))
    session = await session_row(ready["session"])
    assert session.audio_seconds == pytest.approx(len(audio) / 32000)
    assert session.dropped_audio_seconds == 0
    await second.disconnect()


async def test_a_resend_of_audio_the_server_wholly_holds_adds_nothing(deepgram, event, journalist):
    audio = spoken([1, 2, 3])
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    await first.audio(audio)
    await first.disconnect()

    second = Studio(event.slug, journalist)
    assert await second.connect()
    await second.start(session=ready["session"], stream_time=0.5, resend=True, last_sequence=-1)
    await second.audio(audio[16000:])  # all of it held already
    await second.audio(spoken([4, 5, 6]))  # then new audio, right after what was held
    await second.stop()
    assert await archived(ready["session"]) == audio + spoken([4, 5, 6])
    assert " ".join(s.text for s in await stored(ready["session"])).split() == [f"word{i}" for i in range(1, 7)]
    await second.disconnect()


async def test_a_resume_while_the_old_socket_is_open_finishes_it_and_closes_it_with_4010(deepgram, event, journalist):
    audio = spoken([1, 2, 3])
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    await first.audio(audio)
    await first.send({"type": "pause"})
    await first.wait_for(lambda m: m["type"] == "ack" and m["stream_time"] == pytest.approx(len(audio) / 32000))

    # The old socket has not dropped (a half-open connection): the resume has its relay finish first.
    second = Studio(event.slug, journalist)
    assert await second.connect()
    resumed = await second.start(session=ready["session"], stream_time=len(audio) / 32000, last_sequence=-1)
    assert resumed["type"] == "ready" and resumed["received"] == pytest.approx(len(audio) / 32000)
    await second.stop()  # the lease is let go: the old socket could no longer learn of the resume from it

    assert await first.wait_closed() == 4010
    assert [error["code"] for error in first.errors()] == ["taken_over"]
    assert " ".join(s.text for s in await stored(ready["session"])).split() == ["word1", "word2", "word3"]
    await first.disconnect()
    await second.disconnect()


async def test_a_stream_whose_lease_was_taken_over_finishes_and_closes_with_4010(
    deepgram, event, journalist, monkeypatch
):
    monkeypatch.setattr(relay, "PROGRESS_SECONDS", 0.2)  # the lease renewed at once, not in 5-10 s
    audio = spoken([1, 2, 3])
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(audio)
    await studio.send({"type": "pause"})
    await studio.wait_for(lambda m: m["type"] == "ack" and m["stream_time"] == pytest.approx(len(audio) / 32000))

    # Another connection holds the lease now (a resume whose process could not reach this one).
    assert await sync_to_async(leases.acquire)(event.pk, journalist.pk, "elsewhere", take_over=True)
    assert await studio.wait_closed() == 4010
    assert [error["code"] for error in studio.errors()] == ["taken_over"]
    assert " ".join(s.text for s in await stored(ready["session"])).split() == ["word1", "word2", "word3"]
    assert (await session_row(ready["session"])).status == StreamSession.Status.PAUSED, "left open to resume"
    await studio.disconnect()


async def test_resend_must_be_true_or_false(deepgram, event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    error = await studio.start(session=1, stream_time=0.0, resend="yes")
    assert error["type"] == "error" and error["code"] == "unknown_message"
    assert await studio.wait_closed() == 4006
    await studio.disconnect()


@pytest.mark.slow  # waits out the grace for earlier tests' sockets too
async def test_a_graceful_stop_stores_the_last_words_then_closes_the_studio_with_1012(deepgram, event, journalist):
    audio = spoken([1, 2, 3]) + textured(word_audio([4, 5]))  # mid-utterance when the process is told to stop
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(audio)
    await studio.wait_for(lambda m: m["type"] == "ack" and m["stream_time"] > 0)

    draining = asyncio.create_task(drain_all(grace=30))
    assert await studio.wait_closed(timeout=30) == SERVICE_RESTART, "closed with 1012 within the grace"
    await studio.disconnect()  # the client answers the close
    await draining  # its count also holds sockets of earlier tests in this process, whose loops are gone

    finals = [m["text"] for m in studio.finals()]
    assert " ".join(finals).split() == ["word1", "word2", "word3", "word4", "word5"], "the last words, finalised"
    last_ack = [m for m in studio.messages if m["type"] == "ack"][-1]
    assert last_ack["stream_time"] == pytest.approx(len(audio) / 32000), "the last word on what was received"
    assert studio.messages.index(last_ack) > max(studio.messages.index(m) for m in studio.finals())
    assert deepgram.connections[0].closed_by_client, "the provider was asked to finish what it had"
    session = await session_row(ready["session"])
    assert session.status == StreamSession.Status.PAUSED, "left open for the studio to resume elsewhere"
    assert [s.text for s in await stored(ready["session"])] == finals
    assert await archived(ready["session"]) == audio
