"""Alerts for the desk: what raises them, and their delivery to ALERT_WEBHOOK_URL as Slack-compatible JSON.

Alerts are raised by Batch.fail (a failed batch), publishing.credits (drafting paused by the cap), the
transcription relay's stream_failed signal (a stream whose speech provider gave up, or whose storage stayed down)
and publishing.batching (an event ended while streaming). Each is a row first, its message a Sentence shown in each
editor's language; posting it is the deliver_alert task's job, after commit, so the webhook never holds up what
raised it.
"""

import logging
import random
from typing import Any

import httpx
from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from events.sentences import Sentence
from publishing.models import Alert
from transcription.models import StreamSession

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The webhook could not be reached or did not answer 2xx: worth another try."""


def queue_url(event_id: int) -> str:
    path = reverse("admin:publishing_post_queue", args=[event_id])
    return settings.SITE_URL.rstrip("/") + path


def _slack_escaped(text: str) -> str:
    # Slack reads <…> as links and mentions: the three characters its docs say to escape.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(alert: Alert) -> dict[str, Any]:
    """The Slack-compatible JSON, in the site's language (settings.LANGUAGE_CODE): the webhook's channel has no
    reader's language to follow."""
    event = alert.event
    url = queue_url(event.pk)
    with translation.override(settings.LANGUAGE_CODE):
        headline = f"{alert.get_kind_display()} · {event.title}"
        message = alert.text()
        link = gettext("Open the draft queue")
    return {
        "text": f"{_slack_escaped(headline)}: {_slack_escaped(message)} <{url}|{_slack_escaped(link)}>",
        "kind": alert.kind,
        "event": event.slug,
        "event_title": event.title,
        "message": message,
        "url": url,
        "at": alert.created_at.isoformat(),
        "alert": alert.pk,
    }


def deliver(alert_id: int) -> None:
    """Post the alert once. Raises DeliveryFailed (recorded on the alert) for the task to retry."""
    alert = Alert.objects.select_related("event").filter(pk=alert_id).first()
    if alert is None or alert.delivery == Alert.Delivery.DELIVERED or not settings.ALERT_WEBHOOK_URL:
        return
    Alert.objects.filter(pk=alert_id).update(attempts=F("attempts") + 1)
    try:
        response = httpx.post(
            settings.ALERT_WEBHOOK_URL, json=payload(alert), timeout=settings.ALERT_WEBHOOK_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        if response.is_success:
            Alert.objects.filter(pk=alert_id).update(
                delivery=Alert.Delivery.DELIVERED, delivered_at=timezone.now(), last_error=""
            )
            return
        reason = f"webhook answered {response.status_code}: {response.text[:200]}"
    Alert.objects.filter(pk=alert_id).update(last_error=reason[:2000])
    raise DeliveryFailed(reason)


def gave_up(alert_id: int, reason: str) -> None:
    Alert.objects.filter(pk=alert_id).exclude(delivery=Alert.Delivery.DELIVERED).update(
        delivery=Alert.Delivery.FAILED, last_error=reason[:2000]
    )
    log.error("alert %s could not be delivered: %s", alert_id, reason)


def retry_in(retries: int) -> float:
    """The wait before the next post: doubled each time, with jitter so many alerts do not retry together."""
    base = settings.ALERT_BACKOFF_SECONDS * 2**retries
    return base * random.uniform(1.0, 1.5)


def alert_stream_failed(
    sender, *, event_id: int, session_id: int, message: str | Sentence, reason: str = "provider", **kwargs
) -> None:
    """transcription.signals.stream_failed: the speech provider gave up on a stream, or storage stayed down;
    `message`, the relay's Sentence, says why."""
    session = StreamSession.objects.select_related("journalist").filter(pk=session_id).first()
    if reason == "storage":
        kind, why = Alert.Kind.STORAGE_UNAVAILABLE, Sentence.gettext("the database stayed unreachable")
    else:
        kind, why = Alert.Kind.STREAM_FAILED, Sentence.gettext("the speech provider gave up")
    if session is None:
        said = Sentence.gettext(
            "Stream %(session)d stopped: %(why)s. %(message)s", session=session_id, why=why, message=message
        )
    else:
        said = Sentence.gettext(
            "Stream %(session)d from %(journalist)s stopped: %(why)s. %(message)s",
            session=session_id,
            journalist=session.journalist.get_username(),
            why=why,
            message=message,
        )
    Alert.objects.raise_alert(kind, event_id, said)
