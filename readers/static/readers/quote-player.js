// Readers hear the quote: each quote's link to its clip becomes a play button that plays the clip in place,
// in the posts on the page and in those live updates bring. Without this script the link opens the clip.

let player = null; // one <audio> for the page: a quote played stops the last one
let playing = null; // the button whose clip is playing

function upgrade(root) {
  for (const link of root.querySelectorAll("a.hear-quote")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hear-quote";
    button.title = link.title;
    button.setAttribute("aria-label", link.getAttribute("aria-label"));
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("data-src", link.href);
    while (link.firstChild) button.appendChild(link.firstChild);
    link.replaceWith(button);
  }
}

function stopped() {
  if (player && !player.paused) return; // another clip started meanwhile
  if (playing) playing.setAttribute("aria-pressed", "false");
  playing = null;
}

function audio() {
  if (!player) {
    player = document.createElement("audio");
    player.className = "quote-player";
    player.preload = "none";
    player.hidden = true;
    player.addEventListener("pause", stopped);
    player.addEventListener("ended", stopped);
    player.addEventListener("error", () => { player.pause(); stopped(); });
    document.body.appendChild(player);
  }
  return player;
}

function toggle(button) {
  const el = audio();
  if (playing === button) {
    el.pause();
    return;
  }
  if (playing) playing.setAttribute("aria-pressed", "false");
  playing = button;
  button.setAttribute("aria-pressed", "true");
  el.src = button.getAttribute("data-src");
  const started = el.play();
  if (started && started.catch) started.catch(() => { if (playing === button) { el.pause(); stopped(); } });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button.hear-quote");
  if (button) toggle(button);
});

upgrade(document);
// Live updates and "load older" insert posts with links: they become buttons as they arrive.
new MutationObserver(() => upgrade(document)).observe(document.body, { childList: true, subtree: true });
