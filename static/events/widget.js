// Embed: <script src="https://SITE/static/events/widget.js" data-event="SLUG" async></script>
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var slug = script.getAttribute("data-event");
  if (!slug || !/^[-a-zA-Z0-9_]+$/.test(slug)) return;
  var origin = new URL(script.src).origin;
  var frame = document.createElement("iframe");
  frame.src = origin + "/events/" + encodeURIComponent(slug) + "/embed/";
  frame.title = script.getAttribute("data-title") || "Live updates";
  frame.loading = "lazy";
  frame.style.width = "100%";
  frame.style.height = (parseInt(script.getAttribute("data-height"), 10) || 600) + "px";
  frame.style.border = "1px solid #ccc";
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
