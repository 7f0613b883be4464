"""The push services' HTTP/1.1 client: one POST at a time on a connection, connections kept alive per push service.

A push is one shape of request (a POST of a few hundred bytes, a short answer), sent thousands of times a batch;
a general client's machinery per request cost more CPU than encrypting the push (aiohttp about twice this one's,
httpx far more: docs/architecture.md, *Alerts for readers*). TLS is the standard library's default context.
"""

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

HEAD_MAX_BYTES = 16 * 1024
BODY_MAX_BYTES = 64 * 1024
# An idle connection older than this is closed rather than reused: push services drop idle ones after about a minute.
IDLE_SECONDS = 30.0


class NoAnswer(Exception):
    """The push service gave no whole answer: refused, reset, closed, malformed or too slow."""


class _ClosedBeforeAnswer(NoAnswer):
    """Closed before a byte of the answer: on a kept connection, the server had let it go."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


def request_bytes(url: str, headers: dict[str, str], body: bytes) -> tuple[tuple[str, str, int], bytes]:
    """The origin to send to and the whole request; ValueError for a URL that could not go on a request line."""
    if not url.isascii() or any(ord(character) <= 32 or ord(character) == 127 for character in url):
        raise ValueError("the endpoint holds a character a request line cannot")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ValueError("the endpoint is not an http(s) address")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return (parts.scheme, parts.hostname, port), "\r\n".join(lines).encode("ascii") + body


class Client:
    """Kept-alive connections per origin; as many to one origin as requests in flight to it."""

    def __init__(self, *, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self.tls = tls or ssl.create_default_context()

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        """POSTs `body`; NoAnswer when the push service gives none within the timeout."""
        origin, request = request_bytes(url, headers, body)
        try:
            async with asyncio.timeout(self.timeout):
                connection, reused = await self._connection(origin)
                try:
                    return await self._exchange(origin, connection, request)
                except _ClosedBeforeAnswer:
                    if not reused:
                        raise
                # The service had closed the kept connection before reading the request: once more, on a new one.
                return await self._exchange(origin, await self._open(origin), request)
        except TimeoutError:
            raise NoAnswer(f"no answer within {self.timeout} s") from None
        except (OSError, ssl.SSLError) as error:
            raise NoAnswer(str(error) or type(error).__name__) from None

    async def _connection(self, origin: tuple[str, str, int]) -> tuple[_Connection, bool]:
        idle = self.idle.get(origin, [])
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < IDLE_SECONDS and not connection.writer.is_closing():
                return connection, True
            connection.close()
        return await self._open(origin), False

    async def _open(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        tls = self.tls if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=host if tls else None, limit=HEAD_MAX_BYTES
        )
        return _Connection(reader, writer)

    async def _exchange(self, origin: tuple[str, str, int], connection: _Connection, request: bytes) -> Answer:
        try:
            connection.writer.write(request)
            answer, keep = await _read_answer(connection.reader)
        except BaseException:
            connection.close()
            raise
        if keep:
            connection.idle_since = time.monotonic()
            self.idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return answer

    async def close(self) -> None:
        for connections in self.idle.values():
            for connection in connections:
                connection.close()
                with contextlib.suppress(Exception):
                    await connection.writer.wait_closed()
        self.idle.clear()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """The status and headers, the body read and dropped; whether the connection may carry another request."""
    started = False
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if started or error.partial:
                raise NoAnswer("the answer was cut short") from None
            raise _ClosedBeforeAnswer("closed before answering") from None
        except (ConnectionError, asyncio.LimitOverrunError) as error:
            if isinstance(error, ConnectionError) and not started:
                raise _ClosedBeforeAnswer(str(error)) from None
            raise NoAnswer("the answer's head is too long or was reset") from None
        started = True
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
            raise NoAnswer(f"not an HTTP/1.x answer: {status_line[:40]!r}")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(code)
        if status >= 200:
            break  # 1xx answers (100 Continue, 103 Early Hints) come before the answer itself
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if status in (204, 304):
        return Answer(status, headers), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Answer(status, headers), keep and await _drop_chunks(reader)
    length = headers.get("content-length", "")
    if length.isdigit():
        size = int(length)
        if size > BODY_MAX_BYTES:
            return Answer(status, headers), False
        await _read_exactly(reader, size)
        return Answer(status, headers), keep
    await reader.read(BODY_MAX_BYTES)  # delimited by the close
    return Answer(status, headers), False


async def _read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise NoAnswer("the answer's body was cut short") from None


async def _drop_chunks(reader: asyncio.StreamReader) -> bool:
    """Reads a chunked body to its end; False when it is longer than BODY_MAX_BYTES (then left unread)."""
    total = 0
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            raise NoAnswer("a malformed chunk") from None
        if size == 0:
            try:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, up to the empty line
                    pass
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                raise NoAnswer("the answer's trailers were cut short") from None
            return True
        total += size
        if total > BODY_MAX_BYTES:
            return False
        await _read_exactly(reader, size + 2)
