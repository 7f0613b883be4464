"""Alerts for readers in real Chromium on a real Daphne: the page asks the browser nothing until the reader clicks,
and with notifications allowed the button registers the service worker, subscribes and is told by the server;
a key event then reaches the push service emulator, and its decrypted payload, handed to the real service worker,
becomes the notification.

Headless Chromium reaches no push service (its own is Google's, off this machine, and it refuses to subscribe in
a browser context that is not a saved profile), so in the second test the page's PushManager is given a
subscription the push service emulator made, as a browser gets one from its push service; everything of ours (the
page's script, the service worker, the endpoints, the worker's sending) runs as it is.
"""

import json

import pytest
from playwright.sync_api import expect

from readers import alerts, webpush
from readers.models import PushAlert, PushSubscription
from tests.support import factories
from tests.support.axe import audit, blocking
from tests.support.emulators.push import PushService, Subscription
from tests.support.processes import start_daphne, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

ARRIVES = 15_000  # ms: a functional bound, far above what any of these steps takes

# Observes, without changing them, the calls that would ask the reader anything; notes whether each came with
# the user activation a click gives.
WATCH_ASKING = """
window.__asked = [];
window.__initialPermission = Notification.permission;
const askPermission = Notification.requestPermission.bind(Notification);
Notification.requestPermission = (...args) => {
  window.__asked.push({what: "notification permission", inClick: navigator.userActivation.isActive});
  return askPermission(...args);
};
const register = ServiceWorkerContainer.prototype.register;
ServiceWorkerContainer.prototype.register = function (...args) {
  window.__asked.push({what: "service worker", inClick: navigator.userActivation.isActive});
  return register.apply(this, args);
};
"""


EMULATED_PUSH_MANAGER = """
(() => {
  const made = __MADE__;
  const calls = (window.__pushCalls = []);
  const stored = () => localStorage.getItem("emulated-push-key");
  const subscription = (key) => ({
    endpoint: made.endpoint,
    expirationTime: null,
    options: {userVisibleOnly: true, applicationServerKey: Uint8Array.from(JSON.parse(key)).buffer},
    toJSON: () => made,
    unsubscribe: async () => {
      calls.push({what: "unsubscribe"});
      localStorage.removeItem("emulated-push-key");
      return true;
    },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    calls.push({what: "subscribe", userVisibleOnly: options.userVisibleOnly, key});
    localStorage.setItem("emulated-push-key", JSON.stringify(key));
    return subscription(JSON.stringify(key));
  };
  PushManager.prototype.getSubscription = async function () {
    return stored() ? subscription(stored()) : null;
  };
})();
"""


def emulated_push_manager(subscription: Subscription) -> str:
    """The browser's side of the push service emulator: PushManager hands out the emulator's subscription (kept
    across reloads, as a browser keeps one) and records what the page asked of it."""
    return EMULATED_PUSH_MANAGER.replace("__MADE__", json.dumps(subscription.as_json()))


@pytest.fixture(scope="module")
def site(django_db_setup):
    """Daphne taking subscriptions on the loopback push service emulator."""
    process, port = start_daphne(PUSH_SERVICE_HOSTS="127.0.0.1")
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


def console_of(context) -> list[str]:
    lines: list[str] = []
    context.on("console", lambda message: lines.append(message.text))
    return lines


def test_the_page_asks_nothing_until_the_reader_clicks(browser, site, event):
    context = browser.new_context(bypass_csp=True)  # for the accessibility audit's script only
    context.add_init_script(WATCH_ASKING)
    page = context.new_page()
    page.goto(f"{site}/events/{event.slug}/")
    expect(page.locator("#alerts[data-ready]")).to_have_count(1, timeout=ARRIVES)
    button = page.locator("#alerts-button")
    expect(button).to_have_text("Alert me to key events")
    expect(button).to_be_visible()
    page.wait_for_timeout(1000)  # nothing asks later either

    assert page.evaluate("window.__asked") == []
    assert page.evaluate("Notification.permission") == page.evaluate("window.__initialPermission")
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(list => list.length)") == 0
    assert [line for line in blocking(audit(page)) if "#alerts" in line] == []

    button.click()
    # Headless Chromium grants nothing it was not told to: the reader's browser said no.
    expect(page.locator("#alerts-note")).to_contain_text("notifications", timeout=ARRIVES)
    asked = page.evaluate("window.__asked")
    assert asked == [{"what": "notification permission", "inClick": True}]
    expect(button).to_have_text("Alert me to key events")
    assert not PushSubscription.objects.exists()
    context.close()


