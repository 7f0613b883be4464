// Picture for the next draft: sent without leaving the page, so the stream goes on.
const { gettext, interpolate } = globalThis; // Django's JavaScript catalog, loaded before this module

export function sendPictures(form) {
  const status = document.getElementById("picture-status");
  const send = document.getElementById("picture-send");
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
    send.disabled = true;
    status.textContent = gettext("Sending the picture…");
    try {
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        form.reset();
        status.textContent = answer.message;
      } else {
        const refused = gettext("The picture was not sent (HTTP %(status)s).");
        status.textContent = answer.error || interpolate(refused, { status: response.status }, true);
      }
    } catch {
      status.textContent = gettext("The picture was not sent: no connection. Try again.");
    } finally {
      send.disabled = false;
    }
  });
}
