"""Web Push: this installation's VAPID keys (RFC 8292, signed by py-vapid), and one payload sent to many
subscriptions at once, each encrypted for its browser (RFC 8291, by http-ece, as pywebpush does) and posted to
its push service (RFC 8030, readers.push_client).

Each process sends from an event loop of its own on a thread, with one HTTP client, so connections to the push
services stay open from one batch to the next. Design: docs/architecture.md, *Alerts for readers*.
"""

import asyncio
import atexit
import base64
import binascii
import contextlib
import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid

from readers.push_client import Client, NoAnswer

log = logging.getLogger(__name__)

# A VAPID token is good for at most 24 hours (RFC 8292); ours for 12, signed again with an hour to go.
TOKEN_SECONDS = 12 * 3600
TOKEN_RENEW_SECONDS = 3600
RETRY_AFTER_MAX_SECONDS = 3600.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; binascii.Error for anything else."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


@dataclass(frozen=True)
class ServerKeys:
    vapid: Vapid
    public_key: str  # base64url of the uncompressed point: the browser's applicationServerKey
    subject: str


def server_keys() -> ServerKeys | None:
    """From VAPID_PRIVATE_KEY, else the data folder's key file; None when neither is there (alerts are off)."""
    return _server_keys(
        settings.VAPID_PRIVATE_KEY,
        str(settings.VAPID_KEY_FILE),
        settings.VAPID_PUBLIC_KEY,
        settings.VAPID_SUBJECT or (settings.SITE_URL if settings.SITE_URL.startswith("https://") else ""),
    )


@lru_cache(maxsize=4)
def _server_keys(private: str, key_file: str, public: str, subject: str) -> ServerKeys | None:
    if private:
        vapid = Vapid.from_pem(private.encode()) if "-----BEGIN" in private else Vapid.from_string(private)
    elif Path(key_file).is_file():
        vapid = Vapid.from_pem(Path(key_file).read_bytes())
    else:
        log.warning("alerts for readers are off: no VAPID_PRIVATE_KEY and no key file at %s", key_file)
        return None
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    derived = b64url(point)
    if public and public.rstrip("=") != derived:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY")
    return ServerKeys(vapid, derived, subject or "mailto:webpush@localhost")


def public_key() -> str:
    """The applicationServerKey for the page; empty when alerts are off."""
    keys = server_keys()
    return keys.public_key if keys else ""


@dataclass(frozen=True)
class Push:
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Outcome:
    subscription_id: int
    status: int  # the push service's answer; 0 when it gave none (refused, reset, timed out)
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription has expired or was never there (RFC 8030 §7.3): never send to it again."""
        return self.status in (404, 410)

    @property
    def worth_retrying(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header, in seconds from now or as an HTTP date (bounded)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_SECONDS)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(moment.timestamp() - time.time(), 0.0), RETRY_AFTER_MAX_SECONDS)


def origin_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class _Authorizations:
    """The VAPID Authorization header for each push service (its origin is the token's audience), signed once
    and used until it nears its expiry."""

    def __init__(self, keys: ServerKeys) -> None:
        self.keys = keys
        self.tokens: dict[str, tuple[float, str]] = {}

    def header(self, origin: str) -> str:
        now = time.time()
        cached = self.tokens.get(origin)
        if cached is None or cached[0] - now < TOKEN_RENEW_SECONDS:
            expires = int(now) + TOKEN_SECONDS
            signed = self.keys.vapid.sign({"aud": origin, "sub": self.keys.subject, "exp": expires})
            cached = (expires, signed["Authorization"])
            self.tokens[origin] = cached
        return cached[1]


def encrypt(push: Push, payload: bytes) -> bytes:
    """The aes128gcm body for this subscription (RFC 8291), as pywebpush makes it: a fresh ephemeral key and salt
    for every message."""
    return http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(push.p256dh),
        auth_secret=b64url_decode(push.auth),
        version="aes128gcm",
    )


class _Sender:
    """This process's push loop: a thread running an event loop with one HTTP client (keep-alive connections per
    push service). Started on first use in each process, so a forked worker makes its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Client | None = None
        self.authorizations: dict[str, _Authorizations] = {}

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        with self.lock:
            if self.pid != os.getpid() or self.loop is None:
                self.loop = asyncio.new_event_loop()
                self.client = None
                threading.Thread(target=self.loop.run_forever, name="webpush", daemon=True).start()
                if not self.pid:
                    atexit.register(self.close)
                self.pid = os.getpid()
            loop = self.loop
        return asyncio.run_coroutine_threadsafe(make(), loop).result()

    def close(self) -> None:
        """At exit: the kept connections closed."""
        loop, client = self.loop, self.client
        if loop is None or client is None or self.pid != os.getpid() or not loop.is_running():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(client.close(), loop).result(2)

    async def http(self) -> Client:
        if self.client is not None and self.client.timeout != settings.PUSH_TIMEOUT_SECONDS:
            await self.client.close()
            self.client = None
        if self.client is None:
            self.client = Client(timeout=settings.PUSH_TIMEOUT_SECONDS)
        return self.client

    def authorization(self, keys: ServerKeys, origin: str) -> str:
        signer = self.authorizations.get(keys.public_key)
        if signer is None or signer.keys is not keys:
            signer = self.authorizations[keys.public_key] = _Authorizations(keys)
        return signer.header(origin)


_sender = _Sender()


def send(pushes: list[Push], payload: bytes, *, topic: str, ttl: int, urgency: str = "normal") -> list[Outcome]:
    """Encrypts `payload` for each subscription and posts it, PUSH_CONCURRENCY at a time; returns every answer."""
    keys = server_keys()
    if keys is None:
        raise ImproperlyConfigured("alerts for readers need VAPID keys: run `python -m liveblog_site.datadir`")
    limit = settings.PUSH_CONCURRENCY
    return _sender.run(lambda: _send_all(pushes, payload, keys, limit, topic=topic, ttl=ttl, urgency=urgency))


async def _send_all(
    pushes: list[Push], payload: bytes, keys: ServerKeys, limit: int, *, topic: str, ttl: int, urgency: str
) -> list[Outcome]:
    client = await _sender.http()
    common = {
        "TTL": str(ttl),
        "Topic": topic,
        "Urgency": urgency,
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
    }
    pending = iter(pushes)
    outcomes: list[Outcome] = []

    async def work() -> None:
        # `limit` workers take the next push in turn: bounded concurrency without a task per subscriber.
        for push in pending:
            outcomes.append(await _post(client, push, payload, keys, common))

    await asyncio.gather(*(work() for _ in range(min(limit, len(pushes)) or 1)))
    return outcomes


async def _post(client: Client, push: Push, payload: bytes, keys: ServerKeys, common: dict[str, str]) -> Outcome:
    try:
        body = encrypt(push, payload)
        headers = {**common, "Authorization": _sender.authorization(keys, origin_of(push.endpoint))}
        answer = await client.post(push.endpoint, headers, body)
    except (ValueError, TypeError, binascii.Error) as error:
        # Keys or an address no browser could have made (checked when subscribing): it can never be told.
        log.warning("subscription %s cannot be sent to (%s): dropped", push.subscription_id, error)
        return Outcome(push.subscription_id, 410)
    except NoAnswer as error:
        log.debug("push to subscription %s got no answer: %s", push.subscription_id, error)
        return Outcome(push.subscription_id, 0)
    return Outcome(push.subscription_id, answer.status, retry_after_seconds(answer.headers.get("retry-after")))
