// Readers' page: times in the reader's zone, live updates over the socket (polling the cursor
// endpoint when sockets fail), "N new updates" when the reader is not at the top.

const timeFormat = { hour: "2-digit", minute: "2-digit" };
const dateTimeFormat = { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" };
const badges = { live: ["live-badge", "Live"], ended: ["ended-badge", "Ended"], scheduled: ["upcoming-badge", "Upcoming"] };

function localiseTimes(within) {
  for (const el of within.querySelectorAll("time[datetime][data-tz]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (isNaN(when)) continue;
    const withDate = el.textContent.length > 12;
    if (!el.title) el.title = `${el.textContent} (${el.getAttribute("data-tz")})`;
    el.textContent = when.toLocaleString(undefined, withDate ? dateTimeFormat : timeFormat);
  }
}

localiseTimes(document);

// The rest is for an event's page (and its embed), not the index.
const root = document.getElementById("event");
const posts = document.getElementById("posts");
const pinned = document.getElementById("pinned");
const banner = document.getElementById("new-banner");
const announcer = document.getElementById("announcer");
const keyEvents = document.getElementById("key-events");
let cursor = root ? parseInt(root.getAttribute("data-cursor"), 10) || 0 : 0;
let baseTitle = document.title;
let waiting = []; // ids of new posts held back while the reader is elsewhere
let socket = null;
let retry = 1000;
let pollTimer = null;

function atTop() {
  return window.scrollY < 150 && document.visibilityState === "visible";
}

function fromHtml(html) {
  const holder = document.createElement("div");
  holder.innerHTML = html; // server-rendered and sanitised (nh3 + Django escaping)
  return holder.firstElementChild;
}

function insertSorted(el) {
  const when = el.getAttribute("data-published");
  const items = posts.querySelectorAll("article.post");
  for (const item of items) {
    if (item.getAttribute("data-published") < when) {
      posts.insertBefore(el, item);
      return;
    }
  }
  const empty = items.length ? null : document.getElementById("empty");
  if (empty) empty.remove();
  posts.appendChild(el);
}

// The event's own title and status: an editor may rename it, and it goes live and ends.
function setEvent(facts) {
  if (!facts) return;
  const heading = root.querySelector(".event-head h1");
  const name = heading && (heading.querySelector("a") || heading);
  if (name && name.textContent !== facts.title) name.textContent = facts.title;
  const badge = document.getElementById("event-badge");
  const look = badges[facts.status];
  if (badge && look) {
    badge.className = look[0];
    badge.textContent = look[1];
  }
  const ended = document.getElementById("event-ended");
  if (ended && facts.status === "ended" && facts.ends_at && ended.hidden) {
    const at = document.getElementById("event-ended-at");
    at.setAttribute("datetime", facts.ends_at);
    at.textContent = facts.ends_at;
    localiseTimes(ended);
    ended.hidden = false;
    announce("The event has ended.");
  }
  root.setAttribute("data-status", facts.status);
  baseTitle = facts.page_title;
  showWaiting(); // the title again, with its "(N)" if updates wait
}

function announce(text) {
  announcer.textContent = "";
  window.setTimeout(() => { announcer.textContent = text; }, 50);
}

function showWaiting() {
  const n = waiting.length;
  if (!n) {
    banner.hidden = true;
    document.title = baseTitle;
    return;
  }
  banner.textContent = `${n}${n === 1 ? " new update" : " new updates"} — show`;
  banner.hidden = false;
  document.title = `(${n}) ${baseTitle}`;
}

function reveal(focus) {
  let first = null;
  for (const id of waiting) {
    const el = document.getElementById(`post-${id}`);
    if (el) {
      el.hidden = false;
      el.classList.add("arrived");
      if (!first) first = el;
    }
  }
  waiting = [];
  showWaiting();
  if (focus && first) {
    first.setAttribute("tabindex", "-1");
    first.scrollIntoView({ block: "start" });
    first.focus();
  }
}

function setPinned(id) {
  if (!pinned) return;
  pinned.innerHTML = "";
  const source = id ? document.getElementById(`post-${id}`) : null;
  if (source) {
    const copy = source.cloneNode(true);
    copy.id = `pinned-post-${id}`;
    copy.hidden = false;
    pinned.appendChild(copy);
  }
  pinned.hidden = !source;
}

function setKeyEvents(items) {
  if (!keyEvents || !items) return;
  const list = document.getElementById("key-events-list");
  list.innerHTML = "";
  for (const item of items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = item.anchor;
    a.textContent = item.headline;
    li.appendChild(a);
    list.appendChild(li);
  }
  keyEvents.hidden = items.length === 0;
}

function apply(change) {
  if (typeof change.cursor !== "number" || change.cursor <= cursor) return;
  const fresh = [];
  for (const post of change.posts) {
    const el = fromHtml(post.html);
    localiseTimes(el);
    const old = document.getElementById(`post-${post.id}`);
    if (old) {
      el.hidden = old.hidden;
      old.replaceWith(el);
    } else {
      fresh.push({ id: post.id, el });
    }
  }
  for (const id of change.removed) {
    const old = document.getElementById(`post-${id}`);
    if (old) old.remove();
    const copy = document.getElementById(`pinned-post-${id}`);
    if (copy) copy.remove();
    waiting = waiting.filter((w) => w !== id);
  }
  const quiet = !atTop();
  for (const item of fresh) {
    if (quiet) {
      item.el.hidden = true;
      waiting.push(item.id);
    } else {
      item.el.classList.add("arrived");
    }
    insertSorted(item.el);
  }
  if ("pinned" in change) setPinned(change.pinned);
  setKeyEvents(change.key_events);
  setEvent(change.event);
  cursor = change.cursor;
  root.setAttribute("data-cursor", String(cursor));
  if (fresh.length && quiet) {
    showWaiting();
    announce(`${waiting.length}${waiting.length === 1 ? " new update" : " new updates"}`);
  } else if (fresh.length) {
    announce(fresh.length === 1 ? "New update" : `${fresh.length} new updates`);
  }
}

// --- transport: the socket, with the cursor endpoint as the fallback and catch-up ---------

// One answer carries a page of changes at most; "more" says the rest follows from its cursor.
// The socket sends the rest by itself; the poller asks for it straight away.
function poll() {
  const url = `${root.getAttribute("data-poll")}?after=${cursor}`;
  return fetch(url, { headers: { Accept: "application/json" } })
    .then((r) => {
      if (r.status === 400) location.reload(); // a cursor the event no longer knows: start afresh
      return r.ok ? r.json() : null;
    })
    .then((data) => {
      if (!data) return;
      const before = cursor;
      apply(data);
      if (data.more && cursor > before) return poll();
    })
    .catch(() => {});
}

function startPolling(every) {
  if (pollTimer) return;
  pollTimer = window.setInterval(poll, every);
}

function stopPolling() {
  if (pollTimer) window.clearInterval(pollTimer);
  pollTimer = null;
}

function connect() {
  if (!("WebSocket" in window)) {
    startPolling(5000);
    return;
  }
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + root.getAttribute("data-socket"));
  socket.onopen = () => {
    retry = 1000;
    stopPolling();
    // The server answers from this cursor, so whatever happened while away arrives now.
    socket.send(JSON.stringify({ type: "hello", cursor }));
    root.setAttribute("data-connected", "1");
  };
  socket.onmessage = (message) => {
    try { apply(JSON.parse(message.data)); } catch { /* ignore a malformed frame */ }
  };
  socket.onclose = (event) => {
    root.removeAttribute("data-connected");
    socket = null;
    if (event.code === 4404) return;
    startPolling(5000);
    window.setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  };
}

function loadOlder(older) {
  older.addEventListener("click", (event) => {
    event.preventDefault();
    const before = older.getAttribute("data-before");
    fetch(`${root.getAttribute("data-older")}?before=${before}`)
      .then((r) => r.json())
      .then((data) => {
        for (const post of data.posts) {
          if (document.getElementById(`post-${post.id}`)) continue;
          const el = fromHtml(post.html);
          localiseTimes(el);
          posts.appendChild(el);
        }
        if (data.before) {
          older.setAttribute("data-before", data.before);
          older.href = `?before=${data.before}`;
        } else {
          older.parentNode.remove();
        }
      });
  });
}

if (root) {
  banner.addEventListener("click", () => reveal(true));
  window.addEventListener("scroll", () => { if (waiting.length && atTop()) reveal(false); }, { passive: true });
  document.addEventListener("visibilitychange", () => { if (waiting.length && atTop()) reveal(false); });
  const older = document.getElementById("older");
  if (older) loadOlder(older);
  // The test hook and the reconnect button of a flaky network: drop the socket, catch up after.
  window.liveblogReader = {
    cursor: () => cursor,
    dropSocket: () => { if (socket) socket.close(); },
  };
  connect();
}
