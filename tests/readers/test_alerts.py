"""Alerts for readers by Web Push, against a push service emulator on loopback that checks the VAPID JWT and
decrypts every payload: subscribing and unsubscribing over HTTP (and what is refused), each key event and each new
story so far told once to every subscriber, expired subscriptions removed, 429 and 5xx retried without a duplicate,
and the same from a real Celery worker."""

import asyncio
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.roles import create_roles
from publishing import summaries
from publishing.models import Post, Summary
from readers import alerts, push_client, tasks, webpush
from readers.models import PushAlert, PushBatch, PushSubscription
from tests.support import factories
from tests.support.emulators.push import PushService
from tests.support.processes import (
    child_env,
    empty_broker_queue,
    prepare_data_dir,
    settings_in_child,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)
TASKS = tasks  # registered with Celery here, so the `worker` fixture runs them by name

ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def _fresh(transactional_db, settings):
    cache.clear()
    create_roles()
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    settings.PUSH_ENDPOINT_HTTPS_ONLY = False
    settings.PUSH_BACKOFF_SECONDS = 0.01
    yield
    cache.clear()


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


def post_json(client, url: str, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers={"Origin": ORIGIN, **headers})


def subscribe_url(event) -> str:
    return reverse("events:alerts_subscribe", args=[event.slug])


def subscribed(client, event, push_service, count: int = 1):
    """`count` browsers subscribed to the event through the page's endpoint, as the page's script does."""
    browsers = [push_service.subscribe(webpush.public_key()) for _ in range(count)]
    for browser in browsers:
        assert post_json(client, subscribe_url(event), browser.as_json()).status_code == 201
    return browsers


def key_event(event, editor, headline: str = "Doors open") -> Post:
    return factories.published_post(event, "The hall fills up.", headline=headline, editor=editor, key_event=True)


# --- Subscribing over HTTP --------------------------------------------------------------------------------------


def test_a_browser_subscribes_asks_and_unsubscribes(client, event, push_service):
    browser = push_service.subscribe(webpush.public_key())
    status_url = reverse("events:alerts_status", args=[event.slug])
    unsubscribe_url = reverse("events:alerts_unsubscribe", args=[event.slug])

    assert post_json(client, status_url, {"endpoint": browser.endpoint}).json() == {"subscribed": False}
    answer = post_json(client, subscribe_url(event), browser.as_json())
    assert answer.status_code == 201 and answer.json() == {"subscribed": True}
    assert "no-cache" in answer["Cache-Control"]
    again = post_json(client, subscribe_url(event), browser.as_json())
    assert again.status_code == 200  # the same browser again: still one subscription
    [row] = PushSubscription.objects.all()
    assert (row.event, row.endpoint, row.p256dh, row.auth) == (event, browser.endpoint, browser.p256dh, browser.auth)
    assert post_json(client, status_url, {"endpoint": browser.endpoint}).json() == {"subscribed": True}

    other = factories.live_event(event.journalists.first(), title="Other", slug="other")
    assert post_json(client, subscribe_url(other), browser.as_json()).status_code == 201
    left = post_json(client, unsubscribe_url, {"endpoint": browser.endpoint})
    assert left.status_code == 200 and left.json() == {"subscribed": False, "remaining": 1}
    assert post_json(client, status_url, {"endpoint": browser.endpoint}).json() == {"subscribed": False}
    last = post_json(client, reverse("events:alerts_unsubscribe", args=["other"]), {"endpoint": browser.endpoint})
    assert last.json() == {"subscribed": False, "remaining": 0}  # the page then ends the browser's subscription
    assert not PushSubscription.objects.exists()


def browser_json(push_service, **changes) -> dict:
    data = push_service.subscribe(webpush.public_key()).as_json()
    keys = {**data["keys"], **changes.pop("keys", {})}
    return {**data, **changes, "keys": keys}


