// The transcript as it comes back: finals in order, the interim result after them, and "Speaker 0: " (in the
// reader's language, or the name given) before a final whose speaker changed; clicking that label names the speaker.
// A quote is chosen here: words selected with the mouse, lines clicked (Shift extends), or lines chosen with
// the arrow keys while the transcript has focus. The server checks the choice again and takes the words from
// what it stored, never from this page.

const TOKEN = /\S+/g;
const { gettext, interpolate } = globalThis; // Django's JavaScript catalog, loaded before this module

// What a person reads for a speaker: the name given, else "Speaker 0" in their language; "" without a speaker.
function speakerName(message) {
  if (message.speaker === null || message.speaker === undefined) return "";
  return message.name || interpolate(gettext("Speaker %(number)s"), { number: message.speaker }, true);
}

function tokens(text) {
  return [...text.matchAll(TOKEN)].map((match) => ({ start: match.index, end: match.index + match[0].length, word: match[0] }));
}

export class Transcript {
  lastSpeaker = undefined;
  chosen = []; // whole lines chosen by click or keys, in order
  anchor = null; // where a Shift-extended choice starts
  cursor = null; // the line the arrow keys are on
  choice = null; // what would be quoted now, or null

  // nameSpeaker(speaker, name) asks the server to name a speaker; onChoice(choice) hears of each new choice.
  constructor(box, interim, nameSpeaker, onChoice = () => {}) {
    this.box = box;
    this.interim = interim;
    this.nameSpeaker = nameSpeaker;
    this.onChoice = onChoice;
    box.addEventListener("click", (event) => this.clicked(event));
    box.addEventListener("keydown", (event) => this.key(event));
    let pending = false;
    document.addEventListener("selectionchange", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        this.update();
      });
    });
  }

  show(message) {
    if (!message.is_final) {
      this.interim.textContent = message.text;
      return;
    }
    const line = document.createElement("span");
    line.className = "final";
    line.dataset.segment = message.segment;
    line.dataset.sequence = message.sequence;
    line.dataset.speaker = message.speaker === null || message.speaker === undefined ? "" : message.speaker;
    line.dataset.speakerName = speakerName(message);
    const words = document.createElement("span");
    words.className = "words";
    words.textContent = message.text;
    line.append(words, " ");
    if (line.dataset.speakerName && message.speaker !== this.lastSpeaker) line.prepend(this.speakerLabel(message));
    this.lastSpeaker = message.speaker;
    this.box.insertBefore(line, this.interim);
    this.interim.textContent = "";
  }

  speakerLabel(message) {
    const label = document.createElement("button");
    label.type = "button";
    label.className = "speaker";
    label.dataset.speaker = message.speaker;
    label.title = gettext("Name this speaker");
    label.textContent = `${speakerName(message)}: `;
    label.addEventListener("click", () => {
      const question = gettext("Who is %(speaker)s? (empty to forget the name)");
      const name = window.prompt(interpolate(question, { speaker: label.textContent.slice(0, -2) }, true), "");
      if (name !== null) this.nameSpeaker(message.speaker, name.slice(0, 80));
    });
    return label;
  }

  named(message) {
    const shown = speakerName(message);
    for (const label of this.box.querySelectorAll(`.speaker[data-speaker="${Number(message.speaker)}"]`)) {
      label.textContent = `${shown}: `;
    }
    for (const line of this.box.querySelectorAll(`.final[data-speaker="${Number(message.speaker)}"]`)) {
      line.dataset.speakerName = shown;
    }
    this.update();
  }

  // --- choosing a quote ---------------------------------------------------------------------------

  lines() {
    return [...this.box.querySelectorAll(".final")];
  }

  clicked(event) {
    if (event.target.closest(".speaker")) return;
    const line = event.target.closest(".final");
    const selection = window.getSelection();
    if (!line || (selection && !selection.isCollapsed)) return; // a drag selects words instead
    if (event.shiftKey && this.anchor && this.anchor.isConnected) {
      this.chooseRange(this.anchor, line);
    } else if (this.chosen.length === 1 && this.chosen[0] === line) {
      this.clear();
      return;
    } else {
      this.anchor = line;
      this.chooseRange(line, line);
    }
    this.setCursor(line);
  }

  key(event) {
    if (event.target !== this.box || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape") {
      this.clear();
      return;
    }
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    const all = this.lines();
    if (!all.length) return;
    event.preventDefault();
    const at = all.indexOf(this.cursor);
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = at < 0 ? all[all.length - 1] : all[Math.min(all.length - 1, Math.max(0, at + step))];
    if (!event.shiftKey || !this.anchor || !this.anchor.isConnected) this.anchor = next;
    this.setCursor(next);
    this.chooseRange(this.anchor, next);
  }

  setCursor(line) {
    if (this.cursor) delete this.cursor.dataset.cursor;
    this.cursor = line;
    line.dataset.cursor = "";
    line.scrollIntoView({ block: "nearest" });
  }

  chooseRange(from, to) {
    const all = this.lines();
    const [a, b] = [all.indexOf(from), all.indexOf(to)].sort((x, y) => x - y);
    this.mark(a < 0 ? [] : all.slice(a, b + 1));
    window.getSelection()?.removeAllRanges();
    this.update();
  }

  mark(lines) {
    for (const line of this.chosen) delete line.dataset.chosen;
    this.chosen = lines;
    for (const line of lines) line.dataset.chosen = "";
  }

  clear() {
    this.mark([]);
    this.anchor = null;
    const selection = window.getSelection();
    if (selection && !selection.isCollapsed && this.box.contains(selection.anchorNode)) selection.removeAllRanges();
    this.update();
  }

  // The words selected in the transcript, line by line: [{line, first, last}] with word indices, or null.
  selected() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    if (!this.box.contains(range.commonAncestorContainer)) return null;
    const parts = [];
    for (const line of this.lines()) {
      const text = line.querySelector(".words")?.firstChild;
      if (!text || !range.intersectsNode(text)) continue;
      const from = range.startContainer === text ? range.startOffset : 0;
      const to = range.endContainer === text ? range.endOffset : text.length;
      const words = tokens(text.data);
      const first = words.findIndex((word) => word.end > from);
      const last = words.findLastIndex((word) => word.start < to);
      if (first >= 0 && last >= first) parts.push({ line, first, last, words });
    }
    return parts.length ? parts : null;
  }

  update() {
    const selected = this.selected();
    if (selected && this.chosen.length) this.mark([]); // the mouse's words win over clicked lines
    const parts = selected || this.chosen.map((line) => {
      const words = tokens(line.querySelector(".words").textContent);
      return { line, first: 0, last: words.length - 1, words };
    });
    this.choice = parts.length ? describe(parts) : null;
    this.onChoice(this.choice);
  }
}

// What the server is asked for, and what the journalist is shown of it; `problem` when it cannot be a quote.
function describe(parts) {
  const lines = parts.map((part) => part.line);
  const speakers = new Set(lines.map((line) => line.dataset.speaker));
  const sequences = lines.map((line) => Number(line.dataset.sequence));
  let problem = null;
  if (speakers.size > 1) problem = "one_speaker";
  else if (sequences.some((sequence, i) => i > 0 && sequence !== sequences[i - 1] + 1)) problem = "consecutive";
  else if (speakers.has("")) problem = "no_speaker";
  const words = parts.flatMap((part, i) => {
    const last = i === parts.length - 1 ? part.last : part.words.length - 1;
    return part.words.slice(i === 0 ? part.first : 0, last + 1).map((word) => word.word);
  });
  return {
    segments: lines.map((line) => Number(line.dataset.segment)),
    firstWord: parts[0].first,
    lastWord: parts[parts.length - 1].last,
    lines: lines.length,
    speakerName: lines[0].dataset.speakerName,
    text: words.join(" "),
    problem,
  };
}
