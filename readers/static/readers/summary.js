// The story so far on a reader's page (templates/readers/_summary.html). Every cursor answer carries the version
// readers see, or null when an editor withdrew it; reader.js hands each answer on as a "liveblog:change" event.

import { localiseTimes } from "./times.js";

const box = document.getElementById("summary");

function show(summary) {
  if (!summary) {
    box.hidden = true;
    box.setAttribute("data-version", "");
    return;
  }
  if (box.getAttribute("data-version") === String(summary.version)) return;
  const list = document.getElementById("summary-points");
  list.replaceChildren(
    ...summary.points.map((point) => {
      const item = document.createElement("li");
      item.textContent = point; // plain text: never parsed as markup
      return item;
    }),
  );
  const at = document.getElementById("summary-at");
  at.setAttribute("datetime", summary.published_at);
  localiseTimes(at.parentElement); // as the page's other times: the reader's zone and the page's language
  box.setAttribute("data-version", String(summary.version));
  box.hidden = false;
  box.classList.add("arrived");
  const announcer = document.getElementById("announcer");
  if (announcer) announcer.textContent = box.getAttribute("data-updated");
}

if (box) {
  document.addEventListener("liveblog:change", (event) => {
    if (event.detail && "summary" in event.detail) show(event.detail.summary);
  });
}
