// Embed: <script src="https://SITE/static/readers/widget.js" data-event="SLUG" async></script>
// A classic script, not a module: other sites paste that tag as it is, and the script finds its own tag
// (its data-event and its origin) through document.currentScript, which modules do not have. Wrapped in a
// function so that two widgets on one page do not declare the same names twice.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const slug = script.getAttribute("data-event");
  if (!slug || !/^[-a-zA-Z0-9_]+$/.test(slug)) return;
  const origin = new URL(script.src).origin;
  const frame = document.createElement("iframe");
  frame.src = `${origin}/events/${encodeURIComponent(slug)}/embed/`;
  frame.title = script.getAttribute("data-title") || "Live updates";
  frame.loading = "lazy";
  frame.style.width = "100%";
  frame.style.height = `${parseInt(script.getAttribute("data-height"), 10) || 600}px`;
  frame.style.border = "1px solid #ccc";
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
