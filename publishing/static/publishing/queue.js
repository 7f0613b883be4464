// The draft queue, live (publishing/templates/admin/publishing/queue.html). The socket says when the
// queue changed (a version and counts); the page then fetches itself and swaps in the new parts, leaving
// alone any post whose form its editor is using, and keeping what was on screen where it was. The tab's
// title counts the drafts waiting. While the editor has a post's edit form open, the socket is told so,
// and other editors' queues show it.

const root = document.getElementById("queue");
const baseTitle = document.title.replace(/^\(\d+\) /, "");
const eventId = root && root.getAttribute("data-event");
let version = root && root.getAttribute("data-version");
let socket = null;
let retry = 1000;
const SERVICE_RESTART = 1012; // the server is restarting (a deploy): reconnect at once
let editing = null; // the post whose edit form this editor has open, as last told to the server
let fetching = false;
let wanted = null; // a version announced while a fetch was under way

function setTitle(waiting) {
  document.title = (waiting ? `(${waiting}) ` : "") + baseTitle;
}

// --- which posts the editor is using -------------------------------------------------------------

function changed(field) {
  if (field.type === "hidden" || field.type === "submit" || field.type === "file") return false;
  if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
  if (field.tagName === "SELECT") return [...field.options].some((option) => option.selected !== option.defaultSelected);
  return field.value !== field.defaultValue;
}

function inUse(container) {
  if (container.querySelector(".edit-conflict")) return true; // a refused text waits for its editor
  const active = document.activeElement;
  if (active && container.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
  return [...container.querySelectorAll("input, textarea, select")].some(changed);
}

function postBeingEdited() {
  for (const form of root.querySelectorAll(".queue-item form.queue-edit")) {
    if (inUse(form)) return parseInt(form.closest(".queue-item").getAttribute("data-post"), 10);
  }
  return null;
}

function tellEditing() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "editing", post: editing }));
  }
}

function editingMayHaveChanged() {
  const now = postBeingEdited();
  if (now !== editing) {
    editing = now;
    tellEditing();
  }
}

// --- swapping in the new queue -------------------------------------------------------------------

function firstVisibleItem() {
  for (const item of root.querySelectorAll(".queue-item")) {
    const box = item.getBoundingClientRect();
    if (box.bottom > 0) return { id: item.id, top: box.top };
  }
  return null;
}

function replaceParts(kept, fresh) {
  for (const part of fresh.querySelectorAll("[data-part]")) {
    const old = kept.querySelector(`[data-part="${part.getAttribute("data-part")}"]`);
    if (old) old.replaceWith(document.importNode(part, true));
  }
}

function swapItems(list, freshList) {
  const old = {};
  for (const item of list.querySelectorAll(".queue-item")) old[item.id] = item;
  const next = [];
  for (const item of freshList.children) {
    const mine = item.id && old[item.id];
    if (mine && inUse(mine)) {
      replaceParts(mine, item); // who is editing, status: the form stays as its editor left it
      next.push(mine);
    } else {
      next.push(document.importNode(item, true));
    }
    if (mine) delete old[item.id];
  }
  // A post that left the queue while its editor was using its form stays until they are done.
  for (const item of Object.values(old)) {
    if (inUse(item)) next.push(item);
  }
  // In place: a kept item taken out of the page and put back would lose its editor's focus.
  for (const child of [...list.children]) {
    if (!next.includes(child)) child.remove();
  }
  let at = list.firstElementChild;
  for (const item of next) {
    if (item === at) {
      at = at.nextElementSibling;
    } else {
      list.insertBefore(item, at);
    }
  }
}

function swap(html) {
  const page = new DOMParser().parseFromString(html, "text/html");
  const fresh = page.getElementById("queue");
  if (!fresh) return;
  const anchor = firstVisibleItem();
  const focus = focusNow();
  for (const id of ["queue-status", "queue-failed", "queue-summary", "queue-translations"]) {
    const here = document.getElementById(id);
    const there = page.getElementById(id);
    if (here && there && !inUse(here)) here.replaceWith(document.importNode(there, true));
  }
  swapItems(document.getElementById("queue-items"), page.getElementById("queue-items"));
  version = fresh.getAttribute("data-version");
  root.setAttribute("data-version", version);
  const title = page.querySelector("title");
  if (title) document.title = title.textContent;
  if (anchor) {
    const same = document.getElementById(anchor.id);
    if (same) window.scrollBy(0, same.getBoundingClientRect().top - anchor.top);
  }
  focusAgain(focus);
}

function refresh() {
  if (fetching) return;
  fetching = true;
  wanted = null;
  fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then((response) => (response.ok ? response.text() : null))
    .then((html) => {
      if (html) swap(html);
    })
    .catch(() => {})
    .then(() => {
      fetching = false;
      if (wanted !== null && wanted !== version) refresh();
    });
}

// --- the editor's keys: j/k move between drafts, p publish, a approve, e edit, r reject, ? lists them ----------

