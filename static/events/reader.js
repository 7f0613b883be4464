// Readers' page: times in the reader's zone, live updates over the socket (polling the cursor
// endpoint when sockets fail), "N new updates" when the reader is not at the top.
(function () {
  "use strict";

  var timeFormat = { hour: "2-digit", minute: "2-digit" };
  var dateTimeFormat = { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" };

  function localiseTimes(root) {
    var times = root.querySelectorAll("time[datetime][data-tz]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      var withDate = el.textContent.length > 12;
      if (!el.title) el.title = el.textContent + " (" + el.getAttribute("data-tz") + ")";
      el.textContent = when.toLocaleString(undefined, withDate ? dateTimeFormat : timeFormat);
    }
  }

  localiseTimes(document);
  var root = document.getElementById("event");
  if (!root) return;

  var cursor = parseInt(root.getAttribute("data-cursor"), 10) || 0;
  var posts = document.getElementById("posts");
  var pinned = document.getElementById("pinned");
  var banner = document.getElementById("new-banner");
  var announcer = document.getElementById("announcer");
  var keyEvents = document.getElementById("key-events");
  var baseTitle = document.title;
  var waiting = []; // ids of new posts held back while the reader is elsewhere
  var socket = null;
  var retry = 1000;
  var pollTimer = null;

  function atTop() {
    return window.scrollY < 150 && document.visibilityState === "visible";
  }

  function fromHtml(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html; // server-rendered and sanitised (nh3 + Django escaping)
    return holder.firstElementChild;
  }

  function insertSorted(el) {
    var when = el.getAttribute("data-published");
    var items = posts.querySelectorAll("article.post");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-published") < when) {
        posts.insertBefore(el, items[i]);
        return;
      }
    }
    var empty = items.length ? null : document.getElementById("empty");
    if (empty) empty.remove();
    posts.appendChild(el);
  }

  var badges = { live: ["live-badge", "Live"], ended: ["ended-badge", "Ended"], scheduled: ["upcoming-badge", "Upcoming"] };

  // The event's own title and status: an editor may rename it, and it goes live and ends.
  function setEvent(facts) {
    if (!facts) return;
    var heading = root.querySelector(".event-head h1");
    var name = heading && (heading.querySelector("a") || heading);
    if (name && name.textContent !== facts.title) name.textContent = facts.title;
    var badge = document.getElementById("event-badge");
    var look = badges[facts.status];
    if (badge && look) {
      badge.className = look[0];
      badge.textContent = look[1];
    }
    var ended = document.getElementById("event-ended");
    if (ended && facts.status === "ended" && facts.ends_at && ended.hidden) {
      var at = document.getElementById("event-ended-at");
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
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function showWaiting() {
    var n = waiting.length;
    if (!n) {
      banner.hidden = true;
      document.title = baseTitle;
      return;
    }
    banner.textContent = n + (n === 1 ? " new update" : " new updates") + " — show";
    banner.hidden = false;
    document.title = "(" + n + ") " + baseTitle;
  }

  function reveal(focus) {
    var first = null;
    waiting.forEach(function (id) {
      var el = document.getElementById("post-" + id);
      if (el) {
        el.hidden = false;
        el.classList.add("arrived");
        if (!first) first = el;
      }
    });
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
    var source = id ? document.getElementById("post-" + id) : null;
    if (source) {
      var copy = source.cloneNode(true);
      copy.id = "pinned-post-" + id;
      copy.hidden = false;
      pinned.appendChild(copy);
    }
    pinned.hidden = !source;
  }

  function setKeyEvents(items) {
    if (!keyEvents || !items) return;
    var list = document.getElementById("key-events-list");
    list.innerHTML = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.anchor;
      a.textContent = item.headline;
      li.appendChild(a);
      list.appendChild(li);
    });
    keyEvents.hidden = items.length === 0;
  }

  function apply(change) {
    if (typeof change.cursor !== "number" || change.cursor <= cursor) return;
    var fresh = [];
    change.posts.forEach(function (post) {
      var el = fromHtml(post.html);
      localiseTimes(el);
      var old = document.getElementById("post-" + post.id);
      if (old) {
        el.hidden = old.hidden;
        old.replaceWith(el);
      } else {
        fresh.push({ id: post.id, el: el });
      }
    });
    change.removed.forEach(function (id) {
      var old = document.getElementById("post-" + id);
      if (old) old.remove();
      var copy = document.getElementById("pinned-post-" + id);
      if (copy) copy.remove();
      waiting = waiting.filter(function (w) { return w !== id; });
    });
    var quiet = !atTop();
    fresh.forEach(function (item) {
      if (quiet) {
        item.el.hidden = true;
        waiting.push(item.id);
      } else {
        item.el.classList.add("arrived");
      }
      insertSorted(item.el);
    });
    if ("pinned" in change) setPinned(change.pinned);
    setKeyEvents(change.key_events);
    setEvent(change.event);
    cursor = change.cursor;
    root.setAttribute("data-cursor", String(cursor));
    if (fresh.length && quiet) {
      showWaiting();
      announce(waiting.length + (waiting.length === 1 ? " new update" : " new updates"));
    } else if (fresh.length) {
      announce(fresh.length === 1 ? "New update" : fresh.length + " new updates");
    }
  }

  // --- transport: the socket, with the cursor endpoint as the fallback and catch-up ---------

  // One answer carries a page of changes at most; "more" says the rest follows from its cursor.
  // The socket sends the rest by itself; the poller asks for it straight away.
  function poll() {
    var url = root.getAttribute("data-poll") + "?after=" + cursor;
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 400) location.reload(); // a cursor the event no longer knows: start afresh
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        var before = cursor;
        apply(data);
        if (data.more && cursor > before) return poll();
      })
      .catch(function () {});
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
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.getAttribute("data-socket"));
    socket.onopen = function () {
      retry = 1000;
      stopPolling();
      // The server answers from this cursor, so whatever happened while away arrives now.
      socket.send(JSON.stringify({ type: "hello", cursor: cursor }));
      root.setAttribute("data-connected", "1");
    };
    socket.onmessage = function (message) {
      try { apply(JSON.parse(message.data)); } catch (e) { /* ignore a malformed frame */ }
    };
    socket.onclose = function (event) {
      root.removeAttribute("data-connected");
      socket = null;
      if (event.code === 4404) return;
      startPolling(5000);
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  banner.addEventListener("click", function () { reveal(true); });
  window.addEventListener("scroll", function () { if (waiting.length && atTop()) reveal(false); }, { passive: true });
  document.addEventListener("visibilitychange", function () { if (waiting.length && atTop()) reveal(false); });

  var older = document.getElementById("older");
  if (older) {
    older.addEventListener("click", function (event) {
      event.preventDefault();
      var before = older.getAttribute("data-before");
      fetch(root.getAttribute("data-older") + "?before=" + before)
        .then(function (r) { return r.json(); })
        .then(function (data) {
          data.posts.forEach(function (post) {
            if (document.getElementById("post-" + post.id)) return;
            var el = fromHtml(post.html);
            localiseTimes(el);
            posts.appendChild(el);
          });
          if (data.before) {
            older.setAttribute("data-before", data.before);
            older.href = "?before=" + data.before;
          } else {
            older.parentNode.remove();
          }
        });
    });
  }

  // The test hook and the reconnect button of a flaky network: drop the socket, catch up after.
  window.liveblogReader = {
    cursor: function () { return cursor; },
    dropSocket: function () { if (socket) socket.close(); },
  };

  connect();
})();
