// Readers' page: times in the reader's zone (times.js), the reading the reader chose (reading.js: all posts or key
// events, newest or oldest first), live updates over the socket (polling the cursor endpoint when sockets fail)
// kept to that reading, "N new updates" when the reader is not at the top of a newest-first page.

import "./embeds.js";

import { followReading, readingQuery } from "./reading.js";
import { keepRelativeTimesFresh, localiseTimes, nameZone } from "./times.js";

localiseTimes(document);
nameZone();
keepRelativeTimesFresh();

// The rest is for an event's page (and its embed), not the index.
const root = document.getElementById("event");
const words = document.getElementById("reader-words")?.dataset || {};
const badges = {
  live: ["live-badge", words.live || "Live"],
  ended: ["ended-badge", words.endedBadge || "Ended"],
  scheduled: ["upcoming-badge", words.scheduled || "Upcoming"],
};
const keyOnly = root?.getAttribute("data-view") === "key";
const edition = root?.getAttribute("data-lang") || ""; // the reader edition ("" the original): ?lang=, hello's lang
const oldestFirst = root?.getAttribute("data-order") === "oldest";
const beyond = new Map(); // posts past the ones loaded (a "load more" link brings them): id → element
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
const SERVICE_RESTART = 1012; // the server is restarting (a deploy): reconnect at once
const RESTART_SPREAD_MS = 500;
let pollTimer = null;

function atTop() {
  return window.scrollY < 150 && document.visibilityState === "visible";
}

function fromHtml(html) {
  const holder = document.createElement("div");
  holder.innerHTML = html; // server-rendered and sanitised (nh3 + Django escaping)
  return holder.firstElementChild;
}

function count(n, one, many) {
  return n === 1 ? one : many.replace("{n}", String(n));
}

// Whether post a comes before post b in the page's order (posts published at the same moment: by id).
function comesBefore(a, b) {
  const at = Date.parse(a.getAttribute("data-published"));
  const bt = Date.parse(b.getAttribute("data-published"));
  const newer = at > bt || (at === bt && Number(a.getAttribute("data-id")) > Number(b.getAttribute("data-id")));
  return oldestFirst ? !newer : newer;
}