def not_on_the_curve() -> str:
    return webpush.b64url(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"endpoint": None}, "endpoint is missing"),
        ({"endpoint": "not a url"}, "not a push service's address"),
        ({"endpoint": "/push/relative"}, "https address"),
        ({"endpoint": "ftp://127.0.0.1/push/x"}, "https address"),
        ({"endpoint": "https://push.attacker.example/x"}, "not on a push service"),
        ({"endpoint": "https://10.0.0.7/push/x"}, "not on a push service"),
        ({"endpoint": "https://fcm.googleapis.com.attacker.example/x"}, "not on a push service"),
        ({"endpoint": "http://user:secret@127.0.0.1/push/x"}, "not a push service's address"),
        ({"endpoint": "http://127.0.0.1/push/x#fragment"}, "not a push service's address"),
        ({"endpoint": "http://127.0.0.1/push/" + "x" * 1100}, "not a push service's address"),
        ({"endpoint": "http://127.0.0.1/push/x y"}, "not a push service's address"),
        ({"keys": {"p256dh": "not base64url!"}}, "p256dh key must be base64url"),
        ({"keys": {"p256dh": webpush.b64url(b"\x04" * 33)}}, "p256dh key must be 65 bytes"),
        ({"keys": {"p256dh": not_on_the_curve()}}, "not a P-256 public key"),
        ({"keys": {"auth": webpush.b64url(b"a" * 15)}}, "auth key must be 16 bytes"),
        ({"keys": {"auth": "A" * 400}}, "auth key must be base64url"),
        ({"keys": {"auth": 1234}}, "auth key must be base64url"),
    ],
)
def test_a_subscription_is_checked_field_by_field(client, event, push_service, changes, error):
    answer = post_json(client, subscribe_url(event), browser_json(push_service, **changes))
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert not PushSubscription.objects.exists()


def test_in_production_only_https_push_services_named_in_the_settings_are_taken(client, event, settings):
    settings.PUSH_ENDPOINT_HTTPS_ONLY = True
    settings.PUSH_SERVICE_HOSTS = ["fcm.googleapis.com", "push.services.mozilla.com"]
    browser = {"keys": {"p256dh": webpush.public_key(), "auth": webpush.b64url(b"s" * 16)}}
    for endpoint, status in [
        ("http://fcm.googleapis.com/fcm/send/abc", 400),
        ("https://127.0.0.1/push/abc", 400),
        ("https://fcm.googleapis.com/fcm/send/abc", 201),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", 201),
    ]:
        assert post_json(client, subscribe_url(event), {**browser, "endpoint": endpoint}).status_code == status, (
            endpoint
        )


def test_a_post_needs_the_token_the_page_fetches_and_this_sites_origin(event, push_service):
    browser = Client(enforce_csrf_checks=True)
    url = subscribe_url(event)
    body = json.dumps(browser_json(push_service))
    without = browser.post(url, body, content_type="application/json", headers={"Origin": ORIGIN})
    assert without.status_code == 403 and b"CSRF" in without.content
    answer = browser.get(reverse("events:alerts_token"))
    assert "no-cache" in answer["Cache-Control"] and "csrftoken" in answer.cookies
    token = answer.json()["token"]
    elsewhere = {"Origin": "https://elsewhere.example", "X-CSRFToken": token}
    assert browser.post(url, body, content_type="application/json", headers=elsewhere).status_code == 403
    assert not PushSubscription.objects.exists()
    ours = {"Origin": ORIGIN, "X-CSRFToken": token}
    assert browser.post(url, body, content_type="application/json", headers=ours).status_code == 201


def test_what_is_not_a_json_post_of_a_few_bytes_is_refused(client, event, push_service):
    url = subscribe_url(event)
    body = browser_json(push_service)
    assert client.get(url).status_code == 405
    form = client.post(url, {"endpoint": body["endpoint"]}, headers={"Origin": ORIGIN})
    assert form.status_code == 415
    assert post_json(client, url, "{not json").status_code == 400
    assert post_json(client, url, {**body, "padding": "x" * 5000}).status_code == 413
    assert post_json(client, reverse("events:alerts_subscribe", args=["no-such-event"]), body).status_code == 404
    assert not PushSubscription.objects.exists()


