"""A forward HTTP proxy on loopback that ffmpeg's http and https connections go through, so every connection a
follow makes (the playlist, each segment, each redirect) is checked where it is made: the host is resolved here,
every address checked, and the connection made to a checked address, so no later lookup can change it (DNS
rebinding). Each follow has its own credentials, so a refusal is told to the follow it belongs to."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from transcription.follow import addresses

logger = logging.getLogger(__name__)

HEAD_LIMIT = 16 * 1024  # a request's or response's line and headers
HEAD_SECONDS = 15.0
CONNECT_SECONDS = 10.0
COPY_BYTES = 64 * 1024
CLIENT_GONE_SECONDS = 5.0
CHALLENGE = 'Proxy-Authenticate: Basic realm="follow"'  # ffmpeg sends the credentials once asked
HOP_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"proxy-authenticate"}


class Refused(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class GuardedProxy:
    """`allowed(ip)` says which addresses may be reached; `url_for(key)` gives one follow's proxy address."""

    def __init__(self, allowed: Callable[[str], bool]):
        self.allowed = allowed
        self.server: asyncio.Server | None = None
        self.port = 0
        self._keys: dict[str, object] = {}  # the credentials' password -> the follow it was given to
        self.refusals: dict[object, str] = {}  # the follow -> why a connection was refused (it must not go on)
        self.failures: dict[object, str] = {}  # the follow -> why its last connection failed (it may come back)
        self._connections: set[asyncio.Task] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    def url_for(self, key: object) -> str:
        """The proxy address with credentials of `key`'s own, for ffmpeg's `-http_proxy`."""
        password = secrets.token_urlsafe(18)
        self._keys[password] = key
        return f"http://follow:{password}@127.0.0.1:{self.port}"

    def forget(self, key: object) -> None:
        for password in [p for p, k in self._keys.items() if k == key]:
            del self._keys[password]
        self.refusals.pop(key, None)
        self.failures.pop(key, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_SECONDS)
            method, target, headers = _parse_head(head)
            key = self._key_of(headers)
            try:
                host, port = _destination(method, target)
                up_reader, upstream = await self._connect(host, port)
            except Refused as refused:
                if key is not None:
                    found = self.refusals if refused.status.startswith("403") else self.failures
                    found[key] = refused.reason
                await _answer(writer, refused.status, refused.reason)
                return
            if method == b"CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                upstream.write(_origin_request(method, target, headers))
                await upstream.drain()
                await _relay_response_head(up_reader, writer)
            await _pipe_both(reader, writer, up_reader, upstream)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, OSError):
            pass
        except _BadRequest:
            with contextlib.suppress(Exception):
                await _answer(writer, "400 Bad Request", "bad request")
        except _NoCredentials:
            with contextlib.suppress(Exception):
                await _answer(
                    writer,
                    "407 Proxy Authentication Required",
                    "credentials needed",
                    CHALLENGE,
                )
        finally:
            for stream in (writer, upstream):
                if stream is not None:
                    stream.close()
            self._connections.discard(task)

    def _key_of(self, headers: dict[bytes, bytes]) -> object | None:
        credentials = headers.get(b"proxy-authorization", b"")
        scheme, _, encoded = credentials.partition(b" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise _NoCredentials from None
        if scheme.lower() != b"basic" or user != "follow" or password not in self._keys:
            raise _NoCredentials
        return self._keys[password]

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a checked address of the host: the addresses checked are the ones connected to."""
        loop = asyncio.get_running_loop()
        try:
            found = await asyncio.wait_for(loop.getaddrinfo(host, port, proto=6), CONNECT_SECONDS)
        except (OSError, UnicodeError, TimeoutError):
            raise Refused("502 Bad Gateway", _("The server %(host)s could not be found.") % {"host": host}) from None
        ips = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not ips or not all(self.allowed(ip) for ip in ips):
            raise Refused(
                "403 Forbidden",
                _(
                    "The stream led to %(host)s, on a private, loopback or link-local network: only the public "
                    "internet is followed."
                )
                % {"host": host},
            )
        for ip in ips:
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(asyncio.open_connection(ip, port, limit=HEAD_LIMIT), CONNECT_SECONDS)
        raise Refused("502 Bad Gateway", _("The server %(host)s did not answer.") % {"host": host})


class _BadRequest(Exception):
    pass


class _NoCredentials(Exception):
    pass


def _parse_head(head: bytes) -> tuple[bytes, bytes, dict[bytes, bytes]]:
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].split(b" ")
    except ValueError:
        raise _BadRequest from None
    if not version.startswith(b"HTTP/1."):
        raise _BadRequest
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise _BadRequest
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


def _destination(method: bytes, target: bytes) -> tuple[str, int]:
    """Where ffmpeg asks to go: CONNECT host:port for https, an absolute http:// URL for http."""
    try:
        text = target.decode("ascii")
        if method == b"CONNECT":
            parts = urlsplit(f"//{text}")
            host, port = parts.hostname, parts.port
        else:
            parts = urlsplit(text)
            if parts.scheme != "http":
                raise _BadRequest
            host, port = parts.hostname, parts.port or 80
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest from None
    if not host or not port:
        raise _BadRequest
    return host, port


def _origin_request(method: bytes, target: bytes, headers: dict[bytes, bytes]) -> bytes:
    """The request as the origin server takes it: its path, no proxy headers, and the connection closed after it."""
    parts = urlsplit(target.decode("ascii"))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [method + b" " + path.encode("ascii") + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in headers.items() if name not in HOP_HEADERS]
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _relay_response_head(up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The origin's status and headers, saying the connection closes after the response: ffmpeg then opens a new
    one (through here, checked again) for its next request instead of sending it down this one."""
    head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), HEAD_SECONDS)
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if line.partition(b":")[0].strip().lower() not in HOP_HEADERS]
    writer.write(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n")
    await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    """Both ways until the origin's side ends (or the client's, and the origin then has a moment to finish)."""
    sending = asyncio.create_task(_copy(reader, upstream, half_close=True))
    receiving = asyncio.create_task(_copy(up_reader, writer))
    try:
        await asyncio.wait([sending, receiving], return_when=asyncio.FIRST_COMPLETED)
        if not receiving.done():
            await asyncio.wait([receiving], timeout=CLIENT_GONE_SECONDS)
    finally:
        for task in (sending, receiving):
            task.cancel()
        await asyncio.gather(sending, receiving, return_exceptions=True)


async def _copy(source: asyncio.StreamReader, target: asyncio.StreamWriter, *, half_close: bool = False) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(COPY_BYTES):
            target.write(data)
            await target.drain()
        if half_close and target.can_write_eof():
            target.write_eof()


async def _answer(writer: asyncio.StreamWriter, status: str, reason: str, *extra: str) -> None:
    body = reason.encode()
    headers = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}"]
    writer.write("\r\n".join([*headers, *extra, "Connection: close", "", ""]).encode() + body)
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()


def allowed_by_settings(allow_private: bool) -> Callable[[str], bool]:
    return lambda ip: addresses.allowed_ip(ip, allow_private=allow_private)
