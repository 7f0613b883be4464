"""The benchmark's reader: a real WebSocket client that costs the shared cores as little as it can.

Thousands of these run in one process on the same two cores as the servers, so a heavyweight client
(a task, a queue and a frame parser per message) would be timed as the server's fan-out. This one
is an asyncio Protocol: an ordinary RFC 6455 handshake (checked), one masked "hello" text frame,
then it reads frames, answers pings, and notes the moment each change's bytes are read.
"""

import asyncio
import base64
import hashlib
import os
import re
import time
from urllib.parse import urlsplit

CURSOR = re.compile(rb'"cursor":(\d+)')
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
FIN = 0x80


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask; payloads here are short)."""
    assert len(payload) < 126
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([FIN | opcode, 0x80 | len(payload)]) + mask + body


def handshake_request(url: str, origin: str, key: bytes) -> bytes:
    parts = urlsplit(url)
    return (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    ).encode()


def expected_accept(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + ACCEPT_GUID).digest())  # noqa: S324  (RFC 6455 says SHA-1)


class ReaderProtocol(asyncio.Protocol):
    """One reader. `opened` resolves once the server accepted the socket and the hello is sent."""

    def __init__(self, url: str, origin: str, hello: bytes, arrivals: dict[int, list[float]]):
        self.url, self.origin, self.hello, self.arrivals = url, origin, hello, arrivals
        self.key = base64.b64encode(os.urandom(16))
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.message_cursor: int | None = None  # of the text message whose frames are being read

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(handshake_request(self.url, self.origin, self.key))

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        now = time.time()  # when this reader's bytes were read
        data = self.buffer + data if self.buffer else data
        if not self.opened.done():
            data = self.handshake(data)
        self.buffer = self.frames(data, now)

    def handshake(self, data: bytes) -> bytes:
        head, separator, rest = data.partition(b"\r\n\r\n")
        if not separator:
            return data
        lines = head.split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines[1:] if b": " in line)
        accept = {name.lower(): value for name, value in headers.items()}.get(b"sec-websocket-accept")
        if not lines[0].startswith(b"HTTP/1.1 101") or accept != expected_accept(self.key):
            self.opened.set_exception(ConnectionError(f"handshake refused: {lines[0][:80]!r}"))
            self.transport.abort()
            return b""
        self.transport.write(masked_frame(TEXT, self.hello))
        self.opened.set_result(None)
        return rest

    def frames(self, data: bytes, now: float) -> bytes:
        """Reads every whole frame in data; returns the incomplete rest."""
        offset, size = 0, len(data)
        while size - offset >= 2:
            first, length = data[offset], data[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                length, start = int.from_bytes(data[start : start + 2], "big"), start + 2
            elif length == 127:
                length, start = int.from_bytes(data[start : start + 8], "big"), start + 8
            end = start + length
            if end > size:
                break
            self.frame(first, data, start, end, now)
            offset = end
        return data[offset:]

    def frame(self, first: int, data: bytes, start: int, end: int, now: float) -> None:
        opcode = first & 0x0F
        if opcode == TEXT:
            match = CURSOR.search(data, start, min(end, start + 120))
            self.message_cursor = int(match.group(1)) if match else None
        elif opcode == PING:
            self.transport.write(masked_frame(PONG, data[start:end]))
            return
        elif opcode == CLOSE:
            self.transport.close()
            return
        if first & FIN and opcode in (TEXT, 0x0) and self.message_cursor is not None:
            self.arrivals[self.message_cursor].append(now)
            self.message_cursor = None


async def open_reader(url: str, origin: str, hello: bytes, arrivals: dict[int, list[float]]) -> asyncio.Transport:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    transport, reader = await loop.create_connection(
        lambda: ReaderProtocol(url, origin, hello, arrivals), parts.hostname, parts.port
    )
    await reader.opened
    return transport
