"""One connection to a stream: ffmpeg pulls it and turns its audio into 16 kHz mono linear16 frames.

ffmpeg may use only the network protocols of the address's scheme (never file:, data: or a playlist's other
tricks); its http and https go through the follower's GuardedProxy; rtmp and srt connect to the address checked
a moment before (the host name is not looked up again). Why each, and what is left: docs/follow-streams.md."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext as _

from transcription.feed import read_frame
from transcription.follow.addresses import Address
from transcription.speech.base import SAMPLE_RATE

STDERR_LINES = 3
FFMPEG_CONTEXT = re.compile(r"\[[\w:./-]+ @ 0x[0-9a-f]+\] ")  # "[http @ 0x55ae72fc8540] ": where, not what
STDERR_LINE_CHARS = 300
PROTOCOLS = {
    "http": "http,https,tcp,tls,crypto,httpproxy",
    "https": "http,https,tcp,tls,crypto,httpproxy",
    "rtmp": "rtmp,tcp",
    "rtmps": "rtmps,tcp,tls",
    "srt": "srt",
}


def ffmpeg_args(address: Address, ip: str, proxy_url: str, *, timeout_seconds: float) -> list[str]:
    """The ffmpeg command for one connection to `address`, whose host was just checked to lead to `ip`."""
    options = ["-protocol_whitelist", PROTOCOLS[address.scheme], "-rw_timeout", str(int(timeout_seconds * 1e6))]
    url = address.url
    if address.scheme in ("http", "https"):
        options += ["-http_proxy", proxy_url]
    elif address.scheme == "rtmp":
        # Connect to the checked address; the server still hears the host name it was asked for (tcUrl).
        options += ["-rtmp_tcurl", rtmp_tcurl(address)]
        url = with_host(address.url, ip)
    elif address.scheme == "srt":
        url = with_host(address.url, ip)
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", *options, "-i", url,
        "-vn", "-sn", "-dn", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-",
    ]  # fmt: skip


def with_host(url: str, ip: str) -> str:
    parts = urlsplit(url)
    host = f"[{ip}]" if ":" in ip else ip
    userinfo, _at, _hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@{host}" if userinfo else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def rtmp_tcurl(address: Address) -> str:
    """The tcUrl ffmpeg would send for the address as written: its application is the path's first part, or
    its first two when the play path has a further '/' (as ffmpeg's rtmpproto splits it)."""
    path = urlsplit(address.url).path
    if path.startswith("/ondemand/"):
        app = "ondemand"
    else:
        rest = path[1:] if path else path
        first = rest.find("/")
        if first < 0:
            app = rest
        else:
            after = rest[first + 1 :]
            colon, slash = after.find(":"), after.find("/")
            app = rest[:first] if slash < 0 or (0 <= colon < slash) else rest[: first + 1 + slash]
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{address.scheme}://{host}:{address.port}/{app}"


def child_env(proxy_url: str) -> dict[str, str]:
    """ffmpeg's environment: none of ours (no keys, no database), and the proxy for any http it opens."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TZ") if key in os.environ}
    env["http_proxy"] = proxy_url
    return env


class Connection:
    """One ffmpeg run: `frames()` until the stream ends, stalls or is closed; then `reason` says why it ended."""

    def __init__(self, args: list[str], env: dict[str, str], *, stall_seconds: float):
        self.args = args
        self.env = env
        self.stall_seconds = stall_seconds
        self.reason = ""
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.process: asyncio.subprocess.Process | None = None
        self.closed = False

    async def frames(self) -> AsyncIterator[bytes]:
        if shutil.which("ffmpeg") is None:
            self.reason = _("ffmpeg is not installed on the follower's machine.")
            return
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            env=self.env,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        errors = asyncio.create_task(self._read_stderr(self.process.stderr))
        try:
            while not self.closed:  # closed while ffmpeg was starting: it is stopped at once
                try:
                    frame = await asyncio.wait_for(read_frame(self.process.stdout), self.stall_seconds)
                except TimeoutError:
                    self.reason = _("no audio came for %(seconds)g s") % {"seconds": self.stall_seconds}
                    return
                if not frame:
                    return
                yield frame
        finally:
            await self._end()
            errors.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await errors
            if not self.reason and not self.closed:
                self.reason = self._exit_reason()

    async def close(self) -> None:
        """Stop ffmpeg at once (a stop, or the follower going away)."""
        self.closed = True
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def _end(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()

    def _exit_reason(self) -> str:
        said = "; ".join(self.stderr)
        code = self.process.returncode if self.process is not None else None
        if code in (0, None):
            return _("the stream ended") + (f" ({said})" if said else "")
        return _("ffmpeg stopped with code %(code)s") % {"code": code} + (f": {said}" if said else "")

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        with contextlib.suppress(ValueError, asyncio.LimitOverrunError):
            while line := await stderr.readline():
                text = FFMPEG_CONTEXT.sub("", line.decode(errors="replace")).strip()
                text = _redacted(text, self.env.get("http_proxy", ""))[:STDERR_LINE_CHARS]
                if text and text not in self.stderr:
                    self.stderr.append(text)


def _redacted(text: str, proxy_url: str) -> str:
    return text.replace(proxy_url, "(proxy)") if proxy_url else text
