// How the reader reads an event's page: all posts or key events only, newest or oldest first. The server renders
// each (?view=key, ?order=oldest); this remembers the reader's choice in the browser and, on a page opened without
// one, applies it.

import { wantedEdition } from "./editions.js";

const STORE = "liveblog:reading";
const VIEWS = ["all", "key"]; // the first of each is the page's default
const ORDERS = ["newest", "oldest"];
const PAGE_PARAMETERS = ["view", "order", "before", "after", "lang"];

function remembered() {
  try {
    const choice = JSON.parse(window.localStorage.getItem(STORE) || "null");
    if (choice && VIEWS.includes(choice.view) && ORDERS.includes(choice.order)) return choice;
  } catch {
    // storage refused (private mode) or spoilt: the page's default
  }
  return null;
}

function remember(view, order) {
  try {
    window.localStorage.setItem(STORE, JSON.stringify({ view, order }));
  } catch {
    // storage refused: the choice lasts as long as the address
  }
}

/** The query string of a reading; empty for the default. */
export function readingQuery(view, order, extra = {}) {
  const query = new URLSearchParams();
  if (view !== VIEWS[0]) query.set("view", view);
  if (order !== ORDERS[0]) query.set("order", order);
  for (const [name, value] of Object.entries(extra)) query.set(name, value);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The page's reading; remembers the toolbar's choices. True when the page goes to the remembered reading. */
export function followReading(root) {
  const current = { view: root.getAttribute("data-view") || VIEWS[0], order: root.getAttribute("data-order") || ORDERS[0] };
  const toolbar = document.getElementById("reading");
  if (!toolbar) return false; // the embed follows its own address only
  toolbar.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-view][data-order]");
    if (link) remember(link.getAttribute("data-view"), link.getAttribute("data-order"));
  });
  const params = new URLSearchParams(window.location.search);
  if (PAGE_PARAMETERS.some((name) => params.has(name))) return false; // an address that says how to read it
  if (window.location.hash.startsWith("#post-")) return false; // a link to one post, in the page it was made on
  const choice = remembered() || current;
  const lang = wantedEdition(root); // the remembered reader edition, when the event has it (editions.js)
  if (!lang && choice.view === current.view && choice.order === current.order) return false;
  window.location.replace(window.location.pathname + readingQuery(choice.view, choice.order, lang ? { lang } : {}));
  return true;
}
