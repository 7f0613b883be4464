"""Clients that talk to a real Daphne over the network, as other programs would: the studio protocol
(docs/studio-protocol.md) with a session cookie and an allowed Origin, and the readers' socket."""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from collections.abc import Callable

from django.conf import settings
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin
from websockets.uri import parse_uri

from tests.support.emulators.studio import FRAME, START, session_cookie

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
    def __init__(self, base_url: str, slug: str, user=None, *, origin: str | None = None, cookie: str | None = None):
        """Logged in as `user`, or with the session `cookie` of a user in another database."""
        ws_url = base_url.replace("http://", "ws://") + f"/ws/studio/{slug}/"
        super().__init__(ws_url, origin=origin or base_url, cookie=cookie or session_cookie(user))

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

    def __init__(self, base_url: str, slug: str, cursor: int = 0, *, lang: str = ""):
        """`lang`: the reader edition the page shows, said in the hello as the page says it."""
        ws_url = base_url.replace("http://", "ws://") + f"/ws/events/{slug}/"
        super().__init__(ws_url, origin=base_url)
        hello = {"type": "hello", "cursor": cursor, **({"lang": lang} if lang else {})}
        self.ws.send(json.dumps(hello))

    def post_ids(self) -> set[int]:
        with self._changed:
            return {post["id"] for m in self.messages for post in m.get("posts", [])}

    def wait_for_posts(self, wanted: set[int], timeout: float = 30.0) -> None:
        self.wait_for(lambda m: wanted <= self.post_ids(), timeout=timeout)


def _handshake(ws_url: str, origin: str, cookie: str | None, timeout: float) -> tuple[ClientProtocol, socket.socket]:
    """A socket past its opening handshake, and websockets' sans-I/O protocol to read what comes on it."""
    uri = parse_uri(ws_url)
    protocol = ClientProtocol(uri, origin=Origin(origin))
    request = protocol.connect()
    if cookie is not None:
        request.headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    protocol.send_request(request)
    sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
    try:
        sock.sendall(b"".join(protocol.data_to_send()))
        while protocol.state is State.CONNECTING:
            if not (data := sock.recv(65536)):
                raise ConnectionError("closed during the handshake")
            protocol.receive_data(data)
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
    except BaseException:
        sock.close()
        raise
    return protocol, sock


def declare_huge_message(
    ws_url: str,
    *,
    origin: str,
    declared: int,
    send_at_most: int,
    first: tuple[str, ...] = (),
    cookie: str | None = None,
    timeout: float = 30.0,
) -> tuple[int | None, int]:
    """Opens a socket, sends the `first` text messages, then one binary frame whose header declares
    `declared` bytes and its payload, a piece at a time, until the server closes or `send_at_most`
    bytes of it are sent: (the server's close code or None, payload bytes sent).

    What the server says is read between pieces. Nothing is sent after its close, not even the
    close's answer, which would only land inside the declared payload.
    """
    protocol, sock = _handshake(ws_url, origin, cookie, timeout)
    for text in first:
        protocol.send_text(text.encode())
    header = bytes([0x82, 0x80 | 127]) + declared.to_bytes(8, "big") + bytes(4)  # FIN, binary; masked with key 0
    piece = bytes(65536)
    sent = 0
    deadline = time.monotonic() + timeout
    with sock, selectors.DefaultSelector() as selector:
        sock.sendall(b"".join(protocol.data_to_send()) + header)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while protocol.close_rcvd is None and protocol.state is not State.CLOSED:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for _, ready in selector.select(remaining):
                if ready & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        protocol.receive_data(data)
                    else:
                        protocol.receive_eof()
                    if protocol.close_rcvd is not None:
                        break
                if ready & selectors.EVENT_WRITE:
                    try:
                        sent += sock.send(piece[: send_at_most - sent])
                    except BlockingIOError:
                        pass
                    except OSError:  # the server has gone: whatever it sent is still readable
                        send_at_most = sent
                    if sent >= send_at_most:
                        selector.modify(sock, selectors.EVENT_READ)
    return (protocol.close_rcvd.code if protocol.close_rcvd else None), sent


def refused_exchange(base_url: str, slug: str, user, frames: list[str | bytes], timeout: float = 30.0):
    """Sends the frames to the studio socket while reading all the server says, as a browser would:
    (close code, JSON messages, the client's port).

    One thread, the socket driven by websockets' sans-I/O protocol. What arrives is read as soon as it
    arrives, even in the middle of sending a large frame, and the server's close is answered straight
    away: a server that closes and waits for the answer must not wait on this client. (Autobahn, under
    Daphne, aborts a socket that leaves its close unanswered for a second.) After the server's close,
    the frames still to come are not sent, as the protocol says.
    """
    ws_url = base_url.replace("http://", "ws://") + f"/ws/studio/{slug}/"
    deadline = time.monotonic() + timeout
    protocol, sock = _handshake(ws_url, base_url, session_cookie(user), timeout)
    with sock:
        port = sock.getsockname()[1]
        sock.setblocking(False)
        outgoing = bytearray()
        frames_left = iter(frames)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while (protocol.close_rcvd is None and protocol.state is not State.CLOSED) or outgoing:
                if not outgoing and protocol.state is State.OPEN and (frame := next(frames_left, None)) is not None:
                    if isinstance(frame, str):
                        protocol.send_text(frame.encode())
                    else:
                        protocol.send_binary(frame)
                    outgoing += b"".join(protocol.data_to_send())
                selector.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if outgoing else 0))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no close from the server in {timeout} s")
                for _, ready in selector.select(remaining):
                    if ready & selectors.EVENT_READ and protocol.state is not State.CLOSED:
                        try:
                            data = sock.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if data:
                            protocol.receive_data(data)
                        else:
                            protocol.receive_eof()
                        outgoing += b"".join(protocol.data_to_send())  # the close's answer, after what is queued
                    if ready & selectors.EVENT_WRITE and outgoing:
                        try:
                            del outgoing[: sock.send(outgoing)]
                        except BlockingIOError:
                            pass
                        except OSError:  # the server has gone: whatever it sent is still readable
                            outgoing.clear()
                if protocol.state is State.CLOSED:
                    outgoing.clear()
    messages = [json.loads(event.data) for event in protocol.events_received()[1:] if event.opcode is Opcode.TEXT]
    return (protocol.close_rcvd.code if protocol.close_rcvd else 1006), messages, port
