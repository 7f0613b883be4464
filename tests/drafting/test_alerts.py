"""Alerts: a failed batch, a stream whose provider gave up and drafting paused by the credit cap are shown in
admin and posted to ALERT_WEBHOOK_URL (a real HTTP server on loopback), retried, never holding anything up."""

import asyncio
import socket

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from publishing import drafting
from publishing.batching import flush_remaining, tick
from publishing.models import Alert, Batch, Post
from publishing.tasks import deliver_alert
from tests.support.drafting import SENTENCES, add_segments
from tests.support.emulators.studio import Studio
from tests.support.emulators.webhook import WebhookReceiver
from tests.support.processes import start_worker, wait_until

MAX_ATTEMPTS = 3


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.ALERT_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.ALERT_BACKOFF_SECONDS = 0.05
    settings.ALERT_WEBHOOK_TIMEOUT_SECONDS = 2.0


@pytest.fixture
def receiver(settings):
    with WebhookReceiver() as webhook:
        settings.ALERT_WEBHOOK_URL = webhook.url
        yield webhook


def dead_url() -> str:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/desk"


def claimed_batch(event) -> Batch:
    add_segments(event, SENTENCES)
    [batch] = tick(timezone.now())
    return batch


def failed_batch(event, mavera) -> Batch:
    mavera.script.append(400)  # refused as invalid: not retried, the batch fails for an editor
    batch = claimed_batch(event)
    assert drafting.draft_batch(batch.pk) is None
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FAILED
    return batch


@pytest.mark.django_db
def test_a_failed_batch_is_posted_to_the_webhook_as_slack_json(event, mavera, receiver):
    batch = failed_batch(event, mavera)
    [alert] = Alert.objects.all()
    assert alert.kind == Alert.Kind.BATCH_FAILED and alert.event == event
    assert alert.delivery == Alert.Delivery.PENDING

    deliver_alert.apply(args=(alert.pk,))

    [body] = receiver.delivered
    assert receiver.received[0].content_type == "application/json"
    assert body["kind"] == "batch_failed" and body["event"] == "keynote" and body["alert"] == alert.pk
    assert body["text"].startswith("Batch failed · Keynote: Batch ") and f"Batch {batch.pk} failed" in body["text"]
    assert body["url"].endswith(reverse("admin:publishing_post_queue", args=[event.pk]))
    assert f"<{body['url']}|Open the draft queue>" in body["text"]
    alert.refresh_from_db()
    assert alert.delivery == Alert.Delivery.DELIVERED and alert.attempts == 1 and alert.delivered_at is not None


@pytest.mark.django_db
def test_drafting_paused_by_the_cap_is_alerted_once_and_posted(event, mavera, receiver):
    event.credit_cap = 20
    event.save()
    first = claimed_batch(event)
    assert drafting.draft_batch(first.pk) is not None  # billed 12: no room for another 12
    add_segments(event, SENTENCES)
    second = flush_remaining(event.pk)  # a stream stopped: its final batch meets the cap
    assert drafting.draft_batch(second.pk) is None  # stopped by the pause: no second alert
    [alert] = Alert.objects.all()
    assert alert.kind == Alert.Kind.DRAFTING_PAUSED
    assert alert.message.startswith("Drafting paused: Credit cap of 20 reached: 12 credits used")

    deliver_alert.apply(args=(alert.pk,))

    [body] = receiver.delivered
    assert body["kind"] == "drafting_paused" and body["event"] == "keynote"
    assert "Credit cap of 20 reached" in body["text"] and body["message"] == alert.message


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_a_stream_whose_provider_gave_up_is_alerted_and_posted(deepgram, settings, event, journalist, receiver):
    settings.DEEPGRAM_API_KEY = "wrong-key"
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    assert await studio.wait_closed() == 4401
    await studio.disconnect()

    @sync_to_async
    def raised() -> list[Alert]:
        return list(Alert.objects.filter(kind=Alert.Kind.STREAM_FAILED))

    for _ in range(100):  # the socket closes first; the relay then stores what it must
        if alerts := await raised():
            break
        await asyncio.sleep(0.1)
    [alert] = alerts
    assert alert.event_id == event.pk
    assert alert.message.startswith(f"Stream {ready['session']} from jo stopped: the speech provider gave up.")
    assert "API key" in alert.message

    await sync_to_async(deliver_alert.apply)(args=(alert.pk,))

    [body] = receiver.delivered
    assert body["kind"] == "stream_failed" and body["event"] == "keynote" and "gave up" in body["text"]


