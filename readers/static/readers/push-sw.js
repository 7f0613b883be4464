// The readers' service worker (served at /push-sw.js, scope /events/): shows each alert the site pushes (a key
// event, a new story so far), opens its page when clicked, and stops that event's alerts from the notification's
// own button. It caches nothing and intercepts no request.
const LIMITS = { title: 200, body: 400, tag: 64, lang: 35 };

function text(value, limit) {
  return typeof value === "string" ? value.slice(0, limit) : "";
}

function sameOrigin(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.href : null;
  } catch {
    return null;
  }
}

function alertOf(event) {
  try {
    const data = event.data ? event.data.json() : null;
    if (!data || typeof data !== "object") return null;
    return {
      title: text(data.title, LIMITS.title),
      body: text(data.body, LIMITS.body),
      tag: text(data.tag, LIMITS.tag),
      lang: text(data.lang, LIMITS.lang),
      stop: text(data.stop, LIMITS.title),
      url: sameOrigin(data.url),
      unsubscribe: sameOrigin(data.unsubscribe),
      tokenUrl: sameOrigin(data.token_url),
    };
  } catch {
    return null;
  }
}

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("push", (event) => {
  const alert = alertOf(event);
  if (!alert || !alert.title) return;
  const options = {
    body: alert.body,
    tag: alert.tag || undefined,
    lang: alert.lang || undefined,
    data: { url: alert.url, unsubscribe: alert.unsubscribe, tokenUrl: alert.tokenUrl },
    actions: alert.stop && alert.unsubscribe && alert.tokenUrl ? [{ action: "stop", title: alert.stop }] : [],
  };
  event.waitUntil(self.registration.showNotification(alert.title, options));
});

async function openPage(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === url);
  if (open) return open.focus();
  return self.clients.openWindow(url);
}

async function stopAlerts(url, tokenUrl) {
  const subscription = await self.registration.pushManager.getSubscription();
  if (!subscription) return;
  const token = await fetch(tokenUrl, { credentials: "same-origin" }).then((answer) => answer.json());
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": token.token },
    body: JSON.stringify({ endpoint: subscription.endpoint }),
  });
  if (response.ok && (await response.json()).remaining === 0) await subscription.unsubscribe();
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  if (event.action === "stop") {
    if (data.unsubscribe && data.tokenUrl) event.waitUntil(stopAlerts(data.unsubscribe, data.tokenUrl));
    return;
  }
  if (data.url) event.waitUntil(openPage(data.url));
});
