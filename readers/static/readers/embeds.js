// Embeds: each card is a link to the video or post on its provider. With this script its button loads the
// provider's player in a sandboxed frame, at the address our server built; nothing is asked of the provider
// before that click. The page's CSP frames only the providers its embeds had when it was served: a live update
// from another provider is blocked, and its card says to reload.

const SANDBOX = "allow-scripts allow-same-origin allow-presentation allow-popups";

document.documentElement.classList.add("embeds-on"); // shows the cards' buttons (reader.css)

function size(figure, frame) {
  const width = parseInt(figure.getAttribute("data-width"), 10);
  const height = parseInt(figure.getAttribute("data-height"), 10);
  if (width > 0 && height > 0) frame.style.aspectRatio = `${width} / ${height}`;
  else if (height > 0) frame.style.height = `${Math.min(height, 2000)}px`;
}

function load(figure) {
  const src = figure.getAttribute("data-src");
  if (!src || figure.querySelector("iframe")) return;
  const frame = document.createElement("iframe");
  frame.className = "embed-frame";
  frame.setAttribute("sandbox", SANDBOX);
  frame.setAttribute("allow", "fullscreen; encrypted-media; picture-in-picture");
  frame.setAttribute("allowfullscreen", "");
  frame.referrerPolicy = "strict-origin-when-cross-origin"; // players check the embedding site
  frame.title = figure.getAttribute("data-title") || "";
  size(figure, frame);
  frame.src = src;
  const card = figure.querySelector(".embed-card");
  const actions = figure.querySelector(".embed-actions");
  card.hidden = true;
  if (actions) actions.hidden = true;
  figure.insertBefore(frame, card);
  figure.classList.add("embed-loaded");
  frame.focus();
}

// The frame the CSP refused: back to the card, which says why.
function refused(blocked) {
  let origin;
  try { origin = new URL(blocked).origin; } catch { return; }
  for (const frame of document.querySelectorAll("iframe.embed-frame")) {
    if (new URL(frame.src).origin !== origin) continue;
    const figure = frame.closest("figure.embed");
    frame.remove();
    figure.classList.remove("embed-loaded");
    figure.querySelector(".embed-card").hidden = false;
    const note = figure.querySelector(".embed-blocked");
    if (note) note.hidden = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button.embed-load");
  if (button) load(button.closest("figure.embed"));
});

document.addEventListener("securitypolicyviolation", (event) => {
  if (event.effectiveDirective === "frame-src" || event.violatedDirective === "frame-src") refused(event.blockedURI);
});
