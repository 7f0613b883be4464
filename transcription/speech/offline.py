"""The offline recognizer: pocketsphinx's bundled US English model, decoding in a thread.

The endpointer opens an utterance when speech starts and closes it at the next pause: partial
hypotheses are interim results, the full one a final. Each utterance is decoded after the audio since
the previous one began (left context), keeping only its own words, so the decoder starts it with the
language-model history and cepstral mean a decoder hearing the whole recording would have.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from events.sentences import Sentence
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
LEFT_CONTEXT_SECONDS = 10.0  # at most this much audio before an utterance is decoded again in front of it
WORD_START_TOLERANCE = 0.05  # a word the decoder starts this much before the endpointer's start is this utterance's
_FINALIZE = object()
_STOP = object()


class OfflineBackend(SpeechBackend):
    provider = "offline"
    languages = frozenset({"en"})  # pocketsphinx's bundled model is US English only

    def __init__(self, options: StreamOptions, *, left_context_seconds: float = LEFT_CONTEXT_SECONDS):
        super().__init__()
        self.options = options
        self.left_context_seconds = left_context_seconds
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
            _Utterances(self.options, self._post, self.left_context_seconds).run(self._inbox)
        except Exception as exc:
            logger.exception("offline recognizer failed")
            self._post(UpstreamFailed(Sentence.gettext("The offline recognizer failed: %(error)s", error=str(exc))))
        finally:
            self._post(UpstreamStatus("closed"))
            self._post(None)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._done.set)


class _Utterances:
    """Runs in the decoding thread: feeds the endpointer and decoder, posts results.
    With `left_context_seconds` 0 each utterance is decoded on its own."""

    def __init__(self, options: StreamOptions, post, left_context_seconds: float):
        from pocketsphinx import Decoder, Endpointer

        self.post = post
        self.decoder = Decoder(loglevel="FATAL")
        for term in options.keyterms:
            for word in term.lower().split():
                if self.decoder.lookup_word(word) is None:
                    logger.debug("offline recognizer does not know %r", word)
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE)
        self.frame_bytes = self.endpointer.frame_bytes
        self.left_context_bytes = _whole_samples(left_context_seconds * BYTES_PER_SECOND)
        self.position = 0  # bytes of audio seen
        self.recent = bytearray()  # the audio a left context can reach back to, ending at `position`
        self.previous_start: float | None = None
        self.in_utterance = False
        self.utterance_start = 0.0
        self.decoded_from = 0.0  # where the audio in the decoder's utterance begins, in seconds
        self.decoded_until = 0.0
        self.last_interim = 0.0
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
        if self.left_context_bytes:
            self.remember(frame)
        if speech is None:
            return
        if not self.in_utterance:
            self.open_utterance()
        elif self.left_context_bytes:
            self.hear(frame)
        if not self.left_context_bytes:
            self.hear(speech)
        if was_speaking and not self.endpointer.in_speech:
            self.close_utterance(end=self.endpointer.speech_end)
        elif self.decoded_until - self.last_interim >= INTERIM_EVERY_SECONDS:
            self.last_interim = self.decoded_until
            text = " ".join(word["word"] for word in self.utterance_words())
            if text and text != self.last_interim_text:
                self.last_interim_text = text
                start, end = round(self.utterance_start, 3), round(self.decoded_until, 3)
                self.post(Transcript(text=text, start=start, end=end, is_final=False))

    def remember(self, frame: bytes) -> None:
        self.recent += frame
        # The endpointer confirms speech a little after it starts; keep that much more than the context.
        keep = self.left_context_bytes + 2 * BYTES_PER_SECOND
        if len(self.recent) > 2 * keep:
            del self.recent[: len(self.recent) - keep]

    def open_utterance(self) -> None:
        self.in_utterance = True
        self.utterance_start = self.endpointer.speech_start
        self.last_interim_text = ""
        self.decoder.start_utt()
        if not self.left_context_bytes:
            self.decoded_from = self.decoded_until = self.last_interim = self.utterance_start
            return
        context_start = self.utterance_start if self.previous_start is None else self.previous_start
        start_byte = max(
            _whole_samples(context_start * BYTES_PER_SECOND),
            _whole_samples(self.utterance_start * BYTES_PER_SECOND) - self.left_context_bytes,
            self.position - len(self.recent),
        )
        self.previous_start = self.utterance_start
        self.decoded_from = self.decoded_until = self.last_interim = start_byte / BYTES_PER_SECOND
        self.hear(bytes(self.recent[start_byte - self.position :]) if start_byte < self.position else b"")
        self.last_interim = self.utterance_start

    def hear(self, pcm: bytes) -> None:
        if pcm:
            self.decoder.process_raw(pcm)
            self.decoded_until += len(pcm) / BYTES_PER_SECOND

    def utterance_words(self) -> list[dict]:
        """The decoder's words since this utterance began: the left context's are the previous final's."""
        words = []
        for seg in self.decoder.seg():
            start = self.decoded_from + seg.start_frame / FRAMES_PER_SECOND
            if seg.word.startswith(("<", "[")) or start < self.utterance_start - WORD_START_TOLERANCE:
                continue
            words.append(
                {
                    "word": seg.word.split("(")[0],
                    "start": round(max(start, self.utterance_start), 3),
                    "end": round(self.decoded_from + (seg.end_frame + 1) / FRAMES_PER_SECOND, 3),
                    "confidence": round(min(max(seg.prob, 0.0), 1.0), 4),
                }
            )
        return words

    def close_utterance(self, *, end: float | None = None, from_finalize: bool = False) -> None:
        if not self.in_utterance:
            return
        self.in_utterance = False
        self.decoder.end_utt()
        if end is None:
            end = self.decoded_until
        words = self.utterance_words()
        if not words:
            return
        # The words' mean: hyp().prob is the posterior of the whole word sequence, near 0 for any sentence.
        confidence = round(sum(word["confidence"] for word in words) / len(words), 4)
        start = round(self.utterance_start, 3)
        self.post(
            Transcript(
                text=_sentence(" ".join(word["word"] for word in words)),
                start=start,
                end=max(start, round(end, 3)),
                is_final=True,
                speech_final=not from_finalize,
                from_finalize=from_finalize,
                confidence=confidence,
                words=words,
            )
        )


def _whole_samples(byte_count: float) -> int:
    return int(byte_count) // 2 * 2


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
