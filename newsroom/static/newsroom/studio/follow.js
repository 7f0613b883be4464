// Follow stream: a worker pulls a talk's livestream into this journalist's transcript and drafts. Asked and
// stopped by POST; watched on the follow socket (docs/studio-protocol.md, *Following a stream*), whose
// messages are the studio socket's. Everything from the server is shown with textContent only.

import { send } from "./drafts.js";
import { fill } from "./words.js";

const PAGE_STATE = { starting: "connecting", live: "live", retrying: "reconnecting", stopped: "stopped", failed: "stopped" };
const ACTIVE = new Set(["starting", "live", "retrying"]);
const GO_LIVE_ASKED = 409;

export class Follow {
  socket = null;
  attempts = 0;
  followId = 0;
  status = "idle";
  lastSequence = -1;

  // transcript: the page's Transcript; drafts: its Drafts; setState(state): the page's connection state.
  constructor(section, { transcript, drafts, setState }) {
    Object.assign(this, { section, transcript, drafts, setState });
    const $ = (id) => document.getElementById(id);
    this.form = $("follow-form");
    this.url = $("follow-url");
    this.start = $("follow-start");
    this.stop = $("follow-stop");
    this.state = $("follow-state");
    this.words = section.dataset;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.request(false);
    });
    this.stop.addEventListener("click", () => this.requestStop());
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${this.section.dataset.socketPath}`);
    this.socket = socket;
    socket.onopen = () => { this.attempts = 0; };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (socket !== this.socket || (event.code >= 4000 && event.code < 5000)) return;
      this.attempts += 1;
      // After a reconnect the server sends the follow and its whole transcript again; shown lines are skipped.
      setTimeout(() => this.connect(), Math.random() * Math.min(15000, 500 * 2 ** (this.attempts - 1)));
    };
  }

  receive(message) {
    if (message.type === "follow") this.show(message);
    else if (message.type === "transcript") {
      if (message.is_final) {
        if (message.sequence <= this.lastSequence) return;
        this.lastSequence = message.sequence;
      }
      this.transcript.show(message);
    } else if (message.type === "speaker_named") this.transcript.named(message);
  }

  show(follow) {
    if (follow.id !== this.followId) {
      this.followId = follow.id;
      this.lastSequence = -1;
    }
    const was = this.status;
    this.status = follow.status;
    const active = ACTIVE.has(follow.status);
    const key = follow.stopping ? "stopping" : follow.status;
    const word = this.words[`word${key[0].toUpperCase()}${key.slice(1)}`] || follow.label;
    this.state.textContent = follow.detail ? `${word}: ${follow.detail}` : word;
    this.state.dataset.status = key;
    this.start.disabled = active;
    this.url.disabled = active;
    this.stop.hidden = !active;
    this.stop.disabled = follow.stopping;
    if (active && !this.url.value) this.url.value = follow.url;
    this.setState(PAGE_STATE[follow.status] || "idle");
    if (was !== follow.status) this.drafts.refresh(); // and then with the page's own refresh, while active
  }

  // A stream is being followed: its drafts are worth looking up again.
  get active() {
    return ACTIVE.has(this.status);
  }

  async request(goLive) {
    const data = new FormData(this.form);
    if (goLive) data.set("go_live", "1");
    await this.send(this.form.action, data, this.start, (answer, status) => {
      // A scheduled event: it goes live with the stream only once the journalist agrees.
      if (status === GO_LIVE_ASKED && answer.go_live_question && window.confirm(answer.go_live_question)) this.request(true);
    });
  }

  async requestStop() {
    const data = new FormData();
    data.set("csrfmiddlewaretoken", this.form.elements.csrfmiddlewaretoken.value);
    await this.send(this.section.dataset.stopUrl, data, this.stop);
  }

  async send(url, data, button, refused = () => {}) {
    button.disabled = true;
    this.state.textContent = this.words.wordSending;
    try {
      const { ok, status, answer } = await send(url, data);
      if (ok) {
        if (answer.follow) this.show(answer.follow);
        return;
      }
      const text = answer.error || fill(this.words.wordRefused, { status });
      this.state.textContent = text;
      this.state.dataset.status = "refused";
      refused(answer, status);
    } catch {
      this.state.textContent = this.words.wordNotSent;
    }
    button.disabled = button === this.start ? this.active : !this.active;
  }
}

export function followStreams(options) {
  const section = document.getElementById("follow");
  return section ? new Follow(section, options) : null;
}
