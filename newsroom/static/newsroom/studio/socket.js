// The studio socket's protocol (docs/studio-protocol.md): start or resume a session, send the audio
// with the time it was captured, keep what the server has not acknowledged and send it again after a
// drop, pause, stop, and resume after a reload (the stream is kept in sessionStorage). No element is
// touched here: the page passes a handler per message type it shows, and state() and finished().
import { FRAME_SECONDS } from "./capture.js";

const DRAIN_RATE = 1.25; // backlogs go out no faster than this × real time (the server allows 1.5×)
const DRAIN_BURST_SECONDS = 2;
const CLOCK_EVERY_MS = 10000; // how often the capture time goes with the audio, besides after every gap
const NORMAL_CLOSE = 1000;
const SERVICE_RESTART = 1012; // the server is restarting: reconnect at once (to another process) and resume
const UNACKED_SECONDS = 30; // audio sent but not yet acknowledged, kept to send again after a drop
const BYTES_PER_SECOND = 32000;

export class StudioStream {
  socket = null;
  ready = false;
  session = null;
  lastSession = null; // the session just stopped, for its recap
  startedAt = 0;
  wanted = false; // the journalist went live and has not stopped
  paused = false;
  stopping = false;
  sentSeconds = 0; // stream time after the last frame sent
  unacked = []; // frames sent and not yet acknowledged, each with its stream time (start)
  lastSequence = -1;
  reportedDropped = 0;
  attempts = 0;
  reconnectTimer = null;
  drainStarted = 0;
  drainedSeconds = 0;
  drainTimer = null;
  clockDue = true;
  clockAt = 0;

  // key: where sessionStorage keeps this tab's stream. scheduled(): whether the event has yet to go
  // live (the journalist confirmed before Go live).
  constructor({ key, path, backlog, scheduled, messages, state, finished }) {
    Object.assign(this, { key, path, backlog, scheduled, messages, state, finished });
  }

  saved() {
    try {
      return JSON.parse(sessionStorage.getItem(this.key) || "null");
    } catch {
      return null;
    }
  }

  save() {
    if (!this.session) return;
    try {
      sessionStorage.setItem(this.key, JSON.stringify({
        session: this.session, lastSequence: this.lastSequence, sentSeconds: this.sentSeconds,
        droppedSeconds: this.backlog.droppedSeconds, startedAt: this.startedAt, paused: this.paused,
      }));
    } catch {
      // storage blocked: no resume after a reload, the stream itself goes on
    }
  }

  forget() {
    try {
      sessionStorage.removeItem(this.key);
    } catch {
      // nothing was kept
    }
  }

  // A new stream (saved = null) or the one this tab was streaming before a reload.
  begin(saved) {
    this.wanted = true;
    this.session = saved ? saved.session : null;
    this.lastSession = null;
    this.paused = false;
    this.backlog.droppedSeconds = saved ? saved.droppedSeconds : 0;
    this.reportedDropped = this.backlog.droppedSeconds;
    this.sentSeconds = saved ? saved.sentSeconds : 0;
    // The transcript shown before the reload is gone: ask for every final again.
    this.lastSequence = -1;
  }