@pytest.mark.django_db
def test_a_webhook_answering_500_then_200_is_retried_and_delivered(event, mavera, receiver):
    receiver.statuses.extend([500])
    failed_batch(event, mavera)
    [alert] = Alert.objects.all()

    deliver_alert.apply(args=(alert.pk,))

    assert [request.status for request in receiver.received] == [500, 200]
    assert receiver.received[0].body == receiver.received[1].body
    alert.refresh_from_db()
    assert alert.delivery == Alert.Delivery.DELIVERED and alert.attempts == 2 and alert.last_error == ""


@pytest.mark.django_db
def test_a_dead_webhook_holds_up_no_drafting_or_publishing_and_the_alert_records_why(event, mavera, settings):
    settings.ALERT_WEBHOOK_URL = dead_url()
    event.credit_cap = 20
    event.auto_publish = True
    event.save()
    batch = claimed_batch(event)

    post = drafting.draft_batch(batch.pk)  # reaching the cap raises an alert the webhook cannot take

    assert post is not None and Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED
    [alert] = Alert.objects.all()
    assert alert.kind == Alert.Kind.DRAFTING_PAUSED and alert.delivery == Alert.Delivery.PENDING

    deliver_alert.apply(args=(alert.pk,))

    alert.refresh_from_db()
    assert alert.delivery == Alert.Delivery.FAILED and alert.attempts == MAX_ATTEMPTS
    assert alert.last_error.startswith("ConnectError")


@pytest.mark.django_db
def test_without_a_webhook_alerts_are_only_shown(event, mavera, settings):
    settings.ALERT_WEBHOOK_URL = ""
    failed_batch(event, mavera)
    [alert] = Alert.objects.all()
    assert alert.delivery == Alert.Delivery.NOT_SENT
    deliver_alert.apply(args=(alert.pk,))
    alert.refresh_from_db()
    assert alert.delivery == Alert.Delivery.NOT_SENT and alert.attempts == 0


@pytest.mark.django_db
def test_alerts_show_in_admin_read_only_and_in_the_event_queue(client, event, editor, mavera, settings):
    settings.ALERT_WEBHOOK_URL = ""
    batch = failed_batch(event, mavera)
    alert = Alert.objects.get()
    client.force_login(editor)

    listing = client.get(reverse("admin:publishing_alert_changelist"))
    assert listing.status_code == 200
    assert f"Batch {batch.pk} failed" in listing.text and "Batch failed" in listing.text
    assert "No webhook set" in listing.text
    assert client.get(reverse("admin:publishing_alert_change", args=[alert.pk])).status_code == 200  # a view
    assert client.post(reverse("admin:publishing_alert_change", args=[alert.pk]), {"message": "x"}).status_code == 403
    assert client.get(reverse("admin:publishing_alert_add")).status_code == 403
    assert client.post(reverse("admin:publishing_alert_delete", args=[alert.pk]), {"post": "yes"}).status_code == 403
    assert Alert.objects.get().message == alert.message

    queue = client.get(reverse("admin:publishing_post_queue", args=[event.pk]))
    assert 'id="alerts"' in queue.text and f"Batch failed: Batch {batch.pk} failed" in queue.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
def test_a_celery_worker_retries_a_failing_webhook_with_backoff_until_delivered(event, mavera, receiver):
    receiver.statuses.extend([503, 500])
    worker = start_worker(ALERT_WEBHOOK_URL=receiver.url, ALERT_BACKOFF_SECONDS="0.2", ALERT_MAX_ATTEMPTS="5")
    try:
        failed_batch(event, mavera)  # the alert's delivery is enqueued on commit, for the worker
        wait_until(lambda: len(receiver.received) == 3, 60, worker, what="three posts to the webhook")
        alert = Alert.objects.get()
        wait_until(
            lambda: Alert.objects.get().delivery == Alert.Delivery.DELIVERED, 30, worker, what="the alert delivered"
        )
        alert.refresh_from_db()
        assert alert.attempts == 3 and [r.status for r in receiver.received] == [503, 500, 200]
        assert receiver.delivered[0]["kind"] == "batch_failed"
    finally:
        worker.stop()
    worker.assert_no_traceback()
