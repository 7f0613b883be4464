"""A Deepgram live-transcription emulator: a real `websockets` server on loopback speaking the wire format.

It "recognises" test audio coded by `word_audio`: each word is a run of constant samples whose value
names the word (`word17` is 1800), so a test knows exactly which words it spoke and when. Anything else
that is loud counts as speech too. Silence (|sample| ≤ 50) ends words; `endpointing` ms of it ends an
utterance with a final result (`speech_final`), `utterance_end_ms` brings `UtteranceEnd`.

Scriptable failures: `refuse` handshakes (401/429/…), `drop_every` N seconds of audio (1006 by abort or a
close code), `stall` (answer nothing), `drop_all()` now. `python -m tests.support.emulators.deepgram` runs one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import struct
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

RATE = 16000
FRAME_SAMPLES = 160  # 10 ms
SILENCE_LEVEL = 50
MAX_UTTERANCE_SECONDS = 8.0
SILENT_FINAL_SECONDS = 3.0


def word_audio(word_ids: list[int], *, word_seconds: float = 0.3, gap_seconds: float = 0.1) -> bytes:
    """Audio the emulator hears as `word<id>` for each id, with short gaps between words."""
    out = bytearray()
    for word_id in word_ids:
        out += struct.pack("<h", 100 * (word_id + 1)) * int(word_seconds * RATE)
        out += b"\0\0" * int(gap_seconds * RATE)
    return bytes(out)


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(seconds * RATE)


@dataclass
class Script:
    api_key: str = "test-key"
    refuse: deque[int] = field(default_factory=deque)
    drop_every: float | None = None  # seconds of audio per connection before it is dropped
    drop_code: int | None = None  # None: abort the TCP connection (the client sees 1006)
    stall: bool = False
    idle_timeout: float = 10.0
    # How long a CloseStream takes to answer: the provider finishing its decode of what it has.
    finish_seconds: float = 0.0
    # With diarize=true, who says each word: word id -> speaker number (0 for any word not listed).
    speakers: dict[int, int] = field(default_factory=dict)


class Emulator:
    def __init__(self, script: Script | None = None):
        self.script = script or Script()
        self.connections: list[_Listen] = []
        self.handshakes = 0
        self.refused = 0
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/listen"

    @property
    def received_bytes(self) -> int:
        return sum(c.received for c in self.connections)

    async def start(self) -> Emulator:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            process_response=self._process_response,
            max_size=2**20,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def drop_all(self, code: int | None = None) -> None:
        for listen in self.connections:
            listen.drop(code)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        request_id = str(uuid.uuid4())
        connection.request_id = request_id  # type: ignore[attr-defined]
        if urlsplit(request.path).path != "/v1/listen":
            return _refusal(connection, 404, "NOT_FOUND", "Unknown path.", request_id)
        if request.headers.get("Authorization") != f"Token {self.script.api_key}":
            self.refused += 1
            return _refusal(connection, 401, "INVALID_AUTH", "Invalid credentials.", request_id)
        if self.script.refuse:
            self.refused += 1
            status = self.script.refuse.popleft()
            return _refusal(connection, status, "REFUSED", "Refused by the test script.", request_id)
        return None

    def _process_response(self, connection: ServerConnection, request: Request, response: Response) -> Response:
        if "dg-request-id" not in response.headers:
            response.headers["dg-request-id"] = connection.request_id  # type: ignore[attr-defined]
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        params = {k: v[-1] for k, v in parse_qs(urlsplit(connection.request.path).query).items()}
        listen = _Listen(self, connection, params, parse_qs(urlsplit(connection.request.path).query))
        self.connections.append(listen)
        await listen.run()


def _refusal(connection: ServerConnection, status: int, code: str, message: str, request_id: str) -> Response:
    body = json.dumps({"err_code": code, "err_msg": message, "request_id": request_id})
    response = connection.respond(status, body)
    response.headers = Headers(
        {"Content-Type": "application/json", "Content-Length": str(len(body)), "dg-error": message}
    )
    response.headers["dg-request-id"] = request_id
    return response


class _Listen:
    """One /v1/listen connection."""

    def __init__(self, emulator: Emulator, connection: ServerConnection, params: dict, all_params: dict):
        self.emulator = emulator
        self.ws = connection
        self.params = params
        self.keyterms = all_params.get("keyterm", [])
        self.language_hints = all_params.get("language_hint", [])  # nova-3 multilingual: one per language
        self.request_id: str = connection.request_id  # type: ignore[attr-defined]
        self.received = 0
        self.samples = 0
        self.partial = b""
        self.window_start = 0.0
        self.words: list[dict] = []
        self.current: dict | None = None
        self.silent_for = 0.0
        self.in_speech = False
        self.last_interim = 0.0
        self.utterance_end_due: float | None = None
        self.got_audio = False
        self.last_input = asyncio.get_running_loop().time()
        self.finalize_count = 0
        self.keepalives = 0
        self.closed_by_client = False
        self.dropped = False

    @property
    def now(self) -> float:
        return self.samples / RATE

    def drop(self, code: int | None) -> None:
        self.dropped = True
        if code is None:
            self.ws.transport.abort()
        else:
            self.closing = asyncio.ensure_future(self.ws.close(code, f"dropped by the test script ({code})"))

    async def run(self) -> None:
        idle = asyncio.create_task(self._idle_watch())
        try:
            if self.params.get("encoding", "linear16") != "linear16" or self.params.get("sample_rate") != str(RATE):
                await self.ws.close(1008, "DATA-0000: unsupported encoding or sample rate for raw audio")
                return
            async for message in self.ws:
                # KeepAlive alone does not keep a socket open that never received audio.
                if isinstance(message, bytes) or self.got_audio:
                    self.last_input = asyncio.get_running_loop().time()
                if isinstance(message, bytes):
                    if not message or len(message) % 2:
                        await self.ws.close(1008, "DATA-0000: the audio could not be decoded")
                        return
                    self.got_audio = True
                    await self._audio(message)
                else:
                    if not await self._control(message):
                        return
        except ConnectionClosed:
            pass
        finally:
            idle.cancel()

    async def _idle_watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.2)
            if loop.time() - self.last_input > self.emulator.script.idle_timeout:
                await self.ws.close(1011, "NET-0001: no audio received within the timeout")
                return

    async def _control(self, message: str) -> bool:
        try:
            kind = json.loads(message).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "KeepAlive":
            self.keepalives += 1
            return True
        if kind == "Finalize":
            self.finalize_count += 1
            self._close_word()
            await self._final(speech_final=False, from_finalize=True)
            return True
        if kind == "CloseStream":
            self.closed_by_client = True
            await asyncio.sleep(self.emulator.script.finish_seconds)
            self._close_word()
            await self._final(speech_final=True)
            await self._send(
                {
                    "type": "Metadata",
                    "transaction_key": "deprecated",
                    "request_id": self.request_id,
                    "created": "2026-01-01T00:00:00.000Z",
                    "duration": round(self.now, 3),
                    "channels": 1,
                    "models": ["emulator"],
                    "model_info": {"emulator": {"name": "general-nova-3", "version": "emulator", "arch": "nova-3"}},
                }
            )
            await self.ws.close(1000)
            return False
        await self._send(
            {
                "type": "Error",
                "variant": "SchemaError",
                "description": f"Unknown message: {message[:80]}",
                "message": "",
            }
        )
        return True

    async def _audio(self, data: bytes) -> None:
        self.received += len(data)
        script = self.emulator.script
        data = self.partial + data
        usable = len(data) - len(data) % (FRAME_SAMPLES * 2)
        self.partial = data[usable:]
        samples = struct.unpack(f"<{usable // 2}h", data[:usable])
        for offset in range(0, len(samples), FRAME_SAMPLES):
            frame = samples[offset : offset + FRAME_SAMPLES]
            await self._frame(sum(frame) / len(frame), max(abs(s) for s in frame))
            self.samples += FRAME_SAMPLES
        if script.drop_every and self.now >= script.drop_every and not self.dropped:
            self.drop(script.drop_code)

    async def _frame(self, mean: float, peak: int) -> None:
        if self.emulator.script.stall:
            return
        endpointing = int(self.params.get("endpointing", "10")) / 1000
        if peak > SILENCE_LEVEL:
            word_id = max(round(mean / 100) - 1, 0) if mean > 0 else 0
            if self.current is None or self.current["id"] != word_id:
                self._close_word()
                self.current = {"id": word_id, "start": self.now}
            if not self.in_speech:
                self.in_speech = True
                if self.params.get("vad_events") == "true":
                    await self._send({"type": "SpeechStarted", "channel": [0, 1], "timestamp": round(self.now, 3)})
            self.silent_for = 0.0
            self.utterance_end_due = None
        else:
            self._close_word()
            self.silent_for += FRAME_SAMPLES / RATE
            if self.in_speech and self.silent_for >= endpointing:
                self.in_speech = False
                await self._final(speech_final=True)
                ms = self.params.get("utterance_end_ms")
                if ms and self.params.get("interim_results") == "true":
                    self.utterance_end_due = self.now + int(ms) / 1000 - self.silent_for
            if self.utterance_end_due is not None and self.now >= self.utterance_end_due:
                self.utterance_end_due = None
                last = self.words_end
                await self._send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": last})
            if not self.in_speech and self.now - self.window_start >= SILENT_FINAL_SECONDS:
                await self._final(speech_final=False, allow_empty=True)
        if self.now - self.window_start >= MAX_UTTERANCE_SECONDS:
            self._close_word()
            await self._final(speech_final=False)
        elif self.params.get("interim_results") == "true" and self.now - self.last_interim >= 0.5:
            self.last_interim = self.now
            pending = self.words + ([self._word(self.current, self.now)] if self.current else [])
            if pending:
                await self._results(pending, is_final=False)

    words_end = 0.0

    def _word(self, current: dict, end: float) -> dict:
        word = {"word": f"word{current['id']}", "start": round(current["start"], 3), "end": round(end, 3)}
        if self.params.get("diarize") == "true":
            word["speaker"] = self.emulator.script.speakers.get(current["id"], 0)
        return word

    def _close_word(self) -> None:
        if self.current is not None:
            self.words.append(self._word(self.current, self.now))
            self.words_end = round(self.now, 3)
            self.current = None

    async def _final(self, *, speech_final: bool, from_finalize: bool = False, allow_empty: bool = False) -> None:
        if not self.words and not allow_empty:
            return
        await self._results(self.words, is_final=True, speech_final=speech_final, from_finalize=from_finalize)
        self.words = []
        self.window_start = self.now
        self.last_interim = self.now

    async def _results(
        self, words: list[dict], *, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> None:
        transcript = " ".join(w["word"] for w in words)
        await self._send(
            {
                "type": "Results",
                "channel_index": [0, 1],
                "duration": round(self.now - self.window_start, 3),
                "start": round(self.window_start, 3),
                "is_final": is_final,
                "speech_final": speech_final,
                "from_finalize": from_finalize,
                "channel": {
                    "alternatives": [
                        {
                            "transcript": transcript,
                            "confidence": 0.99 if words else 0.0,
                            "words": [{**w, "confidence": 0.99, "punctuated_word": w["word"]} for w in words],
                        }
                    ]
                },
                "metadata": {
                    "request_id": self.request_id,
                    "model_info": {"name": "general-nova-3", "version": "emulator", "arch": "nova-3"},
                },
            }
        )

    async def _send(self, message: dict) -> None:
        if self.emulator.script.stall:
            return
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(message))


class EmulatorThread:
    """The emulator on its own event loop in a thread, for tests that drive real processes."""

    def __init__(self, script: Script | None = None):
        self.emulator = Emulator(script)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="deepgram-emulator")

    def __enter__(self) -> Emulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self.loop).result(10)
        return self.emulator

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    args = parser.parse_args()

    async def run() -> None:
        emulator = Emulator(Script(api_key=args.api_key))
        emulator._server = await serve(
            emulator._handle,
            "127.0.0.1",
            args.port,
            process_request=emulator._process_request,
            process_response=emulator._process_response,
        )
        emulator.port = emulator._server.sockets[0].getsockname()[1]
        print(emulator.url, flush=True)
        await emulator._server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
