// Alerts for readers: the event page's "Alert me to key events" button (templates/readers/_alerts.html).
// Nothing is asked of the browser before the reader clicks: Notification.requestPermission is called only
// inside the click handler. Loading the page only looks for a subscription this browser already has.
const box = document.getElementById("alerts");
const supported =
  box !== null &&
  window.isSecureContext &&
  "serviceWorker" in navigator &&
  "PushManager" in window &&
  "Notification" in window;

const button = box && box.querySelector("#alerts-button");
const note = box && box.querySelector("#alerts-note");
let busy = false;
let csrfToken = null;

function keyBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options && subscription.options.applicationServerKey;
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((byte, index) => byte === key[index]);
}

function show(subscribed, message = "") {
  box.dataset.state = subscribed ? "on" : "off";
  button.textContent = subscribed ? box.dataset.labelOn : box.dataset.labelOff;
  note.textContent = message;
}

async function token() {
  // The page is cached for everyone and carries no CSRF token: the posts fetch one (and its cookie) first.
  if (csrfToken === null) {
    const response = await fetch(box.dataset.token, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`alerts: the token answered ${response.status}`);
    csrfToken = (await response.json()).token;
  }
  return csrfToken;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": await token() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`alerts: ${url} answered ${response.status}`);
  return response.json();
}

async function existingSubscription() {
  const registration = await navigator.serviceWorker.getRegistration(box.dataset.scope);
  return registration ? registration.pushManager.getSubscription() : null;
}

function activated(registration) {
  const worker = registration.installing || registration.waiting;
  if (!worker) return Promise.resolve();
  return new Promise((resolve) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated" || worker.state === "redundant") resolve();
    });
  });
}

async function turnOn() {
  // The only place the browser is asked, and only because the reader clicked.
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    show(false, permission === "denied" ? box.dataset.denied : box.dataset.dismissed);
    return;
  }
  const key = keyBytes(box.dataset.key);
  const registration = await navigator.serviceWorker.register(box.dataset.worker, { scope: box.dataset.scope });
  await activated(registration);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe(); // made for another server key: the site's key has changed since
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await post(box.dataset.subscribe, subscription.toJSON());
  show(true, box.dataset.on);
}

async function turnOff() {
  const subscription = await existingSubscription();
  if (subscription) {
    const answer = await post(box.dataset.unsubscribe, { endpoint: subscription.endpoint });
    // The browser's subscription ends too once no event's alerts are left on it.
    if (answer.remaining === 0) await subscription.unsubscribe();
  }
  show(false, box.dataset.off);
}

async function onClick() {
  if (busy) return;
  busy = true;
  button.disabled = true;
  try {
    if (box.dataset.state === "on") await turnOff();
    else await turnOn();
  } catch (error) {
    console.warn(error);
    show(box.dataset.state === "on", box.dataset.failed);
  } finally {
    busy = false;
    button.disabled = false;
  }
}

async function start() {
  show(false);
  box.hidden = false;
  button.addEventListener("click", onClick);
  try {
    const subscription = await existingSubscription();
    if (subscription) {
      const answer = await post(box.dataset.status, { endpoint: subscription.endpoint });
      if (!busy) show(answer.subscribed);
    }
  } catch (error) {
    console.warn(error); // the button stays "Alert me": a click sets things right
  }
  box.dataset.ready = "";
}

if (supported) start();
