// Times on the readers' pages, in the reader's zone and the page's language. The server writes each in the
// event's zone with the zone named (<time datetime data-tz data-format>); this rewrites them for the reader:
// "relative" ones ("3 minutes ago", kept fresh) for recent posts, the others as a clock time or a date.

// The page's language, as the reader's browser writes it when it has that language (en-GB for an "en" page).
function pageLocale() {
  const page = document.documentElement.lang;
  if (!page) return undefined;
  const base = page.toLowerCase().split("-")[0];
  const own = (navigator.languages || []).find((tag) => tag.toLowerCase().split("-")[0] === base);
  return own || page;
}

const lang = pageLocale();
const RELATIVE_HOURS = 12; // a post older than this shows its time, not "13 hours ago"
const REFRESH_MS = 30_000;
const formats = {
  time: { hour: "2-digit", minute: "2-digit" },
  datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" },
  date: { day: "numeric", month: "short", year: "numeric" },
  full: { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
};
const formatters = new Map();

function make(name, locale) {
  if (name === "relative") return new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  return new Intl.DateTimeFormat(locale, formats[name]);
}

function formatter(name) {
  if (!formatters.has(name)) {
    let made;
    try {
      made = make(name, lang);
    } catch {
      made = make(name, undefined); // a language tag this browser does not know
    }
    formatters.set(name, made);
  }
  return formatters.get(name);
}

function sameDay(a, b) {
  return a.toDateString() === b.toDateString();
}

function relative(when, now) {
  const ago = Math.max(0, Math.round((now - when) / 1000));
  const words = formatter("relative");
  if (ago < 60) return words.format(0, "second");
  if (ago < 3600) return words.format(-Math.floor(ago / 60), "minute");
  return words.format(-Math.floor(ago / 3600), "hour");
}

function show(el, now) {
  const when = new Date(el.getAttribute("datetime"));
  if (isNaN(when)) return;
  let format = el.getAttribute("data-format") || (el.textContent.length > 12 ? "datetime" : "time");
  el.title = formatter("full").format(when);
  if (format === "relative") {
    if (now - when < RELATIVE_HOURS * 3_600_000) {
      el.textContent = relative(when, now);
      return;
    }
    format = "time";
  }
  if (format === "time" && !sameDay(when, now)) format = "datetime";
  el.textContent = formatter(format in formats ? format : "datetime").format(when);
}

/** Every time within `within` in the reader's zone. */
export function localiseTimes(within) {
  const now = new Date();
  for (const el of within.querySelectorAll("time[datetime][data-tz]")) show(el, now);
}

/** Says which zone the times are in: the reader's, named (the server's text names the event's). */
export function nameZone() {
  const note = document.getElementById("time-zone");
  const text = note && note.getAttribute("data-local");
  if (!text) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  note.textContent = text.replace("{zone}", zone);
}

/** "3 minutes ago" stays true while the page is open. */
export function keepRelativeTimesFresh() {
  const refresh = () => {
    const now = new Date();
    for (const el of document.querySelectorAll('time[datetime][data-tz][data-format="relative"]')) show(el, now);
  };
  window.setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
}
