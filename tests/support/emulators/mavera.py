"""A Mavera emulator: a real HTTP server on 127.0.0.1 speaking the documented wire format, failures included.

POST /generations (prompt, or app_id + input_data; PENDING → RUNNING → COMPLETED via GET /generations/{id}),
POST /responses (model mavera-1), the error body {"error": {...}}, X-RateLimit-* headers on every answer,
Retry-After on 429, slow answers, hostile text, and a scriptable share of failures. Every request is recorded
in `calls` (method, path, JSON body, status), so tests read exactly what the drafter sent.
"""

import json
import random
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERRORS = {
    400: ("invalid_request_error", "invalid_request", "Invalid request: unknown field, model or persona."),
    401: ("authentication_error", "invalid_api_key", "Invalid API key provided."),
    402: ("billing_error", "insufficient_credits", "Credits exhausted: top up or raise the budget."),
    403: ("permission_error", "forbidden", "This key may not use this workspace."),
    404: ("not_found_error", "not_found", "No such generation app."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded. Retry after the given seconds."),
    500: ("api_error", "internal_error", "Internal server error."),
    503: ("api_error", "service_unavailable", "Service temporarily unavailable."),
}
# A few German words and their English, for translations (MaveraEmulator.translation_words).
GERMAN_TO_ENGLISH = {
    "die": "the", "der": "the", "das": "the", "den": "the", "dem": "the", "ein": "a", "eine": "a", "und": "and",
    "sagt": "says", "spricht": "speaks", "über": "about", "heute": "today", "firma": "company", "wächst": "grows",
    "um": "by", "prozent": "percent", "auf": "to", "millionen": "million", "euro": "euros", "neue": "new",
    "neuen": "new", "gäste": "guests", "kommen": "come", "im": "in the", "saal": "hall", "mit": "with",
    "rede": "speech", "eröffnet": "opens", "konferenz": "conference", "jahr": "year", "in": "in", "es": "there",
    "sind": "are", "leute": "people", "zahlen": "figures", "nennt": "gives", "zukunft": "future",
}  # fmt: skip
HOSTILE_HEAD = "<script>alert('pwned')</script>"
HOSTILE_TAIL = " [Read more](javascript:alert(document.cookie)) <img src=x onerror=alert(1)>"


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    status: int
    at: float
    authorization: str = ""


@dataclass
class MaveraEmulator:
    failure_ratio: float = 0.0
    failure_statuses: tuple[int, ...] = (500, 503, 429)
    retry_after: int = 1
    slow_seconds: float = 0.0
    slow_calls: int = 0  # how many of the next POSTs answer after slow_seconds
    pending_polls: int = 0  # generations answer PENDING, then RUNNING, then COMPLETED after this many polls
    hostile: bool = False
    credits_per_call: int = 12
    fewest_credits_per_call: int | None = None  # set: each call bills between this and credits_per_call
    answer_words: int = 90  # the answer is "Live: " and the transcript's first words, this many at most
    append_text: str = ""  # added to every answer, as a model might add a link or an address
    summary_points: int = 4  # a summary (published posts fenced) answers with the first sentence of this many
    summary_extra: str = ""  # a point added to every summary, as a model might add one of its own
    # A translation (an <original_post> fenced) is the original word by word through this table (case kept, unknown
    # words as they are), headline on the first line; translation_extra is added, as a model might add a sentence.
    translation_words: dict[str, str] = field(default_factory=lambda: dict(GERMAN_TO_ENGLISH))
    translation_extra: str = ""
    rate_limit: int = 600
    seed: int = 4
    script: deque[int] = field(default_factory=deque)  # statuses forced on the next POSTs, in order
    calls: list[Call] = field(default_factory=list)
    credits_billed: int = 0  # what Mavera would charge for every completed call so far

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._generations: dict[str, dict[str, Any]] = {}
        self._polls_left: dict[str, int] = {}
        self._window: deque[float] = deque()
        self._stopping = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> str:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                emulator.handle(self, "POST")

            def do_GET(self) -> None:
                emulator.handle(self, "GET")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def stop(self) -> None:
        self._stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> "MaveraEmulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the tests read -------------------------------------------------------------------------
    def posts(self, status: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == "POST" and (status is None or c.status == status)]

    @property
    def billed(self) -> int:
        """Completed drafts Mavera would charge for: a retry after a timeout may be billed twice."""
        return len(self.posts(200))

    def bill(self, most: int) -> int:
        """What one completed call costs: `most`, or with fewest_credits_per_call set, anything up to it."""
        fewest = min(self.fewest_credits_per_call or most, most)
        with self._lock:
            credits = self._random.randint(fewest, most)
            self.credits_billed += credits
        return credits

    # --- the wire ------------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        status, payload, headers = self.answer(method, request.path, request.headers.get("Authorization", ""), body)
        with self._lock:
            self.calls.append(
                Call(
                    method, request.path, body or {}, status, time.monotonic(), request.headers.get("Authorization", "")
                )
            )
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("X-Request-Id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    def answer(
        self, method: str, path: str, authorization: str, body: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers = self.rate_headers()
        if not authorization.startswith("Bearer mvra_"):
            return self.error(401, headers)
        if method == "POST":
            with self._lock:
                slow = self.slow_calls > 0
                self.slow_calls -= 1 if slow else 0
                forced = self.script.popleft() if self.script else None
                failing = forced is None and self._random.random() < self.failure_ratio
                status = forced or (self._random.choice(self.failure_statuses) if failing else 200)
            if slow:
                self._stopping.wait(self.slow_seconds)
            if int(headers["X-RateLimit-Remaining"]) < 0:
                status = 429
            if status != 200:
                return self.error(status, headers)
        if body is None:
            return self.error(400, headers, "Body is not JSON.")
        if method == "POST" and path == "/api/v1/generations":
            return self.generation(body, headers)
        if method == "POST" and path == "/api/v1/responses":
            return self.response(body, headers)
        match = re.fullmatch(r"/api/v1/generations/([\w-]+)", path)
        if method == "GET" and match:
            return self.poll(match.group(1), headers)
        return self.error(404, headers, f"No route {method} {path}.")

    def rate_headers(self) -> dict[str, str]:
        now = time.time()
        with self._lock:
            while self._window and self._window[0] < now - 60:
                self._window.popleft()
            self._window.append(now)
            remaining = self.rate_limit - len(self._window)
            reset = int((self._window[0] if self._window else now) + 60)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    def error(
        self, status: int, headers: dict[str, str], message: str = ""
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        kind, code, default = ERRORS.get(status, ("api_error", "error", "Error."))
        if status == 429:
            headers = {**headers, "Retry-After": str(self.retry_after)}
            headers["X-RateLimit-Remaining"] = "0"
        return status, {"error": {"message": message or default, "type": kind, "code": code, "param": None}}, headers

    def text_for(self, source: str) -> str:
        """Like a model that follows its brief: it writes from the fenced transcript (or notes), not the rest; asked
        for the story so far, from the fenced published posts, one point a line."""
        original = re.search(r"<original_post>\n(.*)\n</original_post>", source, re.DOTALL)
        if original and "<transcript" not in source:
            return self.translation_for(source, original.group(1))
        posts = re.search(r"<published_posts>\n(.*)\n</published_posts>", source, re.DOTALL)
        if posts and "<transcript" not in source:
            return self.summary_for(posts.group(1))
        fenced = re.search(r"<(transcript|transcript_notes)>\n(.*)\n</\1>", source, re.DOTALL)
        transcript = fenced.group(2) if fenced else source.split("\n\n", 1)[-1]
        words = re.findall(r"\S+", transcript)[: self.answer_words] or ["Nothing", "new", "yet."]
        text = "Live: " + " ".join(words) + self.append_text
        return f"{HOSTILE_HEAD}{text}{HOSTILE_TAIL}" if self.hostile else text

    def summary_for(self, posts: str) -> str:
        """The first sentence of each of the latest posts (their [marks] left out), one "- " point a line."""
        updates = [re.sub(r"^- (?:\[[a-z ]+\] )*", "", line) for line in posts.splitlines() if line.startswith("- ")]
        points = [re.split(r"(?<=[.!?])\s", update, maxsplit=1)[0] for update in updates[-self.summary_points :]]
        points += [self.summary_extra] if self.summary_extra else []
        text = "The story so far:\n" + "\n".join(f"- {point}" for point in points)
        return f"{HOSTILE_HEAD}{text}{HOSTILE_TAIL}" if self.hostile else text

    def translation_for(self, source: str, body: str) -> str:
        """The fenced headline (if any) and post, word for word through translation_words, as the brief asks:
        the headline, a blank line, the post."""
        headline = re.search(r"<original_headline>\n(.*)\n</original_headline>", source, re.DOTALL)
        text = self.word_for_word(body) + self.translation_extra
        if "into English" in source:  # as a model writes English numbers: 3.5, not 3,5
            text = re.sub(r"(?<=\d),(?=\d)", ".", text)
        if headline:
            text = f"{self.word_for_word(headline.group(1))}\n\n{text}"
        return f"{HOSTILE_HEAD}{text}{HOSTILE_TAIL}" if self.hostile else text

    def word_for_word(self, text: str) -> str:
        def one(match: re.Match) -> str:
            word = match.group()
            found = self.translation_words.get(word) or self.translation_words.get(word.lower())
            if found is None:
                return word
            # Capitalised as the target writes it: at the start of a sentence (German capitalises every noun).
            starts = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?\n"
            return found[:1].upper() + found[1:] if starts and word[:1].isupper() else found

        return re.sub(r"[^\W_]+(?:[.,]\d+)*", one, text)

    def generation(self, body: dict[str, Any], headers: dict[str, str]):
        if "prompt" in body:
            source = body["prompt"]
        elif "app_id" in body and isinstance(body.get("input_data"), dict):
            if not str(body["app_id"]).startswith("app_"):
                return self.error(404, headers, f"Generation app {body['app_id']} not found.")
            source = "\n\n".join(str(v) for v in body["input_data"].values())
        else:
            return self.error(400, headers, "app_id and input_data are required.")
        if not isinstance(source, str) or not source.strip():
            return self.error(400, headers, "The prompt is empty.")
        generation_id = f"gen_{uuid.uuid4().hex[:20]}"
        text = self.text_for(source)
        done = {
            "id": generation_id,
            "object": "generation",
            "title": "Live blog update",
            "app": body.get("app_id") or "prompt",
            "status": "COMPLETED",
            "output": text,
            "content": text,
            "content_type": "markdown",
            "usage": {"credits_used": self.bill(self.credits_per_call)},
            "created_at": int(time.time()),
        }
        with self._lock:
            self._generations[generation_id] = done
            self._polls_left[generation_id] = self.pending_polls
        if self.pending_polls:
            return 200, {**done, "status": "PENDING", "output": None, "content": None, "usage": {}}, headers
        return 200, done, headers

    def poll(self, generation_id: str, headers: dict[str, str]):
        with self._lock:
            done = self._generations.get(generation_id)
            if done is None:
                return self.error(404, headers, f"Generation {generation_id} not found.")
            left = self._polls_left[generation_id]
            self._polls_left[generation_id] = max(0, left - 1)
        if left > 1:
            return 200, {**done, "status": "RUNNING", "output": None, "content": None, "usage": {}}, headers
        return 200, done, headers

    def response(self, body: dict[str, Any], headers: dict[str, str]):
        if body.get("model") != "mavera-1":
            return self.error(400, headers, f"Unknown model {body.get('model')!r}.")
        if not isinstance(body.get("input"), str) or not body["input"].strip():
            return self.error(400, headers, "input is required.")
        if len(body["input"]) > 100_000:
            return self.error(400, headers, "input is longer than 100,000 characters.")
        text = self.text_for(body["input"])
        return (
            200,
            {
                "id": f"resp_{uuid.uuid4().hex[:20]}",
                "object": "response",
                "status": "completed",
                "model": "mavera-1",
                "output": [
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
                ],
                "usage": {
                    "input_tokens": 900,
                    "output_tokens": 160,
                    "total_tokens": 1060,
                    "credits_used": self.bill(3),
                },
            },
            headers,
        )
