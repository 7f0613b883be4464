// Picture for the next draft: sent without leaving the page, so the stream goes on.
import { send } from "./drafts.js";
import { fill } from "./words.js";

const { gettext } = globalThis; // Django's JavaScript catalog, loaded before this module

export function sendPictures(form) {
  const status = document.getElementById("picture-status");
  const button = document.getElementById("picture-send");
  const inputs = [...form.querySelectorAll('input[type="file"]')];
  // Chosen or taken: the one picked last is sent.
  for (const input of inputs) {
    input.addEventListener("change", () => inputs.forEach((other) => { if (other !== input) other.value = ""; }));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!inputs.some((input) => input.files.length)) {
      status.textContent = gettext("Choose or take a picture first.");
      return;
    }
    button.disabled = true;
    status.textContent = gettext("Sending the picture…");
    try {
      const { ok, status: code, answer } = await send(form.action, new FormData(form));
      if (ok) {
        form.reset();
        status.textContent = answer.message;
      } else {
        const refused = gettext("The picture was not sent (HTTP %(status)s).");
        status.textContent = answer.error || fill(refused, { status: code });
      }
    } catch {
      status.textContent = gettext("The picture was not sent: no connection. Try again.");
    } finally {
      button.disabled = false;
    }
  });
}
