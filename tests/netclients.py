"""Clients that talk to a real Daphne over the network, as other programs would: the studio protocol
(docs/studio-protocol.md) with a session cookie and an allowed Origin, and the readers' socket."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.emulators.studio import FRAME, START, session_cookie

BYTES_PER_SECOND = 32000


class Socket:
    """A WebSocket whose every JSON text message is kept in `messages` by a reader thread."""

    def __init__(self, url: str, *, origin: str, cookie: str | None = None):
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else None
        self.ws: ClientConnection = connect(url, origin=origin, additional_headers=headers, open_timeout=15)
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                if isinstance(message, str):
                    with self._changed:
                        self.messages.append(json.loads(message))
                        self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
                self._changed.notify_all()

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.messages if predicate(m)), None)
                if found is not None:
                    return found
                if self.close_code is not None:
                    raise AssertionError(f"socket closed ({self.close_code}) first: {self.messages[-10:]}")
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"nothing matched within {timeout} s: {self.messages[-10:]}")

    def wait_closed(self, timeout: float = 30.0) -> int:
        self._thread.join(timeout)
        assert self.close_code is not None, f"still open after {timeout} s"
        return self.close_code

    def close(self) -> None:
        self.ws.close()
        self._thread.join(10)


class StudioSocket(Socket):
    def __init__(self, base_url: str, slug: str, user, *, origin: str | None = None):
        ws_url = base_url.replace("http://", "ws://") + f"/ws/studio/{slug}/"
        super().__init__(ws_url, origin=origin or base_url, cookie=session_cookie(user))

    def start(self, **extra) -> dict:
        self.ws.send(json.dumps({**START, **extra}))
        return self.wait_for(lambda m: m["type"] in ("ready", "error"))

    def stream(self, pcm: bytes, *, pace: float = 1.0) -> None:
        """Send audio in 100 ms frames at `pace`× real time, as a microphone would."""
        began = time.monotonic()
        for offset in range(0, len(pcm), FRAME):
            self.ws.send(pcm[offset : offset + FRAME])
            due = began + (offset + FRAME) / BYTES_PER_SECOND / pace
            time.sleep(max(0.0, due - time.monotonic()))

    def finals(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "transcript" and m["is_final"] and m["text"]]


class ReaderSocket(Socket):
    """A reader's page, minus the page: says hello with its cursor and keeps every post it is sent."""

    def __init__(self, base_url: str, slug: str, cursor: int = 0):
        ws_url = base_url.replace("http://", "ws://") + f"/ws/events/{slug}/"
        super().__init__(ws_url, origin=base_url)
        self.ws.send(json.dumps({"type": "hello", "cursor": cursor}))

    def post_ids(self) -> set[int]:
        with self._changed:
            return {post["id"] for m in self.messages for post in m.get("posts", [])}

    def wait_for_posts(self, wanted: set[int], timeout: float = 30.0) -> None:
        self.wait_for(lambda m: wanted <= self.post_ids(), timeout=timeout)