def test_with_notifications_allowed_the_button_subscribes_and_a_key_event_is_shown(browser, site, event, editor):
    with PushService() as push_service:
        made = push_service.subscribe(webpush.public_key())
        context = browser.new_context(permissions=["notifications"])
        console = console_of(context)
        context.add_init_script(WATCH_ASKING)
        context.add_init_script(emulated_push_manager(made))
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        registrations: dict[str, str] = {}
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda update: registrations.update(
                {r["scopeURL"]: r["registrationId"] for r in update["registrations"] if not r["isDeleted"]}
            ),
        )
        cdp.send("ServiceWorker.enable")
        page.goto(f"{site}/events/{event.slug}/")
        expect(page.locator("#alerts[data-ready]")).to_have_count(1, timeout=ARRIVES)
        assert page.evaluate("window.__asked") == []

        page.click("#alerts-button")
        expect(page.locator("#alerts-button")).to_have_text("Stop alerts", timeout=ARRIVES)
        expect(page.locator("#alerts-note")).to_contain_text("Alerts on")
        assert page.evaluate("window.__asked") == [
            {"what": "notification permission", "inClick": True},
            {"what": "service worker", "inClick": True},
        ]
        [subscribe] = page.evaluate("window.__pushCalls")
        assert subscribe["userVisibleOnly"] is True
        assert bytes(subscribe["key"]) == webpush.b64url_decode(webpush.public_key())
        worker_url = page.evaluate("navigator.serviceWorker.getRegistration('/events/').then(r => r.active.scriptURL)")
        assert worker_url == f"{site}/push-sw.js"
        [row] = PushSubscription.objects.filter(event=event)
        assert (row.endpoint, row.p256dh, row.auth) == (made.endpoint, made.p256dh, made.auth)

        page.reload()  # the server is asked, and remembers
        expect(page.locator("#alerts[data-ready]")).to_have_count(1, timeout=ARRIVES)
        expect(page.locator("#alerts-button")).to_have_text("Stop alerts")

        post = factories.published_post(
            event, "The hall fills up.", headline="Doors open", editor=editor, key_event=True
        )
        # Playwright's loop runs on this thread, so the alert is made on a thread of its own (as under Daphne).
        wait_until(lambda: PushAlert.objects.filter(post=post).exists(), 10, what="the key event's alert")
        alert = PushAlert.objects.get(post=post)
        for batch_id in alerts.fan_out(alert.pk):
            alerts.send_batch(batch_id)
        [delivery] = push_service.delivered_to(made)

        # The decrypted push, handed to the page's real service worker as the browser would.
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": site, "registrationId": registrations[f"{site}/events/"], "data": delivery.payload.decode()},
        )
        shown = page.wait_for_function(
            """() => navigator.serviceWorker.ready
                 .then(r => r.getNotifications())
                 .then(list => list.length ? list.map(n => ({title: n.title, body: n.body, tag: n.tag, lang: n.lang,
                   data: n.data, actions: n.actions.map(a => [a.action, a.title])})) : null)""",
            timeout=ARRIVES,
        ).json_value()
        assert shown == [
            {
                "title": "Keynote",
                "body": "Key event: Doors open",
                "tag": f"key-{post.pk}",
                "lang": "en",
                "data": {
                    "url": f"{site}/events/keynote/posts/{post.pk}/",
                    "unsubscribe": f"{site}/events/keynote/alerts/unsubscribe",
                    "tokenUrl": f"{site}/alerts/token",
                },
                "actions": [["stop", "Stop alerts"]],
            }
        ]

        page.click("#alerts-button")  # one click stops them
        expect(page.locator("#alerts-button")).to_have_text("Alert me to key events", timeout=ARRIVES)
        assert not PushSubscription.objects.exists()
        assert page.evaluate("window.__pushCalls").count({"what": "unsubscribe"}) == 1
        assert not [line for line in console if "Content Security Policy" in line or "Refused" in line]
        context.close()
