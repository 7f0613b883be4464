"""Deepgram live transcription over `websockets`, reconnecting without losing speech.

Audio waits in `_pending` until sent, then in `_unsettled` until a final covers it; a new connection
sends the unsettled audio first, so each stretch of speech is transcribed once. `_spans` maps each
connection's times (which restart at 0) back to backend time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.utils.translation import gettext_noop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from events.sentences import Sentence
from server.websockets_client import send_binary_now
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

FATAL_HANDSHAKE = {
    401: gettext_noop("The Deepgram API key was refused (401). Check DEEPGRAM_API_KEY."),
    402: gettext_noop("The Deepgram account is out of credits (402)."),
    403: gettext_noop("This Deepgram key may not use the requested model (403)."),
}


class DeepgramBackend(SpeechBackend):
    provider = "deepgram"
    keepalive_seconds = 4.0
    max_tries = 5
    backoff_base = 1.0
    backoff_cap = 30.0
    drain_rate = 1.25
    drain_burst_seconds = 0.5
    stop_timeout = 10.0

    def __init__(
        self,
        options: StreamOptions,
        *,
        url: str | None = None,
        api_key: str | None = None,
        buffer_seconds: float = 60.0,
    ):
        super().__init__()
        self.options = options
        self.url = settings.DEEPGRAM_URL if url is None else url
        self.api_key = settings.DEEPGRAM_API_KEY if api_key is None else api_key
        self.request_ids: list[str] = []
        self.reconnects = 0
        self.dropped_bytes = 0
        self._max_buffer = int(buffer_seconds * BYTES_PER_SECOND)
        self._received = 0
        self._pending: deque[tuple[int, bytes]] = deque()
        self._unsettled: deque[tuple[int, bytes]] = deque()
        self._buffered = 0
        self._spans: list[tuple[int, int]] = []
        self._conn_sent = 0
        self._conn_started = 0.0
        self._last_sent = 0.0
        self._wakeup = asyncio.Event()
        # The open connection while the sender waits for audio with nothing queued: `send` then sends
        # a frame itself, saving a task switch and a timer per frame.
        self._idle_ws: ClientConnection | None = None
        self._finalize = False
        self._stopping = False
        self._close_sent = False
        self._task: asyncio.Task | None = None

    def listen_url(self) -> str:
        params: list[tuple[str, str]] = [
            ("model", settings.DEEPGRAM_MODEL),
            ("encoding", "linear16"),
            ("sample_rate", str(SAMPLE_RATE)),
            ("channels", "1"),
            ("language", self.options.language),
            ("interim_results", "true"),
            ("punctuate", "true"),
            ("smart_format", "true"),
            ("endpointing", "300"),
            ("utterance_end_ms", "1000"),
            ("vad_events", "true"),
            ("diarize", "true" if self.options.diarize else "false"),
        ]
        params += [("keyterm", term) for term in self.options.keyterms]
        # nova-3's multilingual mode biased toward the languages the journalist ticked (one parameter each).
        params += [("language_hint", code) for code in self.options.language_hints if self.options.language == "multi"]
        return f"{self.url}?{urlencode(params)}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deepgram-relay")

    async def send(self, pcm: bytes) -> None:
        position = self._received
        self._received += len(pcm)
        self._buffered += len(pcm)
        ws = self._idle_ws
        if ws is not None and not self._pending and self._within_drain_rate(time.monotonic()):
            self._mark_sent(position, pcm)
            self._drop_oldest_over_limit()
            if send_binary_now(ws, pcm):
                return
            # On a dropped connection the frame is already unsettled, so it goes again on the next one.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(pcm)
            return
        self._pending.append((position, pcm))
        self._drop_oldest_over_limit()
        self._wakeup.set()

    async def finalize(self) -> None:
        self._finalize = True
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is None:
            self._emit(None)
            return
        backlog = (self._buffered / BYTES_PER_SECOND) / self.drain_rate
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=self.stop_timeout + backlog)
        except TimeoutError:
            logger.warning("deepgram did not close within %.0f s; giving up on the last results", self.stop_timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def dropped_seconds(self) -> float:
        return self.dropped_bytes / BYTES_PER_SECOND

    def _status(self, state, request_id: str = "", detail: str = "") -> UpstreamStatus:
        return UpstreamStatus(state, request_id, detail)

    def _drop_oldest_over_limit(self) -> None:
        while self._buffered > self._max_buffer:
            queue = self._unsettled if self._unsettled else self._pending
            _, data = queue.popleft()
            self._buffered -= len(data)
            self.dropped_bytes += len(data)

    async def _run(self) -> None:
        failures = 0
        connected_before = False
        try:
            while True:
                if not connected_before:
                    self._emit(self._status("connecting"))
                try:
                    ws = await connect(
                        self.listen_url(),
                        additional_headers={"Authorization": f"Token {self.api_key}"},
                        open_timeout=10,
                        close_timeout=5,
                        compression=None,  # PCM hardly deflates: compressing it only costs CPU
                    )
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    logger.warning(
                        "deepgram refused the connection: %s dg-error=%s dg-request-id=%s",
                        status,
                        ",".join(exc.response.headers.get_all("dg-error")),
                        ",".join(exc.response.headers.get_all("dg-request-id")),
                    )
                    if status in FATAL_HANDSHAKE:
                        refused = Sentence.gettext(FATAL_HANDSHAKE[status])
                        raise UpstreamFailed(refused, reason="upstream_refused") from exc
                except (OSError, TimeoutError, InvalidHandshake) as exc:
                    logger.warning("deepgram unreachable: %r", exc)
                else:
                    if connected_before:
                        self.reconnects += 1
                    connected_before = True
                    healthy, done = await self._session(ws)
                    if done:
                        return
                    if healthy:
                        failures = 0
                failures += 1
                if failures > self.max_tries:
                    raise UpstreamFailed(
                        Sentence.gettext(
                            "The speech service stayed unreachable after %(tries)d tries.", tries=self.max_tries
                        ),
                        reason="upstream_unavailable",
                    )
                await asyncio.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))))
        except UpstreamFailed as exc:
            self._emit(exc)
        finally:
            self._emit(self._status("closed"))
            self._emit(None)

    async def _session(self, ws: ClientConnection) -> tuple[bool, bool]:
        """Run one connection; return (healthy, done)."""
        request_id = ",".join(ws.response.headers.get_all("dg-request-id")) if ws.response else ""
        self.request_ids.append(request_id)
        logger.debug("deepgram connected dg-request-id=%s", request_id)  # kept on the session too
        self._emit(self._status("live", request_id))
        # Audio sent but not yet settled by a final result goes first on the new connection.
        self._pending.extendleft(reversed(self._unsettled))
        self._unsettled.clear()
        self._spans = []
        self._conn_sent = 0
        self._close_sent = False
        self._conn_started = self._last_sent = time.monotonic()
        sender = asyncio.create_task(self._send_loop(ws))
        healthy = False
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    continue
                data = orjson.loads(message)
                kind = data.get("type")
                if kind == "Results":
                    # Healthy means progress: a final settled audio. Drops before any final count as failures.
                    healthy = healthy or bool(data.get("is_final"))
                    self._on_results(data)
                elif kind == "Metadata":
                    logger.debug("deepgram metadata dg-request-id=%s duration=%s", request_id, data.get("duration"))
                elif kind == "Error":
                    logger.warning("deepgram error dg-request-id=%s: %s", request_id, data)
                elif kind not in ("UtteranceEnd", "SpeechStarted"):
                    logger.info("deepgram sent an unknown message type %r", kind)
        except ConnectionClosed:
            pass
        finally:
            self._idle_ws = None
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
            await ws.close()
        code, reason = ws.close_code, ws.close_reason or ""
        if code == 1000 and self._close_sent:
            return healthy, True
        if code == 1008:
            raise UpstreamFailed(
                Sentence.gettext(
                    "The speech service could not decode the audio (%(reason)s).", reason=reason or "DATA-0000"
                )
            )
        logger.warning("deepgram connection lost (%s %s) dg-request-id=%s; reconnecting", code, reason, request_id)
        self._emit(self._status("reconnecting", request_id, f"{code} {reason}".strip()))
        return healthy, False

    def _within_drain_rate(self, now: float) -> bool:
        return self._conn_sent / BYTES_PER_SECOND <= self._drain_allowed(now)

    def _drain_allowed(self, now: float) -> float:
        return self.drain_rate * (now - self._conn_started) + self.drain_burst_seconds

    def _mark_sent(self, position: int, data: bytes) -> None:
        if not self._spans or self._spans[-1][1] + (self._conn_sent - self._spans[-1][0]) != position:
            self._spans.append((self._conn_sent, position))
        self._unsettled.append((position, data))
        self._conn_sent += len(data)
        self._last_sent = time.monotonic()

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            self._wakeup.clear()
            now = time.monotonic()
            if self._pending:
                if not self._within_drain_rate(now):
                    await asyncio.sleep(self._conn_sent / BYTES_PER_SECOND - self._drain_allowed(now))
                    continue
                position, data = self._pending.popleft()
                self._mark_sent(position, data)
                await ws.send(data)
                continue
            if self._finalize:
                self._finalize = False
                await ws.send(json.dumps({"type": "Finalize"}))
                continue
            if self._stopping:
                self._close_sent = True
                await ws.send(json.dumps({"type": "CloseStream"}))
                return
            idle = now - self._last_sent
            if idle >= self.keepalive_seconds:
                await ws.send(json.dumps({"type": "KeepAlive"}))
                self._last_sent = now
                continue
            # A timer rather than wait_for, which costs a task per wait: this wait comes once per audio frame.
            keepalive = asyncio.get_running_loop().call_later(self.keepalive_seconds - idle, self._wakeup.set)
            self._idle_ws = ws
            try:
                await self._wakeup.wait()
            finally:
                self._idle_ws = None
                keepalive.cancel()

    def _stream_byte(self, seconds: float) -> int:
        conn_byte = round(seconds * SAMPLE_RATE) * 2
        for conn_start, stream_start in reversed(self._spans):
            if conn_start <= conn_byte:
                return stream_start + conn_byte - conn_start
        return conn_byte

    def _stream_time(self, seconds: float) -> float:
        return round(self._stream_byte(seconds) / BYTES_PER_SECOND, 3)

    def _settle(self, seconds: float) -> None:
        settled = self._stream_byte(seconds)
        while self._unsettled:
            position, data = self._unsettled[0]
            if position + len(data) <= settled:
                self._unsettled.popleft()
                self._buffered -= len(data)
            else:
                if position < settled:
                    self._unsettled[0] = (settled, data[settled - position :])
                    self._buffered -= settled - position
                break

    def _on_results(self, data: dict) -> None:
        start = float(data.get("start", 0.0))
        end = start + float(data.get("duration", 0.0))
        is_final = bool(data.get("is_final"))
        if is_final:
            self._settle(end)
        alternatives = (data.get("channel") or {}).get("alternatives") or [{}]
        best = alternatives[0]
        text = (best.get("transcript") or "").strip()
        if not text:
            return
        # Interim results are only shown, as text: their words are left unmapped.
        words = (
            [
                {**word, "start": self._stream_time(word["start"]), "end": self._stream_time(word["end"])}
                for word in best.get("words", [])
                if "start" in word and "end" in word
            ]
            if is_final
            else []
        )
        first = next((word for word in best.get("words", []) if "start" in word and "end" in word), None)
        speaker = first.get("speaker") if first is not None and self.options.diarize else None
        self._emit(
            Transcript(
                text=text,
                start=self._stream_time(start),
                end=self._stream_time(end),
                is_final=is_final,
                speech_final=bool(data.get("speech_final")),
                from_finalize=bool(data.get("from_finalize")),
                confidence=best.get("confidence"),
                speaker=speaker,
                words=words,
            )
        )
