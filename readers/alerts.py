"""Alerts for readers: who asked (a browser's push subscription to one event), what they are told (each key event,
each new story so far, once) and its delivery from the worker, a batch of subscribers per task.

Design: docs/architecture.md, *Alerts for readers*.
"""

import asyncio
import ipaddress
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from events.models import Event
from publishing.models import Post, Summary
from readers import webpush
from readers.changes import absolute, page_language
from readers.models import ENDPOINT_MAX_CHARS, PushAlert, PushBatch, PushSubscription
from readers.sanitize import plain_text

log = logging.getLogger(__name__)

FAN_OUT = "readers.tasks.fan_out_alert"
SEND_BATCH = "readers.tasks.send_alert_batch"
TITLE_MAX_CHARS = 120
BODY_MAX_CHARS = 240
# What one push may carry is 4096 bytes less the encryption's header and tag (RFC 8291): leave room.
PAYLOAD_MAX_BYTES = 3000
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class Refused(Exception):
    """A request the alerts cannot take: its HTTP status and the reason, in the reader's words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- Subscriptions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def _invalid(message) -> Refused:
    return Refused(400, str(message))


def parse_subscription(data: object) -> Subscription:
    """A browser's PushSubscription.toJSON(), checked field by field: the endpoint a push service's URL, p256dh a
    P-256 public key, auth 16 bytes, both base64url."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise _invalid(gettext_lazy("Send the browser's push subscription: endpoint and keys."))
    endpoint = check_endpoint(data.get("endpoint"))
    keys = data["keys"]
    p256dh = _key(keys.get("p256dh"), 65, "p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), webpush.b64url_decode(p256dh))
    except ValueError:
        raise _invalid(gettext_lazy("The p256dh key is not a P-256 public key.")) from None
    return Subscription(endpoint, p256dh, _key(keys.get("auth"), 16, "auth"))


def _key(value: object, size: int, name: str) -> str:
    """A base64url key of exactly `size` bytes, kept without padding."""
    longest = -(-size * 4 // 3) + 2
    if not isinstance(value, str) or len(value) > longest or not _BASE64URL.fullmatch(value):
        raise _invalid(gettext("The %(name)s key must be base64url.") % {"name": name})
    try:
        raw = webpush.b64url_decode(value.rstrip("="))
    except ValueError:
        raise _invalid(gettext("The %(name)s key must be base64url.") % {"name": name}) from None
    if len(raw) != size:
        raise _invalid(gettext("The %(name)s key must be %(size)s bytes.") % {"name": name, "size": size})
    return webpush.b64url(raw)


def check_endpoint(value: object) -> str:
    """A push service's URL: https (http only where PUSH_ENDPOINT_HTTPS_ONLY is off), bounded, no credentials or
    fragment, on a host PUSH_SERVICE_HOSTS names, so the worker never posts where a stranger points it."""
    if not isinstance(value, str) or not value:
        raise _invalid(gettext_lazy("The endpoint is missing."))
    if len(value) > ENDPOINT_MAX_CHARS or not value.isascii() or any(c.isspace() or ord(c) < 32 for c in value):
        raise _invalid(gettext_lazy("The endpoint is not a push service's address."))
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _invalid(gettext_lazy("The endpoint is not a push service's address.")) from None
    schemes = ("https",) if settings.PUSH_ENDPOINT_HTTPS_ONLY else ("https", "http")
    if parts.scheme not in schemes:
        raise _invalid(gettext_lazy("The endpoint must be an https address."))
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.password or parts.fragment or (port is not None and not 0 < port < 65536):
        raise _invalid(gettext_lazy("The endpoint is not a push service's address."))
    if not allowed_push_host(host):
        raise _invalid(gettext_lazy("The endpoint is not on a push service this site sends to."))
    return value


def allowed_push_host(host: str) -> bool:
    listed = [name.lower().rstrip(".") for name in settings.PUSH_SERVICE_HOSTS]
    host = host.lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host in listed  # an address only when named exactly: never by "*"
    return "*" in listed or any(host == name or host.endswith("." + name) for name in listed)


def open_event(slug: str) -> Event:
    event = Event.objects.public().filter(slug=slug).first()
    if event is None:
        raise Refused(404, gettext("No such event."))
    return event


def subscribe(slug: str, data: object) -> bool:
    """Keeps the subscription for the event's alerts; True when it is new (an existing one takes the new keys)."""
    subscription = parse_subscription(data)
    event = open_event(slug)
    if event.status == Event.Status.ENDED:
        raise Refused(409, gettext("This event has ended: there will be no more alerts."))
    keys = {"p256dh": subscription.p256dh, "auth": subscription.auth}
    if PushSubscription.objects.filter(event=event, endpoint=subscription.endpoint).update(**keys):
        return False
    if PushSubscription.objects.filter(event=event).count() >= settings.PUSH_MAX_SUBSCRIPTIONS_PER_EVENT:
        raise Refused(409, gettext("This event takes no more alert subscriptions."))
    try:
        with transaction.atomic():
            PushSubscription.objects.create(event=event, endpoint=subscription.endpoint, **keys)
    except IntegrityError:  # the same browser, twice at once
        return False
    return True


def _endpoint_of(data: object) -> str:
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX_CHARS:
        raise _invalid(gettext_lazy("The endpoint is missing."))
    return endpoint


def unsubscribe(slug: str, data: object) -> int:
    """No more of this event's alerts for that browser; returns how many events it still follows (0: the page may
    end the browser's subscription too)."""
    endpoint = _endpoint_of(data)
    event = Event.objects.filter(slug=slug).first()
    if event is None:
        raise Refused(404, gettext("No such event."))
    PushSubscription.objects.filter(event=event, endpoint=endpoint).delete()
    return PushSubscription.objects.filter(endpoint=endpoint).count()


def is_subscribed(slug: str, data: object) -> bool:
    endpoint = _endpoint_of(data)
    return PushSubscription.objects.filter(event__slug=slug, endpoint=endpoint).exists()


# --- What is told, once --------------------------------------------------------------------------------------


def event_changed_receiver(sender, *, event_id: int, change_seq: int, **kwargs) -> None:
    """events.signals.event_changed, once a change committed: a post readers now see as a key event, or a story so
    far just published, becomes an alert (at most one per post or version, whatever sends the change again)."""
    if sender is not Post and sender is not Summary:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _alert_for_change(sender, event_id, change_seq)
    else:  # on an event loop's thread the ORM may not run: a thread of the loop's does it
        loop.run_in_executor(None, _alert_for_change_in_thread, sender, event_id, change_seq)


def _alert_for_change_in_thread(sender, event_id: int, change_seq: int) -> None:
    try:
        _alert_for_change(sender, event_id, change_seq)
    finally:
        close_old_connections()


def _alert_for_change(sender, event_id: int, change_seq: int) -> None:
    try:
        if sender is Post:
            key_events = Post.objects.filter(event_id=event_id, change_seq=change_seq, key_event=True)
            post_id = key_events.filter(status=Post.Status.PUBLISHED).values_list("pk", flat=True).first()
            if post_id is not None:
                notify_key_event(post_id)
        else:
            published = Summary.objects.filter(
                event_id=event_id, change_seq=change_seq, status=Summary.Status.PUBLISHED
            )
            summary_id = published.values_list("pk", flat=True).first()
            if summary_id is not None:
                notify_summary(event_id, summary_id)
    except Exception:  # a committed publish stands whatever happens here; the log says what was not told
        log.exception("could not make the alert for change %s of event %s", change_seq, event_id)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _payload(event: Event, *, body: str, url: str, tag: str) -> dict[str, str]:
    """What the service worker shows (push-sw.js): the event's title, one line, where a click goes, and the
    notification's own button to stop the event's alerts. Plain text only; the browser shows it as text."""
    base = settings.SITE_URL.rstrip("/")
    return {
        "title": _clip(plain_text(event.title), TITLE_MAX_CHARS),
        "body": _clip(body, BODY_MAX_CHARS),
        "url": absolute(url, base) if base else url,
        "tag": tag,
        "lang": page_language(event),
        "stop": gettext("Stop alerts"),
        "unsubscribe": reverse("events:alerts_unsubscribe", args=[event.slug]),
        "token_url": reverse("events:alerts_token"),
    }


def notify_key_event(post_id: int) -> PushAlert | None:
    """A published key event, told to its event's subscribers: the alert, or None when it was told already."""
    post = Post.objects.select_related("event").filter(pk=post_id, status=Post.Status.PUBLISHED, key_event=True).first()
    if post is None or not post.event.is_public:
        return None
    event = post.event
    with translation.override(page_language(event)):
        headline = plain_text(post.headline) or plain_text(post.body)
        payload = _payload(
            event,
            body=gettext("Key event: %(headline)s") % {"headline": headline},
            url=post.get_absolute_url(),
            tag=f"key-{post.pk}",
        )
    return _make_alert(event, PushAlert.Kind.KEY_EVENT, payload, post=post)


def notify_summary(event_id: int, summary_id: int, points: list[str] | None = None) -> PushAlert | None:
    """A newly published story so far, told to the event's subscribers (its first point shown): the alert, or None
    when that version was told already. `points` default to the version's own."""
    event = Event.objects.filter(pk=event_id, is_public=True).first()
    if event is None:
        return None
    if points is None:
        points = list(Summary.objects.filter(pk=summary_id, event_id=event_id).values_list("points", flat=True))
        points = points[0] if points else []
    with translation.override(page_language(event)):
        first = plain_text(points[0]) if points else ""
        body = gettext("The story so far: %(point)s") % {"point": first} if first else gettext("The story so far")
        # One tag per event: a newer story so far replaces the older one among the reader's notifications.
        payload = _payload(event, body=body, url=f"{event.get_absolute_url()}#summary", tag=f"summary-{event.pk}")
    return _make_alert(event, PushAlert.Kind.SUMMARY, payload, summary_id=summary_id)


def _make_alert(event: Event, kind: str, payload: dict, **source) -> PushAlert | None:
    """The delivery record, made once (its unique post or summary refuses a second), then handed to the worker."""
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > PAYLOAD_MAX_BYTES:  # only titles of many-byte characters come near it
        payload = {**payload, "body": _clip(payload["body"], BODY_MAX_CHARS // 4)}
    upto = PushSubscription.objects.filter(event=event).aggregate(upto=Max("pk"))["upto"] or 0
    try:
        with transaction.atomic():
            alert = PushAlert.objects.create(event=event, kind=kind, payload=payload, subscribers_upto=upto, **source)
            if upto:
                transaction.on_commit(lambda: enqueue_fan_out(alert.pk))
            else:
                PushAlert.objects.filter(pk=alert.pk).update(fanned_out_at=timezone.now())
    except IntegrityError:
        return None
    log.info("alert %s (%s) for event %s: subscribers up to %s", alert.pk, kind, event.slug, upto)
    return alert


# --- Delivery, in the worker ---------------------------------------------------------------------------------


def enqueue_fan_out(alert_id: int) -> None:
    current_app.send_task(FAN_OUT, (alert_id,))


def enqueue_batches(batch_ids: list[int], countdown: float | None = None) -> None:
    with current_app.producer_or_acquire() as producer:
        for batch_id in batch_ids:
            current_app.send_task(SEND_BATCH, (batch_id,), producer=producer, countdown=countdown)


def _lease(extra: float = 0.0):
    return timezone.now() + timedelta(seconds=settings.PUSH_LEASE_SECONDS + extra)


def fan_out(alert_id: int) -> list[int]:
    """The alert's subscribers cut into batches of PUSH_BATCH_SIZE, the first PUSH_SENDERS (0: all) handed to the
    workers, who take the others in turn (send_batches); once only (a redelivered message finds it done). Returns the
    batches' ids."""
    with transaction.atomic():
        if not PushAlert.objects.filter(pk=alert_id, fanned_out_at__isnull=True).update(fanned_out_at=timezone.now()):
            return []
        alert = PushAlert.objects.get(pk=alert_id)
        subscribers = PushSubscription.objects.filter(event_id=alert.event_id, pk__lte=alert.subscribers_upto)
        ids = list(subscribers.order_by("pk").values_list("pk", flat=True))
        size = settings.PUSH_BATCH_SIZE
        lease = _lease()
        batches = PushBatch.objects.bulk_create(
            PushBatch(alert=alert, first_id=ids[at], last_id=ids[min(at + size, len(ids)) - 1], lease_expires_at=lease)
            for at in range(0, len(ids), size)
        )
        batch_ids = [batch.pk for batch in batches]
        senders = batch_ids[: settings.PUSH_SENDERS or None]
        transaction.on_commit(lambda: enqueue_batches(senders))
    return batch_ids


@dataclass(frozen=True)
class BatchResult:
    delivered: int
    pruned: int
    failed: int
    retry: int
    retry_in: float | None  # seconds until the batch is sent again, to the subscribers still owed it


def send_batch(batch_id: int) -> BatchResult | None:
    """Sends a batch of an alert, if this worker claims it (a compare-and-set on its status and lease): expired
    subscriptions (404, 410) are deleted, those answered 429 or 5xx are owed it again, the rest are done."""
    now = timezone.now()
    claimable = Q(status=PushBatch.Status.PENDING) | Q(status=PushBatch.Status.SENDING, lease_expires_at__lt=now)
    claimed = PushBatch.objects.filter(claimable, pk=batch_id).update(
        status=PushBatch.Status.SENDING, attempts=F("attempts") + 1, lease_expires_at=_lease()
    )
    if not claimed:
        return None
    batch = PushBatch.objects.select_related("alert").get(pk=batch_id)
    alert = batch.alert
    subscribers = PushSubscription.objects.filter(
        event_id=alert.event_id, pk__gte=batch.first_id, pk__lte=batch.last_id
    )
    if batch.retry_ids:
        subscribers = subscribers.filter(pk__in=batch.retry_ids)
    pushes = [webpush.Push(*row) for row in subscribers.values_list("pk", "endpoint", "p256dh", "auth")]
    payload = json.dumps(alert.payload, ensure_ascii=False, separators=(",", ":")).encode()
    outcomes = webpush.send(pushes, payload, topic=f"alert{alert.pk}", ttl=settings.PUSH_TTL_SECONDS)

    delivered = sum(outcome.delivered for outcome in outcomes)
    gone = [outcome.subscription_id for outcome in outcomes if outcome.gone]
    owed = [outcome for outcome in outcomes if outcome.worth_retrying]
    refused = [outcome for outcome in outcomes if not (outcome.delivered or outcome.gone or outcome.worth_retrying)]
    if gone:
        PushSubscription.objects.filter(pk__in=gone).delete()
    for outcome in refused[:3]:
        log.warning("alert %s: subscription %s refused (%s)", alert.pk, outcome.subscription_id, outcome.status)
    mine = PushBatch.objects.filter(pk=batch.pk, status=PushBatch.Status.SENDING, attempts=batch.attempts)
    counts = {"delivered": F("delivered") + delivered, "pruned": F("pruned") + len(gone)}
    statuses = sorted({outcome.status for outcome in owed + refused})
    last_error = f"answers {statuses}" if statuses else ""
    retry_in = None
    if owed and batch.attempts < settings.PUSH_MAX_ATTEMPTS:
        backoff = settings.PUSH_BACKOFF_SECONDS * 2 ** (batch.attempts - 1)
        retry_in = max([backoff] + [outcome.retry_after or 0.0 for outcome in owed])
        mine.update(
            status=PushBatch.Status.PENDING,
            retry_ids=[outcome.subscription_id for outcome in owed],
            lease_expires_at=_lease(retry_in),
            failed=F("failed") + len(refused),
            last_error=last_error,
            **counts,
        )
    else:
        mine.update(
            status=PushBatch.Status.DONE,
            retry_ids=[],
            failed=F("failed") + len(refused) + len(owed),
            last_error=last_error,
            **counts,
        )
    log.info(
        "alert %s batch %s (attempt %s): %s delivered, %s expired and removed, %s refused, %s owed again%s",
        alert.pk,
        batch.pk,
        batch.attempts,
        delivered,
        len(gone),
        len(refused),
        len(owed),
        f" in {retry_in:.1f} s" if retry_in is not None else "",
    )
    return BatchResult(delivered, len(gone), len(refused), len(owed), retry_in)


def send_batches(batch_id: int) -> Iterator[tuple[int, BatchResult]]:
    """This batch if this worker claims it, then each batch of the same alert that no worker has started, taken from
    the database: a broker hands a worker its next message only some time after the last (the embedded one up to
    2 s later), and the alert's batches would wait for it in turn. Their own messages then find them taken."""
    alert_id = PushBatch.objects.filter(pk=batch_id).values_list("alert_id", flat=True).first()
    next_id = batch_id if alert_id is not None else None
    while next_id is not None:
        result = send_batch(next_id)
        if result is not None:
            yield next_id, result
        next_id = _unstarted_batch(alert_id)


def _unstarted_batch(alert_id: int) -> int | None:
    """A batch of the alert never claimed; one owed again after 429 or 5xx waits for its own message and backoff."""
    unstarted = PushBatch.objects.filter(alert_id=alert_id, status=PushBatch.Status.PENDING, attempts=0)
    return unstarted.order_by("pk").values_list("pk", flat=True).first()


def requeue_stale() -> list[int]:
    """Beat: batches whose worker died, whose message was lost or that no task took (lease lapsed), and alerts never
    fanned out, handed to the workers again."""
    now = timezone.now()
    lapsed = PushBatch.objects.filter(
        status__in=[PushBatch.Status.PENDING, PushBatch.Status.SENDING], lease_expires_at__lt=now
    )
    requeued = []
    for pk in list(lapsed.values_list("pk", flat=True)[:1000]):
        if lapsed.filter(pk=pk).update(status=PushBatch.Status.PENDING, lease_expires_at=_lease()):
            requeued.append(pk)
    if requeued:
        enqueue_batches(requeued)
    stuck = PushAlert.objects.filter(fanned_out_at__isnull=True, created_at__lt=now - timedelta(minutes=1))
    for alert_id in stuck.values_list("pk", flat=True)[:100]:
        enqueue_fan_out(alert_id)
    return requeued
