// The studio page: microphone → AudioWorklet (16 kHz linear16) → studio socket, and what comes back.
// Protocol: docs/studio-protocol.md. Everything from the server is shown with textContent only.
"use strict";

(() => {
  const root = document.getElementById("studio");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const ui = {
    mic: $("mic"), goLive: $("go-live"), pause: $("pause"), stop: $("stop"), state: $("state"),
    elapsed: $("elapsed"), provider: $("provider"), level: $("level"), dropped: $("dropped"), storage: $("storage"),
    countdown: $("countdown"), message: $("message"), transcript: $("transcript"), interim: $("interim"),
    drafts: $("drafts"), noisyRoom: $("noisy-room"),
  };
  const FRAME_SECONDS = 0.1;
  const MAX_BACKLOG = Math.max(1, Number(root.dataset.bufferSeconds || 60)) / FRAME_SECONDS;
  const DRAIN_RATE = 1.25; // backlogs go out no faster than this × real time (the server allows 1.5×)
  const DRAIN_BURST_SECONDS = 2;
  const NORMAL_CLOSE = 1000;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

  const stream = {
    socket: null, ready: false, session: null, wanted: false, paused: false, stopping: false,
    backlog: [], sentSeconds: 0, lastSequence: -1, droppedSeconds: 0, reportedDropped: 0, attempts: 0, reconnectTimer: null,
    drainStarted: 0, drainedSeconds: 0, drainTimer: null, startedAt: 0, audio: null, nextBatchAt: null,
  };

  const providerLabel = (provider) => (provider === "deepgram" ? "Deepgram" : "Offline recognizer");

  function setState(state) {
    ui.state.textContent = state;
    ui.state.dataset.state = state;
  }

  // Finals wait in the server while its database is away; they are shown here only once stored.
  function showStorage(storage, waiting) {
    ui.storage.dataset.storage = storage;
    ui.storage.textContent = storage === "delayed" ? `saving delayed (${waiting} waiting)` : "all saved";
  }

  function say(text) {
    ui.message.textContent = text;
    ui.message.hidden = !text;
  }

  function controls() {
    ui.goLive.disabled = stream.wanted;
    ui.pause.disabled = !stream.wanted;
    ui.stop.disabled = !stream.wanted;
    ui.mic.disabled = stream.wanted;
    ui.noisyRoom.disabled = stream.wanted;
    ui.pause.textContent = stream.paused ? "Resume" : "Pause";
  }

  // --- Microphone ------------------------------------------------------------------------------
  async function listMicrophones() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const chosen = ui.mic.value;
    ui.mic.replaceChildren(new Option("Default microphone", ""));
    devices.filter((d) => d.kind === "audioinput").forEach((d, i) => {
      ui.mic.append(new Option(d.label || `Microphone ${i + 1}`, d.deviceId));
    });
    ui.mic.value = chosen;
  }

  // Raw sound by default: the browser's voice processing garbles speech for the recognizer. In a noisy
  // room the journalist may turn it on; the choice is kept in this browser and applies at the next Go live.
  const NOISY_ROOM_KEY = "liveblog.studio.noisyRoom";

  function storedNoisyRoom() {
    try {
      return localStorage.getItem(NOISY_ROOM_KEY) === "on";
    } catch {
      return false; // storage blocked: raw, as by default
    }
  }

  function storeNoisyRoom(on) {
    try {
      if (on) localStorage.setItem(NOISY_ROOM_KEY, "on");
      else localStorage.removeItem(NOISY_ROOM_KEY);
    } catch {
      // storage blocked: the switch still applies to this page
    }
  }

  function microphoneConstraints() {
    const processing = ui.noisyRoom.checked;
    const constraints = {
      channelCount: 1, echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing,
    };
    if (ui.mic.value) constraints.deviceId = { exact: ui.mic.value };
    return constraints;
  }

  async function startCapture() {
    const constraints = microphoneConstraints();
    const media = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    const context = new AudioContext(); // the device's native rate; the worklet resamples
    await context.audioWorklet.addModule(root.dataset.worklet);
    const source = context.createMediaStreamSource(media);
    const node = new AudioWorkletNode(context, "capture-16k", { numberOfInputs: 1, numberOfOutputs: 1 });
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(context.destination);
    node.port.onmessage = (event) => onFrame(event.data.pcm, event.data.level);
    if (context.state === "suspended") await context.resume();
    stream.audio = { media, context, node };
    listMicrophones();
  }

  function stopCapture() {
    if (!stream.audio) return;
    stream.audio.node.port.onmessage = null;
    stream.audio.media.getTracks().forEach((t) => t.stop());
    stream.audio.context.close();
    stream.audio = null;
    ui.level.value = 0;
  }

  function onFrame(pcm, level) {
    ui.level.value = Math.min(1, level * 4);
    if (stream.paused || stream.stopping || !stream.wanted) return;
    stream.backlog.push(pcm);
    if (stream.backlog.length > MAX_BACKLOG) {
      stream.backlog.shift();
      stream.droppedSeconds += FRAME_SECONDS;
      ui.dropped.textContent = `${stream.droppedSeconds.toFixed(1)} s`;
    }
    drain();
  }

  // Live frames go straight out; a backlog from a reconnect drains at up to DRAIN_RATE × real time.
  function drain() {
    clearTimeout(stream.drainTimer);
    stream.drainTimer = null;
    const socket = stream.socket;
    if (!socket || !stream.ready || socket.readyState !== WebSocket.OPEN) return;
    const elapsed = (performance.now() - stream.drainStarted) / 1000;
    while (stream.backlog.length && stream.drainedSeconds <= DRAIN_RATE * elapsed + DRAIN_BURST_SECONDS) {
      socket.send(stream.backlog.shift());
      stream.drainedSeconds += FRAME_SECONDS;
      stream.sentSeconds += FRAME_SECONDS;
    }
    if (stream.backlog.length) stream.drainTimer = setTimeout(drain, 100);  // one pending drain at a time
  }

  // --- Socket ----------------------------------------------------------------------------------
  function connect() {
    clearTimeout(stream.reconnectTimer);
    setState(stream.session ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.socketPath}`);
    socket.binaryType = "arraybuffer";
    stream.socket = socket;
    stream.ready = false;
    socket.onopen = () => {
      const start = { type: "start", encoding: "linear16", sample_rate: 16000, channels: 1 };
      if (stream.session) {
        // Resume: audio sent before this socket, so frames lost in flight stay a gap in stream time.
        start.session = stream.session;
        start.stream_time = Number(stream.sentSeconds.toFixed(3));
        start.last_sequence = stream.lastSequence; // finals stored while offline are sent again
      }
      start.dropped_seconds = Number((stream.droppedSeconds - stream.reportedDropped).toFixed(3));
      socket.send(JSON.stringify(start));
    };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = (event) => onClose(socket, event);
  }

  function onMessage(message) {
    switch (message.type) {
      case "ready":
        stream.session = message.session;
        stream.ready = true;
        stream.attempts = 0;
        stream.reportedDropped = stream.droppedSeconds;
        stream.drainStarted = performance.now();
        stream.drainedSeconds = 0;
        ui.provider.textContent = providerLabel(message.provider);
        setState("live");
        say("");
        if (stream.paused) stream.socket.send(JSON.stringify({ type: "pause" }));
        drain();
        if (stream.stopping) finishStop();
        break;
      case "transcript":
        if (message.is_final) {
          if (message.sequence <= stream.lastSequence) break;
          stream.lastSequence = message.sequence;
          const line = document.createElement("span");
          line.className = "final";
          line.dataset.segment = message.segment;
          line.textContent = `${message.text} `;
          if (message.speaker_name && message.speaker !== stream.lastSpeaker) line.prepend(speakerLabel(message));
          stream.lastSpeaker = message.speaker;
          ui.transcript.insertBefore(line, ui.interim);
          ui.interim.textContent = "";
        } else {
          ui.interim.textContent = message.text;
        }
        break;
      case "status":
        if (message.upstream === "reconnecting") setState("reconnecting");
        else if (message.upstream === "live" && stream.ready) setState("live");
        if (message.provider) ui.provider.textContent = providerLabel(message.provider);
        ui.dropped.textContent = `${Math.max(stream.droppedSeconds, message.dropped_seconds || 0).toFixed(1)} s`;
        if (message.storage) showStorage(message.storage, message.waiting || 0);
        break;
      case "batch":
        stream.nextBatchAt = message.next_batch_at ? new Date(message.next_batch_at) : null;
        tick();
        break;
      case "draft": {
        const item = document.createElement("li");
        const headline = document.createElement("strong");
        headline.textContent = message.post.headline || "Draft";
        const body = document.createElement("p");
        body.textContent = message.post.body;
        const link = document.createElement("a");
        link.href = message.post.admin_url;
        link.textContent = "Edit in admin";
        item.append(headline, body, link);
        ui.drafts.prepend(item);
        break;
      }
      case "speaker_named":
        for (const label of ui.transcript.querySelectorAll(`.speaker[data-speaker="${Number(message.speaker)}"]`)) {
          label.textContent = `${message.speaker_name}: `;
        }
        break;
      case "speaker_not_named":
      case "error":
        say(message.message);
        break;
      case "stopped":
        stream.session = null;
        break;
    }
  }

  // "Speaker 0: " before a final; clicking it names that speaker for the session.
  function speakerLabel(message) {
    const label = document.createElement("button");
    label.type = "button";
    label.className = "speaker";
    label.dataset.speaker = message.speaker;
    label.title = "Name this speaker";
    label.textContent = `${message.speaker_name}: `;
    label.addEventListener("click", () => {
      const name = window.prompt(`Who is ${label.textContent.slice(0, -2)}? (empty to forget the name)`, "");
      if (name === null || !stream.socket || stream.socket.readyState !== WebSocket.OPEN) return;
      stream.socket.send(JSON.stringify({ type: "name_speaker", speaker: message.speaker, name: name.slice(0, 80) }));
    });
    return label;
  }

  function onClose(socket, event) {
    if (socket !== stream.socket) return;
    stream.ready = false;
    stream.socket = null;
    if (!stream.wanted || event.code === NORMAL_CLOSE) {
      finish();
      return;
    }
    if (event.code >= 4000 && event.code < 5000) {
      // The server said why (an error message came first): reconnecting would not help.
      finish();
      return;
    }
    stream.attempts += 1;
    const delay = Math.random() * Math.min(15000, 500 * 2 ** (stream.attempts - 1));
    setState("reconnecting");
    stream.reconnectTimer = setTimeout(connect, delay);
  }

  function finish() {
    clearTimeout(stream.reconnectTimer);
    stopCapture();
    stream.wanted = false;
    stream.paused = false;
    stream.stopping = false;
    stream.backlog = [];
    setState("offline");
    controls();
  }

  function finishStop() {
    const socket = stream.socket;
    if (!socket || !stream.ready) return; // sent once the socket is back
    if (stream.backlog.length) {
      setTimeout(finishStop, 100);
      return;
    }
    socket.send(JSON.stringify({ type: "stop" }));
  }

  // --- Controls --------------------------------------------------------------------------------
  ui.goLive.addEventListener("click", async () => {
    if (!littleEndian) {
      say("This device is big-endian; the studio cannot send its audio.");
      return;
    }
    say("");
    stream.wanted = true;
    stream.session = null;
    stream.droppedSeconds = stream.reportedDropped = stream.sentSeconds = 0;
    stream.lastSequence = -1;
    ui.dropped.textContent = "0.0 s";
    controls();
    try {
      await startCapture();
    } catch (error) {
      say(`The microphone could not be opened: ${error.message || error}`);
      stream.wanted = false;
      controls();
      return;
    }
    stream.startedAt = Date.now();
    connect();
  });

  ui.pause.addEventListener("click", () => {
    stream.paused = !stream.paused;
    if (stream.socket && stream.ready) stream.socket.send(JSON.stringify({ type: stream.paused ? "pause" : "resume" }));
    controls();
  });

  ui.stop.addEventListener("click", () => {
    stream.stopping = true;
    stopCapture();
    ui.stop.disabled = true;
    finishStop();
  });

  ui.mic.addEventListener("focus", listMicrophones);
  ui.noisyRoom.checked = storedNoisyRoom();
  ui.noisyRoom.addEventListener("change", () => storeNoisyRoom(ui.noisyRoom.checked));

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
    return `${h ? `${h}:` : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
  }

  function tick() {
    if (stream.wanted) ui.elapsed.textContent = clock((Date.now() - stream.startedAt) / 1000);
    if (!stream.nextBatchAt) ui.countdown.textContent = "with the first transcript";
    else {
      const left = (stream.nextBatchAt - Date.now()) / 1000;
      ui.countdown.textContent = left > 0 ? `in ${clock(left)}` : "due now";
    }
  }

  setInterval(tick, 1000);
  window.addEventListener("beforeunload", (event) => {
    if (stream.wanted) event.preventDefault();
  });
  listMicrophones();
  controls();
})();

// --- Picture for the next draft: sent without leaving the page, so the stream goes on. ---------------
(() => {
  const form = document.getElementById("picture-form");
  if (!form) return;
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
      status.textContent = "Choose or take a picture first.";
      return;
    }
    send.disabled = true;
    status.textContent = "Sending the picture…";
    try {
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        form.reset();
        status.textContent = answer.message;
      } else {
        status.textContent = answer.error || `The picture was not sent (HTTP ${response.status}).`;
      }
    } catch {
      status.textContent = "The picture was not sent: no connection. Try again.";
    } finally {
      send.disabled = false;
    }
  });
})();