// In its place among the posts loaded; false (left out) when it falls past them and a "load more" link follows.
function insertSorted(el) {
  const items = posts.querySelectorAll("article.post");
  for (const item of items) {
    if (comesBefore(el, item)) {
      posts.insertBefore(el, item);
      return true;
    }
  }
  if (items.length && root.querySelector(".more-posts")) return false;
  const empty = document.getElementById("empty");
  if (empty) empty.remove();
  posts.appendChild(el);
  return true;
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
    announce(words.ended || "The event has ended.");
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
  banner.textContent = count(n, words.bannerOne || "1 new update: show", words.bannerMany || "{n} new updates: show");
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

function setPinned(id, arrived) {
  if (!pinned) return;
  // The pinned post's copy: from the list, or from this change when the page's reading leaves it out of the list.
  const source = id ? document.getElementById(`post-${id}`) || arrived.get(id) : null;
  if (id && !source && document.getElementById(`pinned-post-${id}`)) return; // unchanged, and not in the list
  pinned.innerHTML = "";
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
  const arrived = new Map(); // every post the change carries, listed here or not
  for (const post of change.posts) {
    const el = fromHtml(post.html);
    localiseTimes(el);
    arrived.set(post.id, el);
    const old = document.getElementById(`post-${post.id}`);
    const wanted = !keyOnly || post.key_event; // in key events only, a post unmarked leaves, one marked joins
    beyond.delete(post.id);
    if (old && wanted) {
      el.hidden = old.hidden;
      old.replaceWith(el);
    } else if (old) {
      old.remove();
      waiting = waiting.filter((w) => w !== post.id);
    } else if (wanted) {
      fresh.push({ id: post.id, el });
    }
  }
  for (const id of change.removed) {
    const old = document.getElementById(`post-${id}`);
    if (old) old.remove();
    const copy = document.getElementById(`pinned-post-${id}`);
    if (copy) copy.remove();
    waiting = waiting.filter((w) => w !== id);
    beyond.delete(id);
  }
  // Newest first, a reader down the page keeps their place: new posts wait behind the banner. Oldest first,
  // they join the end of the page, below the reader, so nothing moves.
  const quiet = !oldestFirst && !atTop();
  let shown = 0;
  for (const item of fresh) {
    item.el.hidden = quiet;
    if (!insertSorted(item.el)) {
      item.el.hidden = false;
      beyond.set(item.id, item.el);
      continue;
    }
    shown += 1;
    if (quiet) waiting.push(item.id);
    else item.el.classList.add("arrived");
  }
  if ("pinned" in change) setPinned(change.pinned, arrived);
  setKeyEvents(change.key_events);
  setEvent(change.event);
  document.dispatchEvent(new CustomEvent("liveblog:change", { detail: change })); // e.g. summary.js
  cursor = change.cursor;
  root.setAttribute("data-cursor", String(cursor));
  if (shown && quiet) {
    showWaiting();
    announce(count(waiting.length, words.waitingOne || "1 new update", words.newMany || "{n} new updates"));
  } else if (shown && oldestFirst) {
    announce(words.newBelow || "New update at the end of the page");
  } else if (shown) {
    announce(count(shown, words.newOne || "New update", words.newMany || "{n} new updates"));
  }
}

// --- transport: the socket, with the cursor endpoint as the fallback and catch-up ---------

// One answer carries a page of changes at most; "more" says the rest follows from its cursor.
// The socket sends the rest by itself; the poller asks for it straight away.
function poll() {
  const lang = edition ? `&lang=${encodeURIComponent(edition)}` : "";
  const url = `${root.getAttribute("data-poll")}?after=${cursor}${lang}`;
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
    socket.send(JSON.stringify(edition ? { type: "hello", cursor, lang: edition } : { type: "hello", cursor }));
    root.setAttribute("data-connected", "1");
  };
  socket.onmessage = (message) => {
    try { apply(JSON.parse(message.data)); } catch { /* ignore a malformed frame */ }
  };
  socket.onclose = (event) => {
    root.removeAttribute("data-connected");
    socket = null;
    if (event.code === 4404) return;
    if (event.code === SERVICE_RESTART) {
      // A deploy: this process is going, others take readers now. No backoff, only a spread of
      // half a second so a process's readers do not all arrive in the same instant.
      window.setTimeout(connect, Math.random() * RESTART_SPREAD_MS);
      return;
    }
    startPolling(5000);
    window.setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  };
}

// "Load older posts" (newest first) or "Load later posts" (oldest first): the next page, in the page's reading.
function loadMore(link) {
  const name = oldestFirst ? "after" : "before";
  const endpoint = root.getAttribute(oldestFirst ? "data-later" : "data-older");
  const view = keyOnly ? "key" : "all";
  const order = oldestFirst ? "oldest" : "newest";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ [name]: link.getAttribute("data-cursor") });
    if (keyOnly) query.set("view", view);
    if (edition) query.set("lang", edition);
    fetch(`${endpoint}?${query}`)
      .then((r) => r.json())
      .then((data) => {
        for (const post of data.posts) {
          beyond.delete(post.id);
          if (document.getElementById(`post-${post.id}`)) continue;
          const el = fromHtml(post.html);
          localiseTimes(el);
          posts.appendChild(el);
        }
        if (data[name]) {
          link.setAttribute("data-cursor", data[name]);
          link.href = readingQuery(view, order, edition ? { lang: edition, [name]: data[name] } : { [name]: data[name] });
        } else {
          link.parentNode.remove();
        }
        // Posts that arrived live past the loaded ones, now within them (or all, at the end).
        for (const [id, el] of beyond) {
          if (!document.getElementById(`post-${id}`) && insertSorted(el)) beyond.delete(id);
        }
      });
  });
}

if (root && !followReading(root)) {
  banner.addEventListener("click", () => reveal(true));
  window.addEventListener("scroll", () => { if (waiting.length && atTop()) reveal(false); }, { passive: true });
  document.addEventListener("visibilitychange", () => { if (waiting.length && atTop()) reveal(false); });
  const more = root.querySelector(".more-posts");
  if (more) loadMore(more);
  // The test hook and the reconnect button of a flaky network: drop the socket, catch up after.
  window.liveblogReader = {
    cursor: () => cursor,
    dropSocket: () => { if (socket) socket.close(); },
  };
  connect();
}
