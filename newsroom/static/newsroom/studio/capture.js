// The studio's microphone: capture in an AudioWorklet (capture-worklet.js: 16 kHz linear16 frames of
// 100 ms), the level meter, the mic check and test, and the backlog of frames waiting for the socket.

export const FRAME_SECONDS = 0.1;
const MIC_KEY = "liveblog.studio.microphone";
// Raw sound by default: the browser's voice processing garbles speech for the recognizer. In a noisy
// room the journalist may turn it on; the choice is kept in this browser and applies at the next Go live.
const NOISY_ROOM_KEY = "liveblog.studio.noisyRoom";
const CHECK_FRAMES = 15; // the last 1.5 s of frames
const SILENT_LEVEL = 0.0005;
const QUIET_LEVEL = 0.01;
const CLIPPING_PEAK = 0.99;
const TEST_SECONDS = 3;
const { gettext, interpolate } = globalThis; // Django's JavaScript catalog, loaded before this module
const TEST_LABEL = gettext("Test microphone (3 s)");
const said = (sentence, device) => interpolate(sentence, { device }, true);

function rememberMicrophone(value) {
  try {
    if (value) sessionStorage.setItem(MIC_KEY, value);
    else sessionStorage.removeItem(MIC_KEY);
  } catch {
    // storage blocked
  }
}

function recalledMicrophone() {
  try {
    return sessionStorage.getItem(MIC_KEY) || "";
  } catch {
    return "";
  }
}

export function storedNoisyRoom() {
  try {
    return localStorage.getItem(NOISY_ROOM_KEY) === "on";
  } catch {
    return false; // storage blocked: raw, as by default
  }
}

export function storeNoisyRoom(on) {
  try {
    if (on) localStorage.setItem(NOISY_ROOM_KEY, "on");
    else localStorage.removeItem(NOISY_ROOM_KEY);
  } catch {
    // storage blocked: the switch still applies to this page
  }
}

// Frames captured and not yet sent; beyond the limit the oldest is dropped, and counted.
export class Backlog {
  frames = [];
  droppedSeconds = 0;

  constructor(seconds) {
    this.limit = Math.max(1, seconds) / FRAME_SECONDS;
  }

  // True when a frame had to be dropped to make room.
  push(pcm) {
    this.frames.push({ pcm, capturedAt: Date.now() - FRAME_SECONDS * 1000 });
    if (this.frames.length <= this.limit) return false;
    this.frames.shift();
    this.droppedSeconds += FRAME_SECONDS;
    return true;
  }
}

// The same capture serves the mic check before going live and the stream itself. ui: the select,
// noisy-room checkbox, meter, check line and test button; onFrame(pcm) gets every frame, onTest()
// hears when a mic test starts or ends.
export class Microphone {
  audio = null; // { media, context, node, device, asked } while open
  testing = null; // { frames } while recording a test, { frames: null } while playing it back
  recent = [];
  shownCheck = "";

  constructor(ui, workletUrl, { onFrame, onTest }) {
    this.ui = ui;
    this.workletUrl = workletUrl;
    this.onFrame = onFrame;
    this.onTest = onTest;
  }