const AFTER_RELOAD = `liveblog.queue.${eventId}.keys`; // the draft the keys were on when a decision reloaded the page
const OPS = { p: "publish", a: "approve", r: "reject" };
let current = null; // the id of the draft the keys act on

function items() {
  return [...root.querySelectorAll("#queue-items .queue-item")];
}

function currentItem() {
  return current ? document.getElementById(current) : null;
}

function neighbour(item) {
  const all = items();
  const at = all.indexOf(item);
  const next = at < 0 ? null : all[at + 1] || all[at - 1];
  return next ? next.id : null;
}

function choose(item, { focus = true } = {}) {
  for (const other of root.querySelectorAll(".queue-item[aria-current]")) other.removeAttribute("aria-current");
  current = item ? item.id : null;
  if (!item) return;
  item.setAttribute("aria-current", "true");
  if (focus) {
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }
}

function move(step) {
  const all = items();
  if (!all.length) return;
  const at = all.indexOf(currentItem());
  const index = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
  choose(all[index]);
}

function decide(op) {
  const item = currentItem();
  const button = item && item.querySelector(`button[name="op"][value="${op}"]`);
  if (!button) return;
  // The decision reloads the page: the keys go on from this draft, or the next one if it left the queue.
  sessionStorage.setItem(AFTER_RELOAD, JSON.stringify({ current: item.id, then: neighbour(item) }));
  button.click();
}

function edit() {
  const body = currentItem() && currentItem().querySelector("form.queue-edit textarea[name=body]");
  if (!body) return;
  body.focus();
  body.setSelectionRange(body.value.length, body.value.length);
}

function typing(target) {
  return Boolean(target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
}

function onKey(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing || typing(event.target)) return;
  const dialog = document.getElementById("queue-keys");
  if (dialog && dialog.open) return; // Escape and its button close it
  const key = event.key;
  if (key === "?") {
    if (dialog) dialog.showModal();
  } else if (key === "j" || key === "k") {
    move(key === "j" ? 1 : -1);
  } else if (OPS[key]) {
    decide(OPS[key]);
  } else if (key === "e") {
    edit();
  } else {
    return;
  }
  event.preventDefault();
}

// What had focus in the drafts before new ones are swapped in, to be given it again after.
function focusNow() {
  const active = document.activeElement;
  const item = active && active.closest ? active.closest(".queue-item") : null;
  return {
    item: item ? item.id : null,
    button: active && active.tagName === "BUTTON" && active.name === "op" ? active.value : null,
    then: neighbour(currentItem()),
  };
}

function focusAgain(was) {
  if (current && !currentItem()) current = was.then; // the draft left the queue: its neighbour takes the keys
  choose(currentItem(), { focus: false });
  if (!was.item || document.activeElement !== document.body) return; // focus stayed where it was
  const item = document.getElementById(was.item);
  if (!item) return;
  const button = was.button && item.querySelector(`button[name="op"][value="${was.button}"]`);
  (button || item).focus({ preventScroll: true });
}

function keys() {
  document.addEventListener("keydown", onKey);
  const dialog = document.getElementById("queue-keys");
  const open = document.getElementById("queue-keys-open");
  if (dialog && open) open.addEventListener("click", () => dialog.showModal());
  // Clicking a draft makes it the keys' draft too.
  root.addEventListener("focusin", (event) => {
    const item = event.target.closest && event.target.closest("#queue-items .queue-item");
    if (item && item.id !== current) choose(item, { focus: false });
  });
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(AFTER_RELOAD) || "null");
  } catch {
    saved = null;
  }
  sessionStorage.removeItem(AFTER_RELOAD);
  if (saved) {
    const item = document.getElementById(saved.current) || document.getElementById(saved.then);
    if (item) choose(item);
  }
}

// --- the socket ----------------------------------------------------------------------------------

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(`${scheme}${window.location.host}/ws/queue/${eventId}/`);
  socket.onopen = () => {
    retry = 1000;
    root.setAttribute("data-connected", "");
    if (editing !== null) tellEditing();
  };
  socket.onmessage = (message) => {
    const state = JSON.parse(message.data);
    if (state.type !== "queue") return;
    setTitle(state.drafts);
    if (state.version !== version) {
      wanted = state.version;
      refresh();
    }
  };
  socket.onclose = (event) => {
    root.removeAttribute("data-connected");
    if (event.code === SERVICE_RESTART) {
      connect(); // a deploy: this process is going, another takes the page at once
      return;
    }
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  };
}

if (root) keys();

if (root && window.WebSocket && window.fetch && window.DOMParser) {
  const renewMs = (parseInt(root.getAttribute("data-renew"), 10) || 10) * 1000;
  document.addEventListener("focusin", editingMayHaveChanged);
  document.addEventListener("input", editingMayHaveChanged);
  document.addEventListener("focusout", () => {
    setTimeout(editingMayHaveChanged, 0); // once focus has landed wherever it goes
  });
  setInterval(() => {
    if (editing !== null) tellEditing(); // renewed: a page that stops saying so is forgotten
  }, renewMs);
  connect();
}