def test_alert_requests_are_limited_per_address(client, event, push_service, settings):
    settings.PUSH_SUBSCRIBE_PER_MINUTE = 3
    answers = [post_json(client, subscribe_url(event), browser_json(push_service)).status_code for _ in range(4)]
    assert answers == [201, 201, 201, 429]
    refused = post_json(client, subscribe_url(event), browser_json(push_service))
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    other = client.post(
        subscribe_url(event),
        json.dumps(browser_json(push_service)),
        content_type="application/json",
        headers={"Origin": ORIGIN},
        REMOTE_ADDR="192.0.2.9",
    )
    assert other.status_code == 201  # another address has its own allowance
    assert PushSubscription.objects.count() == 4


def test_an_event_takes_a_bounded_number_of_subscriptions(client, event, push_service, settings):
    settings.PUSH_MAX_SUBSCRIPTIONS_PER_EVENT = 2
    first, _second = subscribed(client, event, push_service, 2)
    full = post_json(client, subscribe_url(event), browser_json(push_service))
    assert full.status_code == 409 and "no more" in full.json()["error"]
    assert post_json(client, subscribe_url(event), first.as_json()).status_code == 200  # already in: kept
    assert PushSubscription.objects.count() == 2


def test_an_ended_event_takes_no_subscription(client, event, push_service):
    event.end()
    answer = post_json(client, subscribe_url(event), browser_json(push_service))
    assert answer.status_code == 409 and "ended" in answer.json()["error"]


