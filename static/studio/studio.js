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
    drafts: $("drafts"), noisyRoom: $("noisy-room"), micTest: $("mic-test"), micCheck: $("mic-check"),
    pauseLabel: $("pause-label"), resumeSession: $("resume-session"), countdownBox: $("countdown-box"),
    draftsEmpty: $("drafts-empty"), recap: $("recap"),
  };
  const SAVED_KEY = `liveblog.studio.${root.dataset.event}`; // this tab's stream, to resume after a reload
  const MIC_KEY = "liveblog.studio.microphone";
  const FRAME_SECONDS = 0.1;
  const MAX_BACKLOG = Math.max(1, Number(root.dataset.bufferSeconds || 60)) / FRAME_SECONDS;
  const DRAIN_RATE = 1.25; // backlogs go out no faster than this × real time (the server allows 1.5×)
  const DRAIN_BURST_SECONDS = 2;
  const CLOCK_EVERY_MS = 10000; // how often the capture time goes with the audio, besides after every gap
  const NORMAL_CLOSE = 1000;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

  const stream = {
    socket: null, ready: false, session: null, wanted: false, paused: false, stopping: false,
    backlog: [], sentSeconds: 0, lastSequence: -1, droppedSeconds: 0, reportedDropped: 0, attempts: 0, reconnectTimer: null,
    drainStarted: 0, drainedSeconds: 0, drainTimer: null, startedAt: 0, audio: null, nextBatchAt: null,
    wakeLock: null, lastSession: null, clockDue: true, clockAt: 0,
  };

  const providerLabel = (provider) => (provider === "deepgram" ? "Deepgram" : "Offline recognizer");

  const STATE_WORDS = {
    idle: "not live", connecting: "connecting", live: "live", reconnecting: "reconnecting", paused: "paused",
    stopping: "stopping", stopped: "stopped", ended: "event ended",
  };

  // One element, announced politely to screen readers; its class gives the colour.
  function setState(state) {
    if (state === "live" && stream.paused) state = "paused";
    if (ui.state.dataset.state === state) return;
    ui.state.textContent = STATE_WORDS[state];
    ui.state.dataset.state = state;
    ui.state.className = `state state-${state}`;
    ui.countdownBox.hidden = !(state === "live" || state === "paused");
    if (state === "live" || state === "paused") holdWakeLock();
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
    ui.goLive.disabled = stream.wanted || root.dataset.eventStatus === "ended";
    ui.pause.disabled = !stream.wanted;
    ui.stop.disabled = !stream.wanted;
    ui.mic.disabled = stream.wanted;
    ui.noisyRoom.disabled = stream.wanted;
    ui.micTest.disabled = stream.wanted || Boolean(stream.testing);
    ui.resumeSession.hidden = stream.wanted || !savedStream() || root.dataset.eventStatus === "ended";
    ui.pauseLabel.textContent = stream.paused ? "Resume" : "Pause";
  }

  // --- This tab's stream, kept in sessionStorage so a reload can resume it --------------------
  function savedStream() {
    try {
      return JSON.parse(sessionStorage.getItem(SAVED_KEY) || "null");
    } catch {
      return null;
    }
  }

  function saveStream() {
    if (!stream.session) return;
    try {
      sessionStorage.setItem(SAVED_KEY, JSON.stringify({
        session: stream.session, lastSequence: stream.lastSequence, sentSeconds: stream.sentSeconds,
        droppedSeconds: stream.droppedSeconds, startedAt: stream.startedAt, paused: stream.paused,
      }));
    } catch {
      // storage blocked: no resume after a reload, the stream itself goes on
    }
  }

  function forgetStream() {
    try {
      sessionStorage.removeItem(SAVED_KEY);
    } catch {
      // nothing was kept
    }
  }

  function remember(key, value) {
    try {
      if (value) sessionStorage.setItem(key, value);
      else sessionStorage.removeItem(key);
    } catch {
      // storage blocked
    }
  }

  function recalled(key) {
    try {
      return sessionStorage.getItem(key) || "";
    } catch {
      return "";
    }
  }

  // --- Staying live: the screen stays on while live ---------------------------------------------
  async function holdWakeLock() {
    if (!navigator.wakeLock || (stream.wakeLock && !stream.wakeLock.released)) return;
    try {
      stream.wakeLock = await navigator.wakeLock.request("screen");
    } catch {
      stream.wakeLock = null; // refused (battery saver, hidden tab): taken again when visible
    }
  }

  function releaseWakeLock() {
    const lock = stream.wakeLock;
    stream.wakeLock = null;
    if (lock && !lock.released) lock.release().catch(() => {});
  }

  document.addEventListener("visibilitychange", () => {
    // The browser drops the lock whenever the tab is hidden.
    if (document.visibilityState === "visible" && stream.wanted) holdWakeLock();
  });

  // --- Microphone ------------------------------------------------------------------------------
  async function listMicrophones() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const chosen = ui.mic.value;
    ui.mic.replaceChildren(new Option("Default microphone", ""));
    // Labels are empty until the page has been allowed a microphone once.
    devices.filter((d) => d.kind === "audioinput" && d.deviceId && d.deviceId !== "default").forEach((d, i) => {
      ui.mic.append(new Option(d.label || `Microphone ${i + 1}`, d.deviceId));
    });
    const wanted = chosen || recalled(MIC_KEY);
    ui.mic.value = [...ui.mic.options].some((o) => o.value === wanted) ? wanted : "";
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

  // The same capture serves the mic check before going live and the stream itself.
  async function startCapture() {
    stopCapture();
    const constraints = microphoneConstraints();
    const media = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    const context = new AudioContext(); // the device's native rate; the worklet resamples
    await context.audioWorklet.addModule(root.dataset.worklet);
    const source = context.createMediaStreamSource(media);
    const node = new AudioWorkletNode(context, "capture-16k", { numberOfInputs: 1, numberOfOutputs: 1 });
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(context.destination);
    node.port.onmessage = (event) => onFrame(event.data.pcm, event.data.level, event.data.peak);
    if (context.state === "suspended") await context.resume();
    const [track] = media.getAudioTracks();
    stream.audio = { media, context, node, device: track ? track.label : "", asked: JSON.stringify(constraints) };
    check.frames = [];
    check.shown = "";
    await listMicrophones();
    const used = track && track.getSettings().deviceId;
    if (used && !ui.mic.value && [...ui.mic.options].some((o) => o.value === used)) ui.mic.value = used;
  }

  function stopCapture() {
    if (!stream.audio) return;
    stream.audio.node.port.onmessage = null;
    stream.audio.media.getTracks().forEach((t) => t.stop());
    stream.audio.context.close();
    stream.audio = null;
    ui.level.value = 0;
    stream.testing = null;
    showCheck("off", "The microphone is closed. Choose one or press Test microphone to check its level.");
  }

  async function checkMicrophone() {
    if (stream.wanted) return;
    try {
      await startCapture();
    } catch (error) {
      showCheck("error", `The microphone could not be opened: ${error.message || error}`);
    }
  }

  // --- Mic check: is the input silent, too quiet or clipping? ------------------------------------
  const CHECK_FRAMES = 15; // the last 1.5 s of frames
  const SILENT_LEVEL = 0.0005;
  const QUIET_LEVEL = 0.01;
  const CLIPPING_PEAK = 0.99;
  const check = { frames: [], shown: "" };

  function showCheck(kind, text) {
    ui.micCheck.dataset.check = kind;
    if (ui.micCheck.textContent !== text) ui.micCheck.textContent = text;
  }

  function judgeLevel(level, peak) {
    check.frames.push({ level, peak });
    if (check.frames.length > CHECK_FRAMES) check.frames.shift();
    if (check.frames.length < CHECK_FRAMES) return;
    const loudest = Math.max(...check.frames.map((f) => f.level));
    const clipped = check.frames.filter((f) => f.peak >= CLIPPING_PEAK).length;
    const device = (stream.audio && stream.audio.device) || "The microphone";
    let kind = "good";
    let text = `${device}: level good.`;
    if (clipped >= 2) {
      kind = "clipping";
      text = `${device} is clipping: turn its gain down or move it further away.`;
    } else if (loudest < SILENT_LEVEL) {
      kind = "silent";
      text = `No sound from ${device}: is it muted or switched off?`;
    } else if (loudest < QUIET_LEVEL) {
      kind = "quiet";
      text = `${device} is too quiet: move it closer or turn its gain up.`;
    }
    if (kind !== check.shown) {
      check.shown = kind;
      showCheck(kind, text);
    }
  }

  // --- Mic test: record a few seconds and play them back -----------------------------------------
  const TEST_SECONDS = 3;

  async function testMicrophone() {
    if (stream.wanted || stream.testing) return;
    if (!stream.audio) await checkMicrophone();
    if (!stream.audio) return;
    stream.testing = { frames: [] };
    ui.micTest.textContent = "Recording… speak now";
    controls();
  }

  function recordTestFrame(pcm) {
    const test = stream.testing;
    test.frames.push(new Int16Array(pcm));
    if (test.frames.length * FRAME_SECONDS < TEST_SECONDS) return;
    stream.testing = { frames: null }; // playing back: no more recording
    const samples = test.frames.reduce((n, f) => n + f.length, 0);
    const context = stream.audio.context;
    const buffer = context.createBuffer(1, samples, 16000);
    const out = buffer.getChannelData(0);
    let at = 0;
    for (const frame of test.frames) for (const v of frame) out[at++] = v / 0x8000;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    ui.micTest.textContent = "Playing back…";
    source.onended = () => {
      stream.testing = null;
      ui.micTest.textContent = "Test microphone (3 s)";
      ui.micTest.dataset.played = (samples / 16000).toFixed(1);
      controls();
    };
    source.start();
  }

  function onFrame(pcm, level, peak) {
    ui.level.value = Math.min(1, level * 4);
    judgeLevel(level, peak);
    if (stream.testing && stream.testing.frames) recordTestFrame(pcm);
    if (stream.paused || stream.stopping || !stream.wanted) return;
    stream.backlog.push({ pcm, capturedAt: Date.now() - FRAME_SECONDS * 1000 });
    if (stream.backlog.length > MAX_BACKLOG) {
      stream.backlog.shift();
      stream.clockDue = true;
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
      const frame = stream.backlog.shift();
      if (stream.clockDue || frame.capturedAt - stream.clockAt >= CLOCK_EVERY_MS) sendClock(socket, frame.capturedAt);
      socket.send(frame.pcm);
      stream.drainedSeconds += FRAME_SECONDS;
      stream.sentSeconds += FRAME_SECONDS;
    }
    if (stream.backlog.length) stream.drainTimer = setTimeout(drain, 100);  // one pending drain at a time
  }

  // When the next frame was captured: the server orders this journalist's words among colleagues' by it.
  function sendClock(socket, capturedAt) {
    socket.send(JSON.stringify({ type: "clock", captured_at: capturedAt / 1000 }));
    stream.clockDue = false;
    stream.clockAt = capturedAt;
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
      if (root.dataset.eventStatus === "scheduled") start.go_live = true; // the journalist said yes before Go live
      socket.send(JSON.stringify(start));
    };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = (event) => onClose(socket, event);
  }

  function onMessage(message) {
    switch (message.type) {
      case "ready":
        if (root.dataset.eventStatus === "scheduled") root.dataset.eventStatus = "live";
        stream.session = message.session;
        stream.ready = true;
        stream.attempts = 0;
        stream.reportedDropped = stream.droppedSeconds;
        stream.drainStarted = performance.now();
        stream.drainedSeconds = 0;
        stream.clockDue = true;
        ui.provider.textContent = providerLabel(message.provider);
        setState("live");
        say("");
        saveStream();
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
          saveStream();
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
      case "draft":
        showDraft(message.post);
        break;
      case "speaker_named":
        for (const label of ui.transcript.querySelectorAll(`.speaker[data-speaker="${Number(message.speaker)}"]`)) {
          label.textContent = `${message.speaker_name}: `;
        }
        break;
      case "speaker_not_named":
      case "error":
        say(message.message);
        break;
      case "event_ended":
        eventEnded(message.message);
        break;
      case "stopped":
        stream.lastSession = message.session;
        stream.session = null;
        forgetStream();
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
      forgetStream();
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
    releaseWakeLock();
    setState(root.dataset.eventStatus === "ended" ? "ended" : "stopped");
    controls();
    if (stream.lastSession) followAfterStop(stream.lastSession);
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
  // The event ended (here, or before this page loaded): the stream has stopped and cannot go live again.
  function eventEnded(text) {
    root.dataset.eventStatus = "ended";
    forgetStream();
    setState("ended");
    controls();
    say(text);
  }

  ui.goLive.addEventListener("click", async () => {
    if (!littleEndian) {
      say("This device is big-endian; the studio cannot send its audio.");
      return;
    }
    if (root.dataset.eventStatus === "scheduled" && !window.confirm(root.dataset.goLiveQuestion)) return;
    forgetStream();
    goLive(null);
  });

  // A new stream (saved = null) or the one this tab was streaming before a reload.
  async function goLive(saved) {
    say("");
    stream.wanted = true;
    stream.session = saved ? saved.session : null;
    stream.lastSession = null;
    stream.paused = false;
    stream.droppedSeconds = saved ? saved.droppedSeconds : 0;
    stream.reportedDropped = stream.droppedSeconds;
    stream.sentSeconds = saved ? saved.sentSeconds : 0;
    // The transcript shown before the reload is gone: ask for every final again.
    stream.lastSequence = -1;
    ui.dropped.textContent = `${stream.droppedSeconds.toFixed(1)} s`;
    ui.recap.hidden = true;
    controls();
    // Space on the focused Pause button pauses, as everywhere else on the page.
    if (document.activeElement === ui.goLive || document.activeElement === ui.resumeSession) ui.pause.focus();
    setState("connecting");
    try {
      // The mic check's capture goes on into the stream unless the choices changed since it opened.
      if (!stream.audio || stream.audio.asked !== JSON.stringify(microphoneConstraints())) await startCapture();
      stream.testing = null;
      ui.micTest.textContent = "Test microphone (3 s)";
    } catch (error) {
      say(`The microphone could not be opened: ${error.message || error}`);
      stream.wanted = false;
      setState("idle");
      controls();
      return;
    }
    stream.startedAt = saved ? saved.startedAt : Date.now();
    connect();
    refreshDrafts();
  }

  ui.resumeSession.addEventListener("click", () => {
    const saved = savedStream();
    if (saved && littleEndian && !stream.wanted) goLive(saved);
  });

  function togglePause() {
    if (!stream.wanted || stream.stopping) return;
    stream.paused = !stream.paused;
    if (!stream.paused) stream.clockDue = true;
    if (stream.socket && stream.ready) stream.socket.send(JSON.stringify({ type: stream.paused ? "pause" : "resume" }));
    if (stream.ready) setState(stream.paused ? "paused" : "live");
    saveStream();
    controls();
  }

  ui.pause.addEventListener("click", togglePause);

  // Space pauses and resumes, unless focus is somewhere Space already means something.
  document.addEventListener("keydown", (event) => {
    if (event.code !== "Space" || event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea, button, a, [contenteditable], audio, video")) return;
    if (!stream.wanted) return;
    event.preventDefault();
    togglePause();
  });

  ui.stop.addEventListener("click", () => {
    stream.stopping = true;
    stopCapture();
    ui.stop.disabled = true;
    setState("stopping");
    finishStop();
  });

  ui.mic.addEventListener("focus", listMicrophones);
  ui.mic.addEventListener("change", () => {
    remember(MIC_KEY, ui.mic.value);
    checkMicrophone();
  });
  ui.micTest.addEventListener("click", testMicrophone);
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
    if (stream.wanted && stream.ready) saveStream();
    if (!stream.nextBatchAt) ui.countdown.textContent = "with the first transcript";
    else {
      const left = (stream.nextBatchAt - Date.now()) / 1000;
      ui.countdown.textContent = left > 0 ? `in ${clock(left)}` : "due now";
    }
  }

  // --- Drafts: every draft of the event, with links this user may open ---------------------------
  const STATE_TEXT = {
    waiting: "waiting for an editor", held: "held", approved: "approved", published: "published", rejected: "rejected",
  };
  const shownDrafts = new Map();

  function showDraft(post) {
    let item = shownDrafts.get(post.id);
    if (!item) {
      item = document.createElement("li");
      item.dataset.post = post.id;
      shownDrafts.set(post.id, item);
      const newer = [...shownDrafts.keys()].filter((id) => id > post.id).sort((a, b) => a - b)[0];
      if (newer === undefined) ui.drafts.prepend(item);
      else shownDrafts.get(newer).after(item);
    }
    const headline = document.createElement("strong");
    headline.textContent = post.headline || `Draft ${post.id}`;
    const status = document.createElement("span");
    status.className = `draft-state draft-state-${post.state}`;
    status.textContent = post.state === "held" && post.hold_reason ? `held: ${post.hold_reason}` : STATE_TEXT[post.state] || post.state;
    const body = document.createElement("p");
    body.className = "draft-body";
    body.textContent = post.body;
    const links = document.createElement("p");
    links.className = "draft-links";
    const open = document.createElement("a");
    open.href = post.url;
    open.className = "draft-link";
    open.textContent = post.state === "published" ? "Published post" : "Read draft";
    links.append(open);
    if (post.admin_url) {
      const admin = document.createElement("a");
      admin.href = post.admin_url;
      admin.className = "admin-link";
      admin.textContent = "Edit in admin";
      links.append(" · ", admin);
    }
    item.dataset.state = post.state;
    item.replaceChildren(headline, " ", status, body, links);
    ui.draftsEmpty.hidden = shownDrafts.size > 0;
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status}`);
    return response.json();
  }

  async function refreshDrafts() {
    try {
      const { drafts } = await getJson(root.dataset.draftsUrl);
      drafts.forEach(showDraft);
    } catch {
      // the next refresh tries again
    }
  }

  // --- After Stop: the recap, and the drafts still to come from the last words ------------------------
  const FOLLOW_EVERY_MS = 3000;
  const FOLLOW_AT_MOST_MS = 180000;

  function showRecap(recap) {
    const set = (id, text) => { $(id).textContent = text; };
    set("recap-duration", clock(recap.duration_seconds));
    set("recap-words", String(recap.words));
    set("recap-segments", String(recap.segments));
    set("recap-drafts", String(recap.drafts));
    set("recap-published", String(recap.published));
    set("recap-dropped", `${recap.dropped_seconds.toFixed(1)} s`);
    $("recap-txt").href = recap.exports.txt;
    $("recap-srt").href = recap.exports.srt;
    $("recap-vtt").href = recap.exports.vtt;
    $("recap-public").href = recap.public_url;
    $("recap-drafting").hidden = !recap.drafting;
    ui.recap.dataset.session = recap.session;
    ui.recap.hidden = false;
  }

  async function followAfterStop(session) {
    const url = root.dataset.recapUrl.replace(/\/0\/recap\.json$/, `/${session}/recap.json`);
    const until = Date.now() + FOLLOW_AT_MOST_MS;
    let settled = 0;
    while (!stream.wanted && Date.now() < until && settled < 2) {
      try {
        const recap = await getJson(url);
        showRecap(recap);
        settled = recap.drafting ? 0 : settled + 1; // one more look once drafting is done: its post may be published
      } catch {
        // the next look tries again
      }
      await refreshDrafts();
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    }
  }

  setInterval(tick, 1000);
  setInterval(() => { if (stream.wanted) refreshDrafts(); }, 10000);
  window.addEventListener("beforeunload", (event) => {
    if (!stream.wanted) return;
    saveStream();
    event.preventDefault();
    event.returnValue = ""; // older Chromium asks only with returnValue set
  });

  const interrupted = root.dataset.eventStatus === "ended" ? null : savedStream();
  if (root.dataset.eventStatus === "ended") eventEnded(root.dataset.endedMessage);
  if (interrupted) {
    ui.resumeSession.textContent = `Resume stream (session ${interrupted.session})`;
    say(`This tab was streaming session ${interrupted.session} when it was reloaded. Resume stream goes on with it; Go live starts a new one.`);
  }
  listMicrophones();
  refreshDrafts();
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
