"""The benchmark's reader: a real WebSocket client that costs the shared cores as little as it can.

Thousands run in one process on the servers' cores, so each change is timed by the kernel's receive
time of its bytes (SO_TIMESTAMPNS), as a reader on another machine would get it, not by when this
process got round to it. Per reader: a checked RFC 6455 handshake, one "hello", then frames read
straight off the socket, pings answered.
"""

import asyncio
import base64
import hashlib
import os
import re
import socket
import struct
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


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's <asm-generic/socket.h>; Python 3.11 lacks it
TIMESPEC = struct.Struct("qq")
ANCILLARY = socket.CMSG_SPACE(TIMESPEC.size)


class Reader:
    """One reader on its own non-blocking socket, read by the loop through add_reader."""

    def __init__(self, sock: socket.socket, arrivals: dict[int, list[float]]):
        self.sock, self.arrivals = sock, arrivals
        self.buffer = b""
        self.message_cursor: int | None = None  # of the text message whose frames are being read
        self.dropped = False  # the server closed it, or the connection broke

    def read_ready(self) -> None:
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(1 << 16, ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.dropped = True
            self.close()
            return
        stamps = [value for level, kind, value in ancillary if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS)]
        if not stamps:
            raise RuntimeError("the kernel gave no receive time for a read; the benchmark cannot time it")
        seconds, nanoseconds = TIMESPEC.unpack(stamps[0][: TIMESPEC.size])
        received = seconds + nanoseconds / 1e9  # when the kernel received these bytes
        self.buffer = self.frames(self.buffer + data if self.buffer else data, received)

    def close(self) -> None:
        if self.sock.fileno() != -1:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()

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
            if self.sock.fileno() != -1:
                self.sock.send(masked_frame(PONG, data[start:end]))  # a few bytes: the buffer takes them
            return
        elif opcode == CLOSE:
            self.dropped = True
            self.close()
            return
        if first & FIN and opcode in (TEXT, 0x0) and self.message_cursor is not None:
            self.arrivals[self.message_cursor].append(now)
            self.message_cursor = None


async def open_reader(url: str, origin: str, hello: bytes, arrivals: dict[int, list[float]]) -> Reader:
    """Connects, completes the opening handshake, says hello, and leaves the socket to the loop."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        await loop.sock_connect(sock, (parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16))
        await loop.sock_sendall(sock, handshake_request(url, origin, key))
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            response += chunk
        head, _separator, rest = response.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines[1:])}
        if not lines[0].startswith(b"HTTP/1.1 101") or headers.get(b"sec-websocket-accept") != expected_accept(key):
            raise ConnectionError(f"handshake refused: {lines[0][:80]!r}")
        await loop.sock_sendall(sock, masked_frame(TEXT, hello))
    except BaseException:
        sock.close()
        raise
    reader = Reader(sock, arrivals)
    reader.buffer = reader.frames(rest, time.time())
    loop.add_reader(sock.fileno(), reader.read_ready)
    return reader
