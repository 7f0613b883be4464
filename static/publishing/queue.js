// The draft queue, live (publishing/templates/admin/publishing/queue.html). The socket says when the
// queue changed (a version and counts); the page then fetches itself and swaps in the new parts, leaving
// alone any post whose form its editor is using, and keeping what was on screen where it was. The tab's
// title counts the drafts waiting. While the editor has a post's edit form open, the socket is told so,
// and other editors' queues show it.
(function () {
  "use strict";

  var root = document.getElementById("queue");
  if (!root || !window.WebSocket || !window.fetch || !window.DOMParser) return;

  var eventId = root.getAttribute("data-event");
  var version = root.getAttribute("data-version");
  var renewMs = (parseInt(root.getAttribute("data-renew"), 10) || 10) * 1000;
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var socket = null;
  var retry = 1000;
  var editing = null; // the post whose edit form this editor has open, as last told to the server
  var fetching = false;
  var wanted = null; // a version announced while a fetch was under way

  function setTitle(waiting) {
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
  }

  // --- which posts the editor is using -------------------------------------------------------------

  function changed(field) {
    if (field.type === "hidden" || field.type === "submit" || field.type === "file") return false;
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].selected !== field.options[i].defaultSelected) return true;
      }
      return false;
    }
    return field.value !== field.defaultValue;
  }

  function inUse(container) {
    if (container.querySelector(".edit-conflict")) return true; // a refused text waits for its editor
    var active = document.activeElement;
    if (active && container.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    var fields = container.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      if (changed(fields[i])) return true;
    }
    return false;
  }

  function postBeingEdited() {
    var forms = root.querySelectorAll(".queue-item form.queue-edit");
    for (var i = 0; i < forms.length; i++) {
      if (inUse(forms[i])) return parseInt(forms[i].closest(".queue-item").getAttribute("data-post"), 10);
    }
    return null;
  }

  function tellEditing() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "editing", post: editing }));
    }
  }

  function editingMayHaveChanged() {
    var now = postBeingEdited();
    if (now !== editing) {
      editing = now;
      tellEditing();
    }
  }

  document.addEventListener("focusin", editingMayHaveChanged);
  document.addEventListener("input", editingMayHaveChanged);
  document.addEventListener("focusout", function () {
    setTimeout(editingMayHaveChanged, 0); // once focus has landed wherever it goes
  });
  setInterval(function () {
    if (editing !== null) tellEditing(); // renewed: a page that stops saying so is forgotten
  }, renewMs);

  // --- swapping in the new queue -------------------------------------------------------------------

  function firstVisibleItem() {
    var items = root.querySelectorAll(".queue-item");
    for (var i = 0; i < items.length; i++) {
      var box = items[i].getBoundingClientRect();
      if (box.bottom > 0) return { id: items[i].id, top: box.top };
    }
    return null;
  }

  function replaceParts(kept, fresh) {
    var parts = fresh.querySelectorAll("[data-part]");
    for (var i = 0; i < parts.length; i++) {
      var old = kept.querySelector('[data-part="' + parts[i].getAttribute("data-part") + '"]');
      if (old) old.replaceWith(document.importNode(parts[i], true));
    }
  }

  function swapItems(list, freshList) {
    var old = {};
    var items = list.querySelectorAll(".queue-item");
    for (var i = 0; i < items.length; i++) old[items[i].id] = items[i];
    var next = [];
    var fresh = freshList.children;
    for (var j = 0; j < fresh.length; j++) {
      var item = fresh[j];
      var mine = item.id && old[item.id];
      if (mine && inUse(mine)) {
        replaceParts(mine, item); // who is editing, status: the form stays as its editor left it
        next.push(mine);
      } else {
        next.push(document.importNode(item, true));
      }
      if (mine) delete old[item.id];
    }
    // A post that left the queue while its editor was using its form stays until they are done.
    for (var id in old) {
      if (inUse(old[id])) next.push(old[id]);
    }
    // In place: a kept item taken out of the page and put back would lose its editor's focus.
    var children = Array.prototype.slice.call(list.children);
    for (var k = 0; k < children.length; k++) {
      if (next.indexOf(children[k]) < 0) children[k].remove();
    }
    var at = list.firstElementChild;
    for (var n = 0; n < next.length; n++) {
      if (next[n] === at) {
        at = at.nextElementSibling;
      } else {
        list.insertBefore(next[n], at);
      }
    }
  }

  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var fresh = page.getElementById("queue");
    if (!fresh) return;
    var anchor = firstVisibleItem();
    ["queue-status", "queue-failed"].forEach(function (id) {
      var here = document.getElementById(id);
      var there = page.getElementById(id);
      if (here && there && !inUse(here)) here.replaceWith(document.importNode(there, true));
    });
    swapItems(document.getElementById("queue-items"), page.getElementById("queue-items"));
    version = fresh.getAttribute("data-version");
    root.setAttribute("data-version", version);
    var title = page.querySelector("title");
    if (title) document.title = title.textContent;
    if (anchor) {
      var same = document.getElementById(anchor.id);
      if (same) window.scrollBy(0, same.getBoundingClientRect().top - anchor.top);
    }
  }

  function refresh() {
    if (fetching) return;
    fetching = true;
    wanted = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) swap(html);
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (wanted !== null && wanted !== version) refresh();
      });
  }

  // --- the socket ----------------------------------------------------------------------------------

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/queue/" + eventId + "/");
    socket.onopen = function () {
      retry = 1000;
      root.setAttribute("data-connected", "");
      if (editing !== null) tellEditing();
    };
    socket.onmessage = function (message) {
      var state = JSON.parse(message.data);
      if (state.type !== "queue") return;
      setTitle(state.drafts);
      if (state.version !== version) {
        wanted = state.version;
        refresh();
      }
    };
    socket.onclose = function () {
      root.removeAttribute("data-connected");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  connect();
})();
