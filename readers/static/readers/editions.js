// Reader editions: the language a reader chose among an event's (the links of #editions, ?lang=) is remembered in
// the browser; a page opened without one goes to the remembered edition when the event has it (reading.js asks).

const STORE = "liveblog:edition";
const CODE = /^[a-z]{2,3}$/;

function remembered() {
  try {
    const lang = window.localStorage.getItem(STORE) || "";
    return CODE.test(lang) ? lang : "";
  } catch {
    return ""; // storage refused (private mode): the page's own edition
  }
}

function remember(lang) {
  try {
    window.localStorage.setItem(STORE, lang);
  } catch {
    // storage refused: the choice lasts as long as the address
  }
}

const switcher = document.getElementById("editions");
if (switcher) {
  switcher.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-lang]");
    if (link && CODE.test(link.getAttribute("data-lang"))) remember(link.getAttribute("data-lang"));
  });
}

/** The edition to open instead of this page's: the remembered one, when the event has it and the page is another. */
export function wantedEdition(root) {
  if (!switcher) return "";
  const lang = remembered();
  const offered = (switcher.getAttribute("data-editions") || "").split(" ");
  const original = switcher.getAttribute("data-original") || "";
  const current = root.getAttribute("data-lang") || original;
  if (!lang || lang === current || !offered.includes(lang)) return "";
  return lang === original ? "" : lang;
}
