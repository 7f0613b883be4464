// The transcript as it comes back: finals in order, the interim result after them, and "Speaker 0: "
// before a final whose speaker changed; clicking that label names the speaker for the session.

export class Transcript {
  lastSpeaker = undefined;

  // nameSpeaker(speaker, name) asks the server to name a speaker.
  constructor(box, interim, nameSpeaker) {
    this.box = box;
    this.interim = interim;
    this.nameSpeaker = nameSpeaker;
  }

  show(message) {
    if (!message.is_final) {
      this.interim.textContent = message.text;
      return;
    }
    const line = document.createElement("span");
    line.className = "final";
    line.dataset.segment = message.segment;
    line.textContent = `${message.text} `;
    if (message.speaker_name && message.speaker !== this.lastSpeaker) line.prepend(this.speakerLabel(message));
    this.lastSpeaker = message.speaker;
    this.box.insertBefore(line, this.interim);
    this.interim.textContent = "";
  }

  speakerLabel(message) {
    const label = document.createElement("button");
    label.type = "button";
    label.className = "speaker";
    label.dataset.speaker = message.speaker;
    label.title = "Name this speaker";
    label.textContent = `${message.speaker_name}: `;
    label.addEventListener("click", () => {
      const name = window.prompt(`Who is ${label.textContent.slice(0, -2)}? (empty to forget the name)`, "");
      if (name !== null) this.nameSpeaker(message.speaker, name.slice(0, 80));
    });
    return label;
  }

  named(message) {
    for (const label of this.box.querySelectorAll(`.speaker[data-speaker="${Number(message.speaker)}"]`)) {
      label.textContent = `${message.speaker_name}: `;
    }
  }
}
