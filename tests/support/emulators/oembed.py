"""An oEmbed provider (as YouTube's or Vimeo's are): a real HTTP server on 127.0.0.1 speaking oEmbed 1.0 JSON at
/oembed, serving each item's thumbnail (a real JPEG) and its player page, and recording every request.

Its items are addressed as https://<host>/watch/<id> (host video.example unless told), an address nobody fetches:
only the endpoint is.
`fail` makes the endpoint fail one way (FAILURES), `thumbnail_fail` the thumbnails (THUMBNAIL_FAILURES);
`thumbnail_url` and `player_origin` make its answers point elsewhere. `provider()` is its settings entry.
"""

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

from PIL import Image

FAILURES = ("404", "500", "401", "slow", "drip", "oversize", "oversize_unannounced", "malformed", "not_oembed",
            "wrong_type", "redirect", "gzip")  # fmt: skip
THUMBNAIL_FAILURES = ("404", "not_image", "svg", "oversize", "slow")
ITEM = re.compile(r"https://[\w.-]+/watch/(?P<id>[\w-]{1,40})")


@dataclass
class Item:
    """One video or post the provider knows."""

    title: str
    author_name: str = "Emulated Channel"
    type: str = "video"  # video, rich, photo or link
    width: int = 640
    height: int = 360
    thumbnail: bool = True
    html: str | None = None  # the oEmbed html; None: an iframe of its player


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class OEmbedEmulator:
    items: dict[str, Item] = field(default_factory=dict)
    fail: str | None = None
    thumbnail_fail: str | None = None
    thumbnail_url: str | None = None
    player_origin: str | None = None
    slow_seconds: float = 5.0
    name: str = "Emulated Video"
    host: str = "video.example"
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        picture = BytesIO()
        Image.new("RGB", (480, 360), (30, 120, 200)).save(picture, "JPEG")
        self.jpeg = picture.getvalue()

    def __enter__(self) -> "OEmbedEmulator":
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with emulator._lock:
                    emulator.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers)))
                if parts.path == "/oembed":
                    emulator._oembed(self, parse_qs(parts.query))
                elif parts.path.startswith("/thumbs/"):
                    emulator._thumbnail(self)
                elif parts.path.startswith("/player/"):
                    item_id = parts.path.removeprefix("/player/")
                    page = f"<!doctype html><title>Player</title><p id=playing>Playing {item_id}</p>".encode()
                    emulator._send(self, 200, "text/html; charset=utf-8", page)
                else:
                    emulator._send(self, 404, "text/plain", b"not found")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def origin(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def provider(self, **overrides) -> dict:
        """This emulator as an entry of settings.EMBED_PROVIDERS."""
        return {
            "name": self.name,
            "endpoint": f"{self.origin}/oembed",
            "urls": [rf"https://{re.escape(self.host)}/watch/(?P<id>[\w-]{{1,40}})"],
            "frame_origins": [self.player_origin or self.origin],
            "thumbnail_origins": [self.origin],
            "player": {"from": "iframe"},
            **overrides,
        }

    def paths(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [request.path for request in self.requests if request.path.startswith(prefix)]

    def forget(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- answers -------------------------------------------------------------------------------------------

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes, **headers: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    def _oembed(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        if self.fail in ("404", "500", "401"):
            self._send(handler, int(self.fail), "text/plain", b"failing as told")
            return
        if self.fail == "slow":
            self._stop.wait(self.slow_seconds)
        if self.fail == "redirect":
            self._send(handler, 302, "text/plain", b"", Location="http://169.254.169.254/latest/meta-data/")
            return
        if query.get("format", ["json"])[0] != "json":
            self._send(handler, 501, "text/plain", b"json only")
            return
        found = ITEM.fullmatch(query.get("url", [""])[0])
        item = self.items.get(found.group(1)) if found else None
        if item is None:
            self._send(handler, 404, "text/plain", b"no such item")
            return
        body = json.dumps(self._answer(found.group(1), item)).encode()
        content_type = "application/json"
        if self.fail == "oversize":
            body = json.dumps({**self._answer(found.group(1), item), "padding": "x" * 2_000_000}).encode()
        elif self.fail == "malformed":
            body = body[: len(body) // 2]
        elif self.fail == "not_oembed":
            body = b'["a list, not an object"]'
        elif self.fail == "wrong_type":
            content_type = "text/html; charset=utf-8"
        elif self.fail == "gzip":
            self._send(handler, 200, content_type, body, Content_Encoding="gzip")
            return
        if self.fail == "oversize_unannounced":
            self._stream(handler, content_type, [b"{" + b" " * 65536] * 40)
        elif self.fail == "drip":
            self._stream(handler, content_type, [body[i : i + 1] for i in range(len(body))], pause=0.2)
        else:
            self._send(handler, 200, content_type, body)

    def _stream(self, handler, content_type: str, chunks: list[bytes], pause: float = 0.0) -> None:
        """An answer with no Content-Length, its end told by closing the connection (HTTP/1.0)."""
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        try:
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
                if pause and self._stop.wait(pause):
                    return
        except OSError:
            pass  # the client gave up, as it should

    def _answer(self, item_id: str, item: Item) -> dict:
        player = f"{self.player_origin or self.origin}/player/{item_id}"
        answer = {
            "version": "1.0",
            "type": item.type,
            "title": item.title,
            "author_name": item.author_name,
            "author_url": f"{self.origin}/channel",
            "provider_name": self.name,
            "provider_url": self.origin,
        }
        if item.type in ("video", "rich"):
            answer |= {
                "width": item.width,
                "height": item.height,
                "html": item.html
                if item.html is not None
                else f'<iframe width="{item.width}" height="{item.height}" src="{player}" frameborder="0" '
                'allow="autoplay; encrypted-media" allowfullscreen></iframe>',
            }
        if item.thumbnail:
            answer |= {
                "thumbnail_url": self.thumbnail_url or f"{self.origin}/thumbs/{item_id}.jpg",
                "thumbnail_width": 480,
                "thumbnail_height": 360,
            }
        return answer

    def _thumbnail(self, handler: BaseHTTPRequestHandler) -> None:
        fail = self.thumbnail_fail
        if fail == "404":
            self._send(handler, 404, "text/plain", b"gone")
        elif fail == "not_image":
            self._send(handler, 200, "image/jpeg", b"<html>not a picture at all</html>")
        elif fail == "svg":
            self._send(handler, 200, "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
        elif fail == "oversize":
            self._send(handler, 200, "image/jpeg", self.jpeg + b"\0" * 5_000_000)
        elif fail == "slow":
            self._stop.wait(self.slow_seconds)
            self._send(handler, 200, "image/jpeg", self.jpeg)
        else:
            self._send(handler, 200, "image/jpeg", self.jpeg)