  async list() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const select = this.ui.select;
    const chosen = select.value;
    select.replaceChildren(new Option(gettext("Default microphone"), ""));
    // Labels are empty until the page has been allowed a microphone once.
    devices.filter((d) => d.kind === "audioinput" && d.deviceId && d.deviceId !== "default").forEach((d, i) => {
      select.append(new Option(d.label || interpolate(gettext("Microphone %(number)s"), { number: i + 1 }, true), d.deviceId));
    });
    const wanted = chosen || recalledMicrophone();
    select.value = [...select.options].some((o) => o.value === wanted) ? wanted : "";
  }

  choose() {
    rememberMicrophone(this.ui.select.value);
  }

  constraints() {
    const processing = this.ui.noisyRoom.checked;
    const constraints = {
      channelCount: 1, echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing,
    };
    if (this.ui.select.value) constraints.deviceId = { exact: this.ui.select.value };
    return constraints;
  }

  // Open with the choices on the page now: then the mic check's capture goes on into the stream.
  isOpenAsChosen() {
    return Boolean(this.audio) && this.audio.asked === JSON.stringify(this.constraints());
  }

  async open() {
    this.close();
    const constraints = this.constraints();
    const media = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    const context = new AudioContext(); // the device's native rate; the worklet resamples
    await context.audioWorklet.addModule(this.workletUrl);
    const source = context.createMediaStreamSource(media);
    const node = new AudioWorkletNode(context, "capture-16k", { numberOfInputs: 1, numberOfOutputs: 1 });
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(context.destination);
    node.port.onmessage = (event) => this.frame(event.data.pcm, event.data.level, event.data.peak);
    if (context.state === "suspended") await context.resume();
    const [track] = media.getAudioTracks();
    this.audio = { media, context, node, device: track ? track.label : "", asked: JSON.stringify(constraints) };
    this.recent = [];
    this.shownCheck = "";
    await this.list();
    const used = track && track.getSettings().deviceId;
    const select = this.ui.select;
    if (used && !select.value && [...select.options].some((o) => o.value === used)) select.value = used;
  }

  close() {
    if (!this.audio) return;
    this.audio.node.port.onmessage = null;
    this.audio.media.getTracks().forEach((t) => t.stop());
    this.audio.context.close();
    this.audio = null;
    this.ui.level.value = 0;
    this.testing = null;
    this.showCheck("off", gettext("The microphone is closed. Choose one or press Test microphone to check its level."));
  }

  // Open for the mic check, saying so on the check line if the browser refuses.
  async tryOpen() {
    try {
      await this.open();
    } catch (error) {
      const sentence = gettext("The microphone could not be opened: %(error)s");
      this.showCheck("error", interpolate(sentence, { error: error.message || error }, true));
    }
  }

  frame(pcm, level, peak) {
    this.ui.level.value = Math.min(1, level * 4);
    this.judgeLevel(level, peak);
    if (this.testing && this.testing.frames) this.recordTest(pcm);
    this.onFrame(pcm);
  }

  // --- Mic check: is the input silent, too quiet or clipping? ------------------------------------
  showCheck(kind, text) {
    this.ui.check.dataset.check = kind;
    if (this.ui.check.textContent !== text) this.ui.check.textContent = text;
  }

  judgeLevel(level, peak) {
    this.recent.push({ level, peak });
    if (this.recent.length > CHECK_FRAMES) this.recent.shift();
    if (this.recent.length < CHECK_FRAMES) return;
    const loudest = Math.max(...this.recent.map((f) => f.level));
    const clipped = this.recent.filter((f) => f.peak >= CLIPPING_PEAK).length;
    const device = (this.audio && this.audio.device) || gettext("The microphone");
    let kind = "good";
    let text = said(gettext("%(device)s: level good."), device);
    if (clipped >= 2) {
      kind = "clipping";
      text = said(gettext("%(device)s is clipping: turn its gain down or move it further away."), device);
    } else if (loudest < SILENT_LEVEL) {
      kind = "silent";
      text = said(gettext("No sound from %(device)s: is it muted or switched off?"), device);
    } else if (loudest < QUIET_LEVEL) {
      kind = "quiet";
      text = said(gettext("%(device)s is too quiet: move it closer or turn its gain up."), device);
    }
    if (kind !== this.shownCheck) {
      this.shownCheck = kind;
      this.showCheck(kind, text);
    }
  }

  // --- Mic test: record a few seconds and play them back -----------------------------------------
  startTest() {
    if (!this.audio) return;
    this.testing = { frames: [] };
    this.ui.test.textContent = gettext("Recording… speak now");
    this.onTest();
  }

  // Going live ends a test; a playback under way still finishes.
  endTest() {
    this.testing = null;
    this.ui.test.textContent = TEST_LABEL;
  }

  recordTest(pcm) {
    const test = this.testing;
    test.frames.push(new Int16Array(pcm));
    if (test.frames.length * FRAME_SECONDS < TEST_SECONDS) return;
    this.testing = { frames: null }; // playing back: no more recording
    const samples = test.frames.reduce((n, f) => n + f.length, 0);
    const context = this.audio.context;
    const buffer = context.createBuffer(1, samples, 16000);
    const out = buffer.getChannelData(0);
    let at = 0;
    for (const frame of test.frames) for (const v of frame) out[at++] = v / 0x8000;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    this.ui.test.textContent = gettext("Playing back…");
    source.onended = () => {
      this.testing = null;
      this.ui.test.textContent = TEST_LABEL;
      this.ui.test.dataset.played = (samples / 16000).toFixed(1);
      this.onTest();
    };
    source.start();
  }
}