  connect() {
    clearTimeout(this.reconnectTimer);
    this.state(this.session ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => socket.send(JSON.stringify(this.startMessage()));
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => this.closed(socket, event);
  }

  startMessage() {
    const start = { type: "start", encoding: "linear16", sample_rate: 16000, channels: 1 };
    if (this.session) {
      start.session = this.session;
      const first = this.backlog.frames[0];
      if (first && first.start !== undefined) {
        // Audio sent before and not acknowledged goes again, from its stream time: the server drops
        // what it already holds, so nothing in flight is lost and nothing is stored twice.
        start.stream_time = first.start;
        start.resend = true;
      } else {
        // After a reload nothing is kept to send again: what was lost in flight stays a gap.
        start.stream_time = Number(this.sentSeconds.toFixed(6));
      }
      start.last_sequence = this.lastSequence; // finals stored while offline are sent again
    }
    start.dropped_seconds = Number((this.backlog.droppedSeconds - this.reportedDropped).toFixed(3));
    if (this.scheduled()) start.go_live = true;
    return start;
  }

  receive(message) {
    switch (message.type) {
      case "ready":
        this.session = message.session;
        this.ready = true;
        // Where this socket's first frame goes in stream time (the server may hold a gap to a bound).
        if (typeof message.stream_time === "number") this.sentSeconds = message.stream_time;
        this.attempts = 0;
        this.reportedDropped = this.backlog.droppedSeconds;
        this.drainStarted = performance.now();
        this.drainedSeconds = 0;
        this.clockDue = true;
        this.messages.ready(message);
        if (this.paused) this.socket.send(JSON.stringify({ type: "pause" }));
        this.drain();
        if (this.stopping) this.finishStop();
        return;
      case "transcript":
        this.acknowledged(message.received); // a live transcript says what an ack would
        if (message.is_final) {
          if (message.sequence <= this.lastSequence) return;
          this.lastSequence = message.sequence;
        }
        break;
      case "ack":
        this.acknowledged(message.stream_time);
        return;
      case "stopped":
        this.lastSession = message.session;
        this.session = null;
        this.forget();
        break;
    }
    if (Object.hasOwn(this.messages, message.type)) this.messages[message.type](message);
  }

  // The server holds the audio up to streamTime: those frames need not go again.
  acknowledged(streamTime) {
    if (typeof streamTime !== "number") return;
    const frames = this.unacked;
    const end = (frame) => frame.start + frame.pcm.byteLength / BYTES_PER_SECOND;
    let done = 0;
    while (done < frames.length && end(frames[done]) <= streamTime + 1e-6) done += 1;
    if (done) frames.splice(0, done);
  }

  // What was sent and not acknowledged goes first on the next socket, before what waits unsent.
  resendUnacknowledged() {
    if (!this.unacked.length) return;
    this.backlog.frames.unshift(...this.unacked);
    this.unacked = [];
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.ready = false;
    this.socket = null;
    clearTimeout(this.drainTimer);
    this.resendUnacknowledged();
    if (!this.wanted || event.code === NORMAL_CLOSE) {
      this.finish();
      return;
    }
    if (event.code >= 4000 && event.code < 5000) {
      // The server said why (an error message came first): reconnecting would not help.
      this.forget();
      this.finish();
      return;
    }
    this.state("reconnecting");
    if (event.code === SERVICE_RESTART) {
      // A deploy: this process is going and others take the stream now, so no backoff.
      this.connect();
      return;
    }
    this.attempts += 1;
    const delay = Math.random() * Math.min(15000, 500 * 2 ** (this.attempts - 1));
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  finish() {
    clearTimeout(this.reconnectTimer);
    this.wanted = false;
    this.paused = false;
    this.stopping = false;
    this.backlog.frames = [];
    this.unacked = [];
    this.finished(this.lastSession);
  }

  // A captured frame: sent at once when live; kept in the backlog while paused or reconnecting.
  // True when the backlog was full and dropped a frame.
  queue(pcm) {
    if (this.paused || this.stopping || !this.wanted) return false;
    const dropped = this.backlog.push(pcm);
    if (dropped) this.clockDue = true;
    this.drain();
    return dropped;
  }

  // Live frames go straight out; a backlog from a reconnect drains at up to DRAIN_RATE × real time.
  drain() {
    clearTimeout(this.drainTimer);
    this.drainTimer = null;
    const socket = this.socket;
    if (!socket || !this.ready || socket.readyState !== WebSocket.OPEN) return;
    const elapsed = (performance.now() - this.drainStarted) / 1000;
    const frames = this.backlog.frames;
    while (frames.length && this.drainedSeconds <= DRAIN_RATE * elapsed + DRAIN_BURST_SECONDS) {
      const frame = frames.shift();
      if (this.clockDue || frame.capturedAt - this.clockAt >= CLOCK_EVERY_MS) this.sendClock(socket, frame.capturedAt);
      socket.send(frame.pcm);
      const seconds = frame.pcm.byteLength / BYTES_PER_SECOND;
      frame.start = this.sentSeconds;
      this.unacked.push(frame);
      this.drainedSeconds += seconds;
      this.sentSeconds += seconds;
    }
    this.boundUnacked();
    if (frames.length) this.drainTimer = setTimeout(() => this.drain(), 100); // one pending drain at a time
  }

  // Beyond UNACKED_SECONDS the oldest unacknowledged frames are let go: the server has almost surely got them.
  boundUnacked() {
    const limit = UNACKED_SECONDS / FRAME_SECONDS;
    if (this.unacked.length > limit) this.unacked.splice(0, this.unacked.length - limit);
  }

  // When the next frame was captured: the server orders this journalist's words among colleagues' by it.
  sendClock(socket, capturedAt) {
    socket.send(JSON.stringify({ type: "clock", captured_at: capturedAt / 1000 }));
    this.clockDue = false;
    this.clockAt = capturedAt;
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) this.clockDue = true;
    if (this.socket && this.ready) this.socket.send(JSON.stringify({ type: paused ? "pause" : "resume" }));
  }

  stop() {
    this.stopping = true;
    this.finishStop();
  }

  // "stop" goes once every frame captured before Stop has been sent.
  finishStop() {
    const socket = this.socket;
    if (!socket || !this.ready) return; // sent once the socket is back
    if (this.backlog.frames.length) {
      setTimeout(() => this.finishStop(), 100);
      return;
    }
    socket.send(JSON.stringify({ type: "stop" }));
  }

  nameSpeaker(speaker, name) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ type: "name_speaker", speaker, name }));
  }
}
