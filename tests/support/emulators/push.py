"""A Web Push service on loopback (RFC 8030), as a browser's push service is, with its own HTTP/1.1 server.

It makes subscriptions as a browser does: a P-256 key pair and a 16-byte auth secret of its own, bound to the
application server key the page subscribed with. For each push it checks what a real push service checks: the
VAPID Authorization (RFC 8292: `vapid t=<JWT>, k=<key>`, the JWT's ES256 signature under that key, the key the
one the subscription was made with, `aud` its own origin, `exp` in the future and within 24 hours, a `sub`), a TTL
header, Content-Encoding aes128gcm and a body of at most 4096 bytes; then it decrypts the body (RFC 8188 and 8291)
with the subscription's private key, here with the primitives themselves, independently of the sender's library.

It answers 201 and records each decrypted payload; 404 for an endpoint it never made, 404 or 410 for one `expire`d;
`script(subscription, (429, "1"), (503, None))` sets the next answers for one endpoint (with Retry-After). Its
answers' bodies are framed by Content-Length, or by `style` "chunked" or "close" (as push services' vary);
`drop_idle_connections()` closes kept connections as a push service does after its keep-alive timeout, and
`slow(subscription, seconds)` delays the answers for one endpoint.
A JWT whose signature was checked once is not checked again (as a push service caches it); its claims are.
"""

import asyncio
import base64
import contextlib
import hmac
import ipaddress
import json
import secrets
import ssl
import struct
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

