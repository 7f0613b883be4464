"""A studio client for the tests: the real ASGI application driven through WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import contextlib
import json

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from liveblog_site.asgi import application

FRAME = 3200  # 100 ms of 16 kHz mono linear16
START = {"type": "start", "encoding": "linear16", "sample_rate": 16000, "channels": 1}


def session_cookie(user) -> str:
    """A logged-in session for `user`, as the session cookie's value."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


class Studio:
    """One studio socket; every message received is kept in `messages`."""

    def __init__(self, slug: str, user=None, origin: str = "http://localhost"):
        self.slug = slug
        self.user = user
        self.origin = origin
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self.communicator: WebsocketCommunicator | None = None
        self._reader: asyncio.Task | None = None
        self._arrived = asyncio.Event()

    async def connect(self) -> bool:
        headers = [(b"origin", self.origin.encode()), (b"host", b"localhost")]
        if self.user is not None:
            key = await sync_to_async(session_cookie)(self.user)
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
        self.communicator = WebsocketCommunicator(application, f"/ws/studio/{self.slug}/", headers=headers)
        connected, _ = await self.communicator.connect(timeout=10)
        if connected:
            self._reader = asyncio.create_task(self._read())
        return connected

    async def _read(self) -> None:
        assert self.communicator is not None
        while True:
            output = await self.communicator.output_queue.get()
            if output["type"] == "websocket.close":
                self.close_code = output.get("code", 1000)
                self._arrived.set()
                return
            if output.get("text") is not None:
                self.messages.append(json.loads(output["text"]))
            self._arrived.set()

    async def send(self, message: dict | str) -> None:
        assert self.communicator is not None
        await self.communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def start(self, **extra) -> dict:
        await self.send({**START, **extra})
        return await self.wait_for(lambda m: m["type"] in ("ready", "error"))

    async def audio(self, pcm: bytes, *, pace: float | None = None) -> None:
        """Send audio in 100 ms frames, at `pace`× real time (None: as fast as possible)."""
        assert self.communicator is not None
        loop = asyncio.get_running_loop()
        began = loop.time()
        for offset in range(0, len(pcm), FRAME):
            await self.communicator.send_to(bytes_data=pcm[offset : offset + FRAME])
            if pace:
                due = began + (offset + FRAME) / 32000 / pace
                await asyncio.sleep(max(0.0, due - loop.time()))
            else:
                await asyncio.sleep(0)

    async def wait_for(self, predicate, timeout: float = 20.0) -> dict:
        seen = 0

        def found() -> dict | None:
            nonlocal seen
            for message in self.messages[seen:]:
                if predicate(message):
                    return message
            seen = len(self.messages)
            if self.close_code is not None:
                raise AssertionError(f"socket closed ({self.close_code}) before the message came: {self.messages}")
            return None

        return await self._until(found, timeout, f"no such message within {timeout} s")

    async def wait_closed(self, timeout: float = 20.0) -> int:
        return await self._until(lambda: self.close_code, timeout, f"socket still open after {timeout} s")

    async def _until(self, found, timeout: float, failure: str):
        """found()'s first result other than None, checked as each message arrives."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (result := found()) is None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{failure}; got {self.messages[-10:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
        return result

    async def stop(self) -> dict:
        await self.send({"type": "stop"})
        stopped = await self.wait_for(lambda m: m["type"] == "stopped", timeout=30)
        await self.wait_closed()
        return stopped

    def finals(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "transcript" and m["is_final"]]

    def errors(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "error"]

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.communicator is not None:
            await self.communicator.disconnect(timeout=30)
