// What the stream has made: every draft of the event, with links this user may open, and after Stop
// the recap of the stream while its last drafts are still being made.
import { count, fill, seconds } from "./words.js";

const { gettext } = globalThis; // Django's JavaScript catalog, loaded before this module
const STATE_TEXT = {
  waiting: gettext("waiting for an editor"), held: gettext("held"), approved: gettext("approved"),
  published: gettext("published"), rejected: gettext("rejected"),
};
const FOLLOW_EVERY_MS = 3000;
const FOLLOW_AT_MOST_MS = 180000;

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  return `${h ? `${h}:` : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

// A POST of the studio's forms without leaving the page: {ok, status, answer} (answer: the server's JSON).
export async function send(url, data) {
  const response = await fetch(url, {
    method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" },
  });
  const answer = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, answer };
}

export class Drafts {
  shown = new Map();

  // words: the page's translated words (studio-words), for the kind of each post and whose it is.
  constructor(list, empty, url, words = {}) {
    this.list = list;
    this.empty = empty;
    this.url = url;
    this.words = words;
  }

  // Any draft still waiting for an editor: its state is worth looking up again.
  waiting() {
    return [...this.shown.values()].some((item) => ["waiting", "held", "approved"].includes(item.dataset.state));
  }

  kind(post) {
    const name = post.kind === "quote" ? this.words.quote : post.kind === "written" && post.author ? this.words.post : "";
    if (!name) return null;
    const kind = document.createElement("span");
    kind.className = `draft-kind draft-kind-${post.kind}`;
    kind.textContent = post.author ? `${name} · ${fill(this.words.by || "%(author)s", { author: post.author })}` : name;
    return kind;
  }

  show(post) {
    let item = this.shown.get(post.id);
    if (!item) {
      item = document.createElement("li");
      item.dataset.post = post.id;
      this.shown.set(post.id, item);
      const newer = [...this.shown.keys()].filter((id) => id > post.id).sort((a, b) => a - b)[0];
      if (newer === undefined) this.list.prepend(item);
      else this.shown.get(newer).after(item);
    }
    const headline = document.createElement("strong");
    headline.textContent = post.headline || fill(gettext("Draft %(number)s"), { number: post.id });
    const status = document.createElement("span");
    status.className = `draft-state draft-state-${post.state}`;
    status.textContent = post.state === "held" && post.hold_reason
      ? fill(gettext("held: %(reason)s"), { reason: post.hold_reason })
      : STATE_TEXT[post.state] || post.state;
    const body = document.createElement("p");
    body.className = "draft-body";
    body.textContent = post.body;
    const links = document.createElement("p");
    links.className = "draft-links";
    const open = document.createElement("a");
    open.href = post.url;
    open.className = "draft-link";
    open.textContent = post.state === "published" ? gettext("Published post") : gettext("Read draft");
    links.append(open);
    if (post.admin_url) {
      const admin = document.createElement("a");
      admin.href = post.admin_url;
      admin.className = "admin-link";
      admin.textContent = gettext("Edit in admin");
      links.append(" · ", admin);
    }
    item.dataset.state = post.state;
    item.dataset.kind = post.kind || "";
    const kind = this.kind(post);
    item.replaceChildren(headline, " ", status, ...(kind ? [" ", kind] : []), body, links);
    this.empty.hidden = this.shown.size > 0;
  }

  async refresh() {
    try {
      const { drafts } = await getJson(this.url);
      drafts.forEach((post) => this.show(post));
    } catch {
      // the next refresh tries again
    }
  }
}

export class Recap {
  // url: the recap of session 0, the others' made from it.
  constructor(section, url) {
    this.section = section;
    this.url = url;
  }

  show(recap) {
    const set = (id, text) => { document.getElementById(id).textContent = text; };
    const link = (id, href) => { document.getElementById(id).href = href; };
    set("recap-duration", clock(recap.duration_seconds));
    set("recap-words", count(recap.words));
    set("recap-segments", count(recap.segments));
    set("recap-drafts", count(recap.drafts));
    set("recap-published", count(recap.published));
    set("recap-dropped", seconds(recap.dropped_seconds));
    link("recap-txt", recap.exports.txt);
    link("recap-srt", recap.exports.srt);
    link("recap-vtt", recap.exports.vtt);
    link("recap-public", recap.public_url);
    document.getElementById("recap-drafting").hidden = !recap.drafting;
    this.section.dataset.session = recap.session;
    this.section.hidden = false;
  }

  // After Stop: the recap, and the drafts still to come from the last words, until idle() is false.
  async follow(session, drafts, idle) {
    const url = this.url.replace(/\/0\/recap\.json$/, `/${session}/recap.json`);
    const until = Date.now() + FOLLOW_AT_MOST_MS;
    let settled = 0;
    while (idle() && Date.now() < until && settled < 2) {
      try {
        const recap = await getJson(url);
        this.show(recap);
        settled = recap.drafting ? 0 : settled + 1; // one more look once drafting is done: its post may be published
      } catch {
        // the next look tries again
      }
      await drafts.refresh();
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    }
  }
}
