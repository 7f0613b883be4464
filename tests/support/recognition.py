"""Streaming a recording through the offline recognizer as the relay does, and what its results show."""

from itertools import pairwise

from transcription.speech.base import SAMPLE_RATE, StreamOptions, Transcript
from transcription.speech.offline import OfflineBackend

CHUNK_BYTES = 3200  # 100 ms, what stream_audio sends


async def stream_offline(pcm: bytes, **backend_options) -> list[Transcript]:
    """Every result, interim and final, of the offline backend hearing `pcm` in 100 ms chunks."""
    backend = OfflineBackend(StreamOptions(), **backend_options)
    await backend.start()
    for offset in range(0, len(pcm), CHUNK_BYTES):
        await backend.send(pcm[offset : offset + CHUNK_BYTES])
    await backend.stop()
    return [item async for item in backend.events() if isinstance(item, Transcript)]


def streamed_text(results: list[Transcript]) -> str:
    return " ".join(result.text for result in results if result.is_final)


def longest_wait_for_a_result(results: list[Transcript]) -> float:
    """Seconds of audio, while someone speaks, between the start of an utterance, each interim result's end
    and the final's end: the longest a reader of the studio page waits for the transcript to move."""
    longest = 0.0
    times: list[float] = []
    for result in results:
        if not times:
            times = [result.start]
        times.append(result.end)
        if result.is_final:
            longest = max([longest, *(later - earlier for earlier, later in pairwise(times))])
            times = []
    return longest


def pauses(pcm: bytes) -> int:
    """How many utterances pocketsphinx's endpointer, with its default settings, finds: each ends at a pause."""
    from pocketsphinx import Endpointer

    endpointer = Endpointer(sample_rate=SAMPLE_RATE)
    count, speaking = 0, False
    for offset in range(0, len(pcm) - endpointer.frame_bytes + 1, endpointer.frame_bytes):
        endpointer.process(pcm[offset : offset + endpointer.frame_bytes])
        if endpointer.in_speech and not speaking:
            count += 1
        speaking = endpointer.in_speech
    return count
