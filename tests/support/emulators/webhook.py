"""A webhook receiver (as Slack's incoming webhooks are): a real HTTP server on 127.0.0.1 that records each POST.

`statuses` scripts the answers to the next POSTs in order (then 200), so a test can make it fail and recover.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    content_type: str
    body: Any
    status: int


@dataclass
class WebhookReceiver:
    statuses: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def __enter__(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver.received.append(
                        Received(self.path, self.headers.get("Content-Type", ""), json.loads(raw or b"null"), status)
                    )
                answer = b"ok" if status == 200 else b"unavailable"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/desk"

    @property
    def delivered(self) -> list[Any]:
        """The bodies of the POSTs answered 200."""
        return [request.body for request in self.received if request.status == 200]
