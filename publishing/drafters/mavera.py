"""Mavera over HTTP: POST /generations (polled while pending) or POST /responses, with retries that respect limits."""

import random
import time
from typing import Any

import httpx
from django.conf import settings

from publishing.drafters.base import Completion, Drafter, DraftingFailed, DraftingUnavailable

RETRYABLE = {429, 500, 502, 503, 504}
PENDING = {"PENDING", "RUNNING", "QUEUED", "pending", "running", "queued", "in_progress"}
POLL_SECONDS = 1.0


def error_message(response: httpx.Response) -> str:
    """The API's own words, as editors should read them: `402 insufficient_credits: Credits exhausted`."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    label = error.get("code") or error.get("type") or response.reason_phrase
    message = error.get("message") or response.text[:300] or "no message"
    return f"{response.status_code} {label}: {message}"


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 0.0


def generation_text(body: dict[str, Any]) -> str:
    for key in ("output", "content", "markdown"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
    raise DraftingFailed("Mavera answered without output, content or markdown")


def response_text(body: dict[str, Any]) -> str:
    try:
        return body["output"][0]["content"][0]["text"]
    except (KeyError, IndexError, TypeError):
        raise DraftingFailed("Mavera answered without output[0].content[0].text") from None


class MaveraDrafter(Drafter):
    name = "mavera"

    def __init__(self) -> None:
        self.endpoint = settings.MAVERA_ENDPOINT
        # The responses endpoint takes 100,000 characters; generations prompts are kept short.
        self.chunk_chars = 100_000 if self.endpoint == "responses" else settings.MAVERA_CHUNK_CHARS
        self.max_credits_per_call = settings.MAVERA_MAX_CREDITS_PER_CALL
        self.max_attempts = settings.MAVERA_MAX_ATTEMPTS
        self.backoff = settings.MAVERA_BACKOFF_SECONDS
        self.timeout = settings.MAVERA_TIMEOUT_SECONDS

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=settings.MAVERA_BASE_URL.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {settings.MAVERA_API_KEY}", "Accept": "application/json"},
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
        )

    def body(self, instructions: str, data: str) -> dict[str, Any]:
        persona = settings.MAVERA_PERSONA_ID
        if self.endpoint == "responses":
            body: dict[str, Any] = {"model": "mavera-1", "instructions": instructions, "input": data}
        elif settings.MAVERA_APP_ID:
            body = {
                "app_id": settings.MAVERA_APP_ID,
                "input_data": {settings.MAVERA_INPUT_FIELD: f"{instructions}\n\n{data}"},
            }
        else:
            # One prompt: the data follows the instructions, inside its fences.
            body = {"prompt": f"{instructions}\n\n{data}"}
        if persona:
            body["persona_id"] = persona
        return body

    def complete(self, instructions: str, data: str) -> Completion:
        started = time.monotonic()
        with self.client() as client:
            answer = self.send(client, "POST", self.endpoint, json=self.body(instructions, data))
            if self.endpoint == "generations":
                deadline = started + self.timeout
                while answer.get("status") in PENDING:
                    if time.monotonic() > deadline:
                        raise DraftingUnavailable(
                            f"generation {answer.get('id')} still pending after {self.timeout:.0f} s"
                        )
                    if not answer.get("id"):
                        raise DraftingFailed("Mavera answered PENDING without a generation id to poll")
                    time.sleep(POLL_SECONDS)
                    answer = self.send(client, "GET", f"generations/{answer['id']}")
                if str(answer.get("status", "COMPLETED")).upper() == "FAILED":
                    raise DraftingFailed(
                        f"generation {answer.get('id')} failed: {answer.get('error') or 'no reason given'}"
                    )
                text_out = generation_text(answer)
            else:
                text_out = response_text(answer)
        usage = answer.get("usage") or {}
        return Completion(
            text=text_out,
            request_id=str(answer.get("id") or ""),
            credits_used=int(usage.get("credits_used") or 0),
            latency_ms=round((time.monotonic() - started) * 1000),
        )

    def send(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call, retried on 429/5xx/timeouts up to MAVERA_MAX_ATTEMPTS; other errors raise at once."""
        problem = ""
        wait = 0.0
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(wait)
            try:
                response = client.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # timeouts and refused connections: the service may be back soon
                problem = f"{type(exc).__name__}: {exc}"
                wait = self.backoff_seconds(attempt)
                continue
            if response.status_code in RETRYABLE:
                problem = error_message(response)
                wait = self.backoff_seconds(attempt)
                if response.status_code == 429:
                    wait = max(wait, _retry_after(response))
                continue
            if response.is_error:
                raise DraftingFailed(error_message(response))
            try:
                return response.json()
            except ValueError:
                raise DraftingFailed(f"{response.status_code}: answer is not JSON: {response.text[:200]}") from None
        raise DraftingUnavailable(f"gave up after {self.max_attempts} attempts: {problem}", retry_after=wait)

    def backoff_seconds(self, attempt: int) -> float:
        # Exponential with full jitter, so many workers do not retry in step.
        return self.backoff * (2**attempt) * (0.5 + random.random())