def test_the_service_worker_is_served_from_the_root_for_the_events_scope(client):
    answer = client.get("/push-sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/javascript; charset=utf-8"
    assert "no-cache" in answer["Cache-Control"]
    assert "script-src 'self'" in answer["Content-Security-Policy"]
    assert b'addEventListener("push"' in answer.content and b"showNotification" in answer.content


def test_the_event_page_has_the_button_hidden_until_its_script_shows_it(client, event):
    page = client.get(event.get_absolute_url()).content.decode()
    assert '<div class="alerts" id="alerts" hidden' in page
    assert f'data-key="{webpush.public_key()}"' in page
    assert 'data-subscribe="/events/keynote/alerts/subscribe"' in page
    assert ">Alert me to key events</button>" in page and 'data-label-on="Stop alerts"' in page
    assert "readers/alerts.js" in page
    event.end()
    cache.clear()
    assert 'id="alerts"' not in client.get(event.get_absolute_url()).content.decode()


# --- Keys ------------------------------------------------------------------------------------------------------


def test_without_vapid_keys_set_the_data_folder_gets_one_pair_made_once(tmp_path):
    env = child_env(LIVEBLOG_DATA_DIR=str(tmp_path), VAPID_PRIVATE_KEY="")
    prepare_data_dir(env)
    key_file = tmp_path / "vapid_private_key.pem"
    pem = key_file.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----") and key_file.stat().st_mode & 0o777 == 0o600
    prepare_data_dir(env)
    assert key_file.read_bytes() == pem
    expression = "__import__('readers.webpush').webpush.public_key()"
    public = settings_in_child({"LIVEBLOG_DATA_DIR": str(tmp_path)}, expression)
    assert public.returncode == 0, public.stderr
    assert len(webpush.b64url_decode(public.stdout.strip())) == 65

    elsewhere = tmp_path / "keys-from-the-environment"
    prepare_data_dir(child_env(LIVEBLOG_DATA_DIR=str(elsewhere), VAPID_PRIVATE_KEY=webpush.b64url(b"k" * 32)))
    assert not (elsewhere / "vapid_private_key.pem").exists()


def test_keys_from_the_environment_are_used_and_checked(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.private_numbers().private_value.to_bytes(32, "big")
    point = serialization.PublicFormat.UncompressedPoint
    public = private.public_key().public_bytes(serialization.Encoding.X962, point)
    settings.VAPID_PRIVATE_KEY = webpush.b64url(raw)
    settings.VAPID_PUBLIC_KEY = webpush.b64url(public)
    assert webpush.public_key() == webpush.b64url(public)
    settings.VAPID_PUBLIC_KEY = webpush.b64url(b"\x04" + b"\x02" * 64)
    with pytest.raises(ImproperlyConfigured, match="VAPID_PUBLIC_KEY is not the public key"):
        webpush.public_key()


# --- What is told, once ---------------------------------------------------------------------------------------


def test_a_key_event_reaches_every_subscriber_decrypted(client, event, editor, push_service, worker):
    browsers = subscribed(client, event, push_service, 3)
    factories.published_post(event, "Not a key event.", editor=editor)
    post = key_event(event, editor)

    [alert] = PushAlert.objects.all()
    assert (alert.kind, alert.post, alert.subscribers_upto) == (PushAlert.Kind.KEY_EVENT, post, max_id())
    expected = {
        "title": "Keynote",
        "body": "Key event: Doors open",
        "url": f"/events/keynote/posts/{post.pk}/",
        "tag": f"key-{post.pk}",
        "lang": "en",
        "stop": "Stop alerts",
        "unsubscribe": "/events/keynote/alerts/unsubscribe",
        "token_url": "/alerts/token",
    }
    for browser in browsers:
        [delivery] = push_service.delivered_to(browser)
        assert delivery.json() == expected
        assert delivery.topic == f"alert{alert.pk}" and delivery.ttl == 6 * 3600 and delivery.urgency == "normal"
    assert push_service.refusals == []
    [batch] = PushBatch.objects.all()
    assert (batch.status, batch.delivered, batch.pruned, batch.failed) == (PushBatch.Status.DONE, 3, 0, 0)
    assert [name for name, _ in worker] == ["readers.tasks.fan_out_alert", "readers.tasks.send_alert_batch"]


def max_id() -> int:
    return PushSubscription.objects.order_by("-pk").values_list("pk", flat=True).first()


def test_a_post_marked_key_after_publishing_is_told_once_whatever_follows(client, event, editor, push_service, worker):
    [browser] = subscribed(client, event, push_service)
    post = factories.published_post(event, "The keynote begins.", headline="On stage", editor=editor)
    assert not PushAlert.objects.exists()

    post.set_key_event(editor, True)
    post.edit(editor, headline="On stage now", body="The keynote begins.")
    post.set_key_event(editor, False)
    post.set_key_event(editor, True)
    post.unpublish(editor)
    post.publish(editor)
    alerts.notify_key_event(post.pk)  # a second trigger of any kind finds it told

    [delivery] = push_service.delivered_to(browser)
    assert delivery.json()["body"] == "Key event: On stage"
    assert PushAlert.objects.count() == 1


def test_a_draft_marked_key_is_told_when_published(client, event, editor, push_service, worker):
    [browser] = subscribed(client, event, push_service)
    draft = Post.objects.create(event=event, headline="Vote passes", body="The motion is carried.")
    draft.set_key_event(editor, True)
    assert not PushAlert.objects.exists()
    draft.publish(editor)
    [delivery] = push_service.delivered_to(browser)
    assert delivery.json()["body"] == "Key event: Vote passes"


def test_subscribers_who_came_later_are_not_told_earlier_key_events(client, event, editor, push_service, worker):
    key_event(event, editor, "Before anyone asked")
    [browser] = subscribed(client, event, push_service)
    assert push_service.delivered_to(browser) == []
    key_event(event, editor, "After")
    assert [d.json()["body"] for d in push_service.delivered_to(browser)] == ["Key event: After"]


def test_a_published_story_so_far_is_told_to_subscribers(client, event, editor, push_service, worker):
    [browser] = subscribed(client, event, push_service)
    points = ["The hall is full.", "Ada Lovelace opens the keynote.", "A vote is due at noon."]
    draft = Summary.objects.create(
        event=event, version=1, status=Summary.Status.DRAFT, trigger=Summary.Trigger.EDITOR, points=points
    )
    summaries.publish(draft.pk, event, editor, override=True)

    [alert] = PushAlert.objects.all()
    assert (alert.kind, alert.summary_id) == (PushAlert.Kind.SUMMARY, draft.pk)
    [delivery] = push_service.delivered_to(browser)
    payload = delivery.json()
    assert payload["body"] == "The story so far: The hall is full."
    assert payload["url"] == "/events/keynote/#summary" and payload["tag"] == f"summary-{event.pk}"
    assert alerts.notify_summary(event.pk, draft.pk) is None  # told once


# --- Delivery: expired subscriptions, retries -------------------------------------------------------------------


def test_expired_subscriptions_are_removed(client, event, editor, push_service, worker):
    kept, gone, never = subscribed(client, event, push_service, 3)
    push_service.expire(gone, 410)
    push_service.expire(never, 404)

    key_event(event, editor)

    assert len(push_service.delivered_to(kept)) == 1
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [kept.endpoint]
    [batch] = PushBatch.objects.all()
    assert (batch.status, batch.delivered, batch.pruned) == (PushBatch.Status.DONE, 1, 2)


def test_429_and_5xx_are_retried_without_a_duplicate(client, event, editor, push_service, worker):
    calm, busy, failing, down = subscribed(client, event, push_service, 4)
    push_service.script(busy, (429, "1"))
    push_service.script(failing, (503, None), (500, None))
    push_service.script(down, (502, None))

    key_event(event, editor)

    # Each got it exactly once: the 429's and 5xx's subscribers again, never those who had it.
    for browser in (calm, busy, failing, down):
        assert len(push_service.delivered_to(browser)) == 1, browser.endpoint
    sends = [name for name, _ in worker if name == "readers.tasks.send_alert_batch"]
    assert len(sends) == 3  # the first send, then twice for the subscriber answered 503 then 500
    [batch] = PushBatch.objects.all()
    assert (batch.status, batch.delivered, batch.failed, batch.attempts) == (PushBatch.Status.DONE, 4, 0, 3)

    # A redelivered message, or the fan-out's again, sends nothing more.
    assert alerts.send_batch(batch.pk) is None
    assert alerts.fan_out(batch.alert_id) == []
    assert sum(len(push_service.delivered_to(b)) for b in (calm, busy, failing, down)) == 4


def test_the_retry_waits_for_retry_after(client, event, editor, push_service, settings):
    [browser] = subscribed(client, event, push_service)
    push_service.script(browser, (429, "7"))
    post = key_event(event, editor)  # no worker here: the tasks wait in the broker, run by hand below
    [alert] = PushAlert.objects.filter(post=post)
    [batch_id] = alerts.fan_out(alert.pk)

    result = alerts.send_batch(batch_id)
    assert (result.delivered, result.retry, result.retry_in) == (0, 1, 7.0)
    batch = PushBatch.objects.get(pk=batch_id)
    assert batch.status == PushBatch.Status.PENDING and batch.retry_ids == [max_id()]
    assert batch.lease_expires_at > timezone.now() + timedelta(seconds=7)

    result = alerts.send_batch(batch_id)
    assert (result.delivered, result.retry, result.retry_in) == (1, 0, None)
    assert len(push_service.delivered_to(browser)) == 1


def test_push_senders_tasks_send_all_of_an_alerts_batches(client, event, editor, push_service, worker, settings):
    settings.PUSH_BATCH_SIZE = 10
    settings.PUSH_SENDERS = 2
    browsers = subscribed(client, event, push_service, 25)
    key_event(event, editor)

    # Two messages for three batches: the first task sends all three, the second finds none left.
    assert [name for name, _ in worker] == [alerts.FAN_OUT, alerts.SEND_BATCH, alerts.SEND_BATCH]
    assert [len(push_service.delivered_to(browser)) for browser in browsers] == [1] * 25
    statuses = PushBatch.objects.order_by("pk").values_list("status", "delivered")
    assert list(statuses) == [(PushBatch.Status.DONE, 10), (PushBatch.Status.DONE, 10), (PushBatch.Status.DONE, 5)]


def test_a_worker_done_with_its_batch_sends_the_alerts_unstarted_ones(client, event, editor, push_service, settings):
    settings.PUSH_BATCH_SIZE = 10
    browsers = subscribed(client, event, push_service, 25)
    busy = browsers[12]
    push_service.script(busy, (429, "1"))
    post = key_event(event, editor)  # no worker here: the tasks wait in the broker, run by hand below
    first, second, third = alerts.fan_out(PushAlert.objects.get(post=post).pk)

    sent = list(alerts.send_batches(first))
    assert [(batch_id, result.delivered, result.retry) for batch_id, result in sent] == [
        (first, 10, 0),
        (second, 9, 1),
        (third, 5, 0),
    ]
    assert [len(push_service.delivered_to(browser)) for browser in browsers] == [1] * 12 + [0] + [1] * 12

    # The other batches' messages find them taken; the one owed again waits for its own message.
    assert list(alerts.send_batches(third)) == []
    assert PushBatch.objects.get(pk=second).status == PushBatch.Status.PENDING
    [(batch_id, result)] = alerts.send_batches(second)
    assert (batch_id, result.delivered, result.retry) == (second, 1, 0)
    assert [len(push_service.delivered_to(browser)) for browser in browsers] == [1] * 25
    assert set(PushBatch.objects.values_list("status", flat=True)) == {PushBatch.Status.DONE}


def test_a_push_service_that_keeps_failing_is_given_up_after_the_last_attempt(client, event, editor, settings):
    settings.PUSH_MAX_ATTEMPTS = 2
    with PushService() as push_service:
        [browser] = subscribed(client, event, push_service)
        push_service.script(browser, (503, None), (503, None), (503, None))
        post = key_event(event, editor)
        [batch_id] = alerts.fan_out(PushAlert.objects.get(post=post).pk)
        assert alerts.send_batch(batch_id).retry_in is not None
        last = alerts.send_batch(batch_id)
    assert (last.retry, last.retry_in) == (1, None)
    batch = PushBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.failed, batch.last_error) == (PushBatch.Status.DONE, 1, "answers [503]")
    assert PushSubscription.objects.count() == 1  # not expired: kept for the next alert


def test_a_lapsed_batch_is_handed_back_by_the_beat(client, event, editor, push_service, worker):
    [browser] = subscribed(client, event, push_service)
    post = Post.objects.create(event=event, headline="Quiet", body="Nothing yet.", key_event=True)
    alert = PushAlert.objects.create(
        event=event, kind=PushAlert.Kind.KEY_EVENT, post=post, payload={"title": "t"}, subscribers_upto=max_id()
    )
    PushAlert.objects.filter(pk=alert.pk).update(
        fanned_out_at=timezone.now(), created_at=timezone.now() - timedelta(minutes=5)
    )
    # A worker claimed it and died: its lease lapsed, and no message is left to send it.
    PushBatch.objects.create(
        alert=alert,
        first_id=max_id(),
        last_id=max_id(),
        status=PushBatch.Status.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert alerts.requeue_stale()
    assert [d.json() for d in push_service.delivered_to(browser)] == [{"title": "t"}]
    assert alerts.requeue_stale() == []


# --- The push services' HTTP ------------------------------------------------------------------------------------


def pushes_to(browsers) -> list[webpush.Push]:
    return [webpush.Push(n, b.endpoint, b.p256dh, b.auth) for n, b in enumerate(browsers)]


@pytest.mark.parametrize("style", ["length", "chunked", "close"])
def test_answers_however_framed_are_read_and_kept_connections_reused(style):
    with PushService(style=style) as push_service:
        browsers = [push_service.subscribe(webpush.public_key()) for _ in range(6)]
        for _ in range(2):
            outcomes = webpush.send(pushes_to(browsers), b'{"title":"t"}', topic="t1", ttl=60)
            assert [outcome.status for outcome in outcomes] == [201] * 6
    assert all(len(push_service.delivered_to(browser)) == 2 for browser in browsers)
    # Kept alive across both sends unless the service closes each connection after its answer.
    if style == "close":
        assert push_service.connections == 12
    else:
        assert push_service.connections <= 6


def test_pushes_go_over_verified_tls_and_nowhere_unverified():
    with PushService(tls=True) as push_service:
        browser = push_service.subscribe(webpush.public_key())
        body = webpush.encrypt(webpush.Push(1, browser.endpoint, browser.p256dh, browser.auth), b'{"title":"tls"}')
        keys = webpush.server_keys()
        headers = {"TTL": "60", "Content-Encoding": "aes128gcm"}
        headers |= keys.vapid.sign({"aud": push_service.origin, "sub": keys.subject})

        async def post(client: push_client.Client) -> int:
            try:
                return (await client.post(browser.endpoint, headers, body)).status
            finally:
                await client.close()

        assert browser.endpoint.startswith("https://127.0.0.1:")
        assert asyncio.run(post(push_client.Client(timeout=5, tls=push_service.client_tls()))) == 201
        with pytest.raises(push_client.NoAnswer, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(post(push_client.Client(timeout=5)))  # the system's authorities do not vouch for it
    assert [d.json() for d in push_service.delivered_to(browser)] == [{"title": "tls"}]


def test_a_connection_the_push_service_dropped_is_replaced_without_a_duplicate(push_service):
    browsers = [push_service.subscribe(webpush.public_key()) for _ in range(4)]
    webpush.send(pushes_to(browsers), b'{"title":"first"}', topic="t1", ttl=60)
    assert push_service.drop_idle_connections() >= 1
    outcomes = webpush.send(pushes_to(browsers), b'{"title":"second"}', topic="t2", ttl=60)
    assert [outcome.status for outcome in outcomes] == [201] * 4
    for browser in browsers:
        assert [d.json()["title"] for d in push_service.delivered_to(browser)] == ["first", "second"]


def test_a_push_service_too_slow_to_answer_leaves_the_push_owed(push_service, settings):
    settings.PUSH_TIMEOUT_SECONDS = 0.5
    quick, slow = (push_service.subscribe(webpush.public_key()) for _ in range(2))
    push_service.slow(slow, 3)
    by_subscriber = {o.subscription_id: o for o in webpush.send(pushes_to([quick, slow]), b"{}", topic="t", ttl=60)}
    assert by_subscriber[0].delivered
    assert by_subscriber[1].status == 0 and by_subscriber[1].worth_retrying


def test_an_address_that_cannot_go_on_a_request_line_is_never_sent_to(push_service):
    [browser] = [push_service.subscribe(webpush.public_key())]
    bad = webpush.Push(7, browser.endpoint + "\r\nX-Injected: 1", browser.p256dh, browser.auth)
    [outcome] = webpush.send([bad], b"{}", topic="t", ttl=60)
    assert outcome.gone and push_service.deliveries == [] and push_service.refusals == []


# --- From a real worker ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_key_event_is_told_from_the_celery_worker(client, event, editor, push_service):
    browsers = subscribed(client, event, push_service, 25)
    push_service.expire(browsers[0])
    empty_broker_queue()
    worker = start_worker(concurrency=2, PUSH_SERVICE_HOSTS="127.0.0.1", PUSH_BATCH_SIZE="10")
    try:
        post = key_event(event, editor)
        wait_until(lambda: len(push_service.deliveries) >= 24, 60, worker, what="24 deliveries")
        wait_until(lambda: PushSubscription.objects.count() == 24, 30, worker, what="the expired one removed")
        assert PushBatch.objects.filter(status=PushBatch.Status.DONE).count() == 3
    finally:
        worker.stop()
    worker.assert_no_traceback()
    assert "batch" in worker.output() and "expired and removed" in worker.output()
    assert {d.json()["url"] for d in push_service.deliveries} == {f"/events/keynote/posts/{post.pk}/"}
    assert sorted(d.token for d in push_service.deliveries) == sorted(b.token for b in browsers[1:])
    assert Event.objects.get(pk=event.pk).push_alerts.count() == 1
