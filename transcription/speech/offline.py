"""The offline recognizer: pocketsphinx's bundled US English model, decoding in a thread.

Its endpointer (voice activity detection) opens an utterance when speech starts and closes it at the
next pause; the decoder's partial hypothesis is sent as interim results about twice a second while
someone speaks, and the full hypothesis as one final result at each pause. Same result shape as Deepgram.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from transcription.speech.base import (
    BYTES_PER_SECOND,
    SAMPLE_RATE,
    SpeechBackend,
    StreamOptions,
    Transcript,
    UpstreamFailed,
    UpstreamStatus,
)

logger = logging.getLogger(__name__)

FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate, for word times
INTERIM_EVERY_SECONDS = 0.5
_FINALIZE = object()
_STOP = object()


class OfflineBackend(SpeechBackend):
    provider = "offline"

    def __init__(self, options: StreamOptions):
        super().__init__()
        self.options = options
        self.request_ids: list[str] = []
        self.reconnects = 0
        self.dropped_seconds = 0.0
        self._inbox: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done = asyncio.Event()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._emit(UpstreamStatus("connecting"))
        self._thread = threading.Thread(target=self._decode, name="pocketsphinx", daemon=True)
        self._thread.start()

    async def send(self, pcm: bytes) -> None:
        self._inbox.put(pcm)

    async def finalize(self) -> None:
        self._inbox.put(_FINALIZE)

    async def stop(self) -> None:
        self._inbox.put(_STOP)
        if self._thread is None:
            self._emit(None)
            return
        await self._done.wait()

    def _post(self, item) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._emit, item)

    def _decode(self) -> None:
        try:
            _Utterances(self.options, self._post).run(self._inbox)
        except Exception as exc:
            logger.exception("offline recognizer failed")
            self._post(UpstreamFailed(f"The offline recognizer failed: {exc}"))
        finally:
            self._post(UpstreamStatus("closed"))
            self._post(None)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._done.set)


class _Utterances:
    """Runs in the decoding thread: feeds the endpointer and decoder, posts results."""

    def __init__(self, options: StreamOptions, post):
        from pocketsphinx import Decoder, Endpointer

        self.post = post
        self.decoder = Decoder(loglevel="FATAL")
        for term in options.keyterms:
            for word in term.lower().split():
                if self.decoder.lookup_word(word) is None:
                    logger.debug("offline recognizer does not know %r", word)
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE)
        self.frame_bytes = self.endpointer.frame_bytes
        self.position = 0  # bytes of audio seen
        self.in_utterance = False
        self.utterance_start = 0.0
        self.utterance_bytes = 0
        self.last_interim = 0
        self.last_interim_text = ""

    def run(self, inbox: queue.Queue) -> None:
        self.post(UpstreamStatus("live"))
        buffer = bytearray()
        while True:
            item = inbox.get()
            if item is _STOP:
                self.close_utterance(from_finalize=True)
                return
            if item is _FINALIZE:
                self.close_utterance(from_finalize=True)
                continue
            buffer += item
            while len(buffer) >= self.frame_bytes:
                frame = bytes(buffer[: self.frame_bytes])
                del buffer[: self.frame_bytes]
                self.feed(frame)

    def feed(self, frame: bytes) -> None:
        was_speaking = self.endpointer.in_speech
        speech = self.endpointer.process(frame)
        self.position += len(frame)
        if speech is None:
            return
        if not self.in_utterance:
            self.in_utterance = True
            self.utterance_start = self.endpointer.speech_start
            self.utterance_bytes = 0
            self.last_interim = 0
            self.last_interim_text = ""
            self.decoder.start_utt()
        self.decoder.process_raw(speech)
        self.utterance_bytes += len(speech)
        if was_speaking and not self.endpointer.in_speech:
            self.close_utterance(end=self.endpointer.speech_end)
        elif self.utterance_bytes - self.last_interim >= INTERIM_EVERY_SECONDS * BYTES_PER_SECOND:
            self.last_interim = self.utterance_bytes
            hypothesis = self.decoder.hyp()
            text = hypothesis.hypstr.strip() if hypothesis else ""
            if text and text != self.last_interim_text:
                self.last_interim_text = text
                end = self.utterance_start + self.utterance_bytes / BYTES_PER_SECOND
                start = round(self.utterance_start, 3)
                self.post(Transcript(text=text, start=start, end=round(end, 3), is_final=False))

    def close_utterance(self, *, end: float | None = None, from_finalize: bool = False) -> None:
        if not self.in_utterance:
            return
        self.in_utterance = False
        self.decoder.end_utt()
        if end is None:
            end = self.utterance_start + self.utterance_bytes / BYTES_PER_SECOND
        hypothesis = self.decoder.hyp()
        text = hypothesis.hypstr.strip() if hypothesis else ""
        if not text:
            return
        words = [
            {
                "word": seg.word.split("(")[0],
                "start": round(self.utterance_start + seg.start_frame / FRAMES_PER_SECOND, 3),
                "end": round(self.utterance_start + (seg.end_frame + 1) / FRAMES_PER_SECOND, 3),
                "confidence": round(min(max(seg.prob, 0.0), 1.0), 4),
            }
            for seg in self.decoder.seg()
            if not seg.word.startswith(("<", "["))
        ]
        confidence = round(min(max(hypothesis.prob, 0.0), 1.0), 4) if hypothesis else None
        start = round(self.utterance_start, 3)
        self.post(
            Transcript(
                text=_sentence(text),
                start=start,
                end=max(start, round(end, 3)),
                is_final=True,
                speech_final=not from_finalize,
                from_finalize=from_finalize,
                confidence=confidence,
                words=words,
            )
        )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