MAX_PAYLOAD_BYTES = 4096
REASONS = {201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 410: "Gone", 413: "Payload Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}  # fmt: skip


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Subscription:
    token: str
    endpoint: str
    p256dh: str
    auth: str
    private_key: ec.EllipticCurvePrivateKey
    application_server_key: str

    def as_json(self) -> dict:
        """What PushSubscription.toJSON() gives a page."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class Delivery:
    token: str
    payload: bytes
    ttl: int
    topic: str | None
    urgency: str | None
    at: float  # time.monotonic(), comparable across processes on Linux

    def json(self) -> dict:
        return json.loads(self.payload)


@dataclass
class Refusal:
    token: str
    status: int
    reason: str


def decrypt(body: bytes, subscription: Subscription) -> bytes:
    """RFC 8291 §3.4 over RFC 8188's aes128gcm: one record, its padding delimiter 0x02."""
    if len(body) < 21:
        raise Refused(400, "no aes128gcm header")
    salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    if id_length != 65 or record_size < 18:
        raise Refused(400, "the keyid must be the sender's 65-byte public key")
    sender_public, ciphertext = body[21:86], body[86:]
    if not ciphertext or len(ciphertext) > record_size:
        raise Refused(400, "one record of at most rs bytes expected")
    try:
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
    except ValueError:
        raise Refused(400, "the keyid is not a P-256 point") from None
    receiver_public = b64url_decode(subscription.p256dh)
    shared = subscription.private_key.exchange(ec.ECDH(), sender_key)
    ikm = _hmac(
        _hmac(b64url_decode(subscription.auth), shared), b"WebPush: info\0" + receiver_public + sender_public + b"\1"
    )
    prk = _hmac(salt, ikm)
    key = _hmac(prk, b"Content-Encoding: aes128gcm\0\1")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\0\1")[:12]
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise Refused(400, "the body does not decrypt with the subscription's keys") from None
    end = plain.rstrip(b"\0")
    if not end.endswith(b"\2"):
        raise Refused(400, "the last record's padding delimiter must be 0x02")
    return end[:-1]


@dataclass
class PushService:
    """Start with `with PushService() as service:`; `service.subscribe(key)` makes a browser's subscription."""

    deliveries: list[Delivery] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    style: str = "length"  # how answers' bodies are framed: "length", "chunked" or "close"
    tls: bool = False  # https, with a certificate of its own for 127.0.0.1 (`client_tls()` trusts it)

    def __post_init__(self) -> None:
        self.delays: dict[str, float] = {}
        self.open_connections: set[_Connection] = set()
        self.subscriptions: dict[str, Subscription] = {}
        self.answers: dict[str, deque[tuple[int, str | None]]] = {}
        self.expired: dict[str, int] = {}
        self.checked_tokens: dict[str, dict] = {}
        self.connections = 0
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    # --- the test's side ---

    def __enter__(self) -> "PushService":
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        server_tls = self._server_tls() if self.tls else None

        async def start() -> None:
            self.server = await self.loop.create_server(
                lambda: _Connection(self), "127.0.0.1", 0, backlog=1024, ssl=server_tls
            )
            self.port = self.server.sockets[0].getsockname()[1]

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="push-service", daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self.server is not None

        async def stop() -> None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _server_tls(self) -> ssl.SSLContext:
        """A self-signed certificate for 127.0.0.1, made for this run."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push service emulator")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="push-service-") as folder:  # the ssl module loads from files only
            (Path(folder) / "cert.pem").write_bytes(self.certificate_pem)
            (Path(folder) / "key.pem").write_bytes(pem)
            context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")
        return context

    def client_tls(self) -> ssl.SSLContext:
        """A client context that verifies this emulator's certificate, and trusts nothing else."""
        context = ssl.create_default_context(cadata=self.certificate_pem.decode())
        return context

    def subscribe(self, application_server_key: str) -> Subscription:
        """A new subscription, as pushManager.subscribe({applicationServerKey}) makes one."""
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        token = secrets.token_urlsafe(24)
        subscription = Subscription(
            token,
            f"{self.origin}/push/{token}",
            b64url(public),
            b64url(secrets.token_bytes(16)),
            private,
            application_server_key.rstrip("="),
        )
        with self.lock:
            self.subscriptions[token] = subscription
        return subscription

    def script(self, subscription: Subscription, *answers: tuple[int, str | None]) -> None:
        """The next answers to pushes for this subscription, in order (then 201 again)."""
        with self.lock:
            self.answers.setdefault(subscription.token, deque()).extend(answers)

    def expire(self, subscription: Subscription, status: int = 410) -> None:
        """The browser let this subscription go: every push to it is answered `status` (404 or 410) from now."""
        with self.lock:
            self.expired[subscription.token] = status

    def slow(self, subscription: Subscription, seconds: float) -> None:
        with self.lock:
            self.delays[subscription.token] = seconds

    def drop_idle_connections(self) -> int:
        """Closes every connection waiting for its next request, as a push service's keep-alive timeout does."""
        assert self.loop is not None

        async def drop() -> int:
            idle = [connection for connection in self.open_connections if not connection.busy]
            for connection in idle:
                connection.close()
            return len(idle)

        return asyncio.run_coroutine_threadsafe(drop(), self.loop).result(5)

    def delivered_to(self, subscription: Subscription) -> list[Delivery]:
        with self.lock:
            return [delivery for delivery in self.deliveries if delivery.token == subscription.token]

    # --- the push service's side ---

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        token = path.removeprefix("/push/") if path.startswith("/push/") else ""
        if method != "POST":
            return 405, {}
        try:
            with self.lock:
                subscription = self.subscriptions.get(token)
                expired = self.expired.get(token)
                scripted = self.answers.get(token)
                answer = scripted.popleft() if scripted else None
            if subscription is None:
                raise Refused(404, "no such subscription")
            if expired:
                raise Refused(expired, "expired")
            if answer is not None:
                status, retry_after = answer
                return status, {"Retry-After": retry_after} if retry_after else {}
            self._check_authorization(headers.get("authorization", ""), subscription)
            ttl = headers.get("ttl", "")
            if not ttl.isdigit():
                raise Refused(400, "TTL is required")
            topic, urgency = headers.get("topic"), headers.get("urgency")
            if topic is not None and (len(topic) > 32 or not all(c.isalnum() or c in "-_" for c in topic)):
                raise Refused(400, "a Topic is at most 32 base64url characters")
            if urgency is not None and urgency not in ("very-low", "low", "normal", "high"):
                raise Refused(400, "unknown Urgency")
            if headers.get("content-encoding") != "aes128gcm":
                raise Refused(400, "Content-Encoding must be aes128gcm")
            if len(body) > MAX_PAYLOAD_BYTES:
                raise Refused(413, "over 4096 bytes")
            payload = decrypt(body, subscription)
        except Refused as refused:
            with self.lock:
                self.refusals.append(Refusal(token, refused.status, refused.reason))
            return refused.status, {}
        with self.lock:
            self.deliveries.append(Delivery(token, payload, int(ttl), topic, urgency, time.monotonic()))
        return 201, {"Location": f"/message/{secrets.token_urlsafe(8)}"}

    def _check_authorization(self, header: str, subscription: Subscription) -> None:
        scheme, _, parameters = header.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, "the vapid scheme is required")
        fields = dict(part.strip().partition("=")[::2] for part in parameters.split(","))
        jwt, key = fields.get("t", ""), fields.get("k", "").rstrip("=")
        if key != subscription.application_server_key:
            raise Refused(403, "not the application server key this subscription was made with")
        claims = self.checked_tokens.get(jwt + key)
        if claims is None:
            claims = _verified_claims(jwt, key)
            self.checked_tokens[jwt + key] = claims
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(401, f"aud must be {self.origin}")
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 24 * 3600:
            raise Refused(401, "exp must be within the next 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise Refused(401, "sub must be a mailto: or https: URL")


def _verified_claims(jwt: str, key: str) -> dict:
    try:
        header, claims, signature = jwt.split(".")
        if json.loads(b64url_decode(header)) != {"typ": "JWT", "alg": "ES256"}:
            raise Refused(401, "an ES256 JWT is required")
        raw = b64url_decode(signature)
        if len(raw) != 64:
            raise Refused(401, "an ES256 signature is 64 bytes")
        der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        return json.loads(b64url_decode(claims))
    except (ValueError, InvalidSignature) as error:
        raise Refused(401, f"the JWT does not verify ({type(error).__name__})") from None


class _Connection(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, one request at a time: Content-Length bodies, as push requests have."""

    def __init__(self, service: PushService) -> None:
        self.service = service
        self.buffer = b""
        self.busy = False  # a request is being read or answered
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.service.open_connections.add(self)
        with self.service.lock:
            self.service.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.service.open_connections.discard(self)
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.busy = True
        self.answer_next()

    def answer_next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if self.transport is None or end < 0:
            self.busy = bool(self.buffer)
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        method, path, _version = [*head[0].split(" "), "", "", ""][:3]
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        status, extra = self.service.handle(method, path, headers, body)
        delay = self.service.delays.get(path.removeprefix("/push/"), 0.0)
        closing = headers.get("connection", "").lower() == "close" or self.service.style == "close"
        if delay:
            asyncio.get_running_loop().call_later(delay, self.answer, status, extra, closing)
        else:
            self.answer(status, extra, closing)

    def answer(self, status: int, extra: dict[str, str], closing: bool) -> None:
        if self.transport is None:
            return
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        style = self.service.style
        if style == "chunked":
            lines.append("Transfer-Encoding: chunked")
            body = b"7\r\nanswer.\r\n0\r\n\r\n"
        elif style == "close":
            lines.append("Connection: close")
            body = b"answer, delimited by the close."
        else:
            lines.append("Content-Length: 7")
            body = b"answer."
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        if closing:
            self.transport.close()
            self.transport = None
            return
        self.answer_next()
