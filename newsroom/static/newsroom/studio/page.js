// The studio page: microphone → AudioWorklet (16 kHz linear16) → studio socket, and what comes back.
// Protocol: docs/studio-protocol.md. Everything from the server is shown with textContent only.
import { Backlog, Microphone, storedNoisyRoom, storeNoisyRoom } from "./capture.js";
import { Drafts, Recap, clock, send } from "./drafts.js";
import { followStreams } from "./follow.js";
import { sendPictures } from "./picture.js";
import { StudioStream } from "./socket.js";
import { Transcript } from "./transcript.js";
import { fill, seconds } from "./words.js";

const { gettext, ngettext } = globalThis; // Django's JavaScript catalog, loaded before this module

const root = document.getElementById("studio");
const $ = (id) => document.getElementById(id);
const ui = {
  mic: $("mic"), goLive: $("go-live"), pause: $("pause"), stop: $("stop"), state: $("state"),
  elapsed: $("elapsed"), provider: $("provider"), level: $("level"), dropped: $("dropped"), storage: $("storage"),
  countdown: $("countdown"), message: $("message"), transcript: $("transcript"), interim: $("interim"),
  drafts: $("drafts"), noisyRoom: $("noisy-room"), micTest: $("mic-test"), micCheck: $("mic-check"),
  pauseLabel: $("pause-label"), resumeSession: $("resume-session"), countdownBox: $("countdown-box"),
  draftsEmpty: $("drafts-empty"), recap: $("recap"),
  postQuote: $("post-quote"), quoteStatus: $("quote-status"), postForm: $("post-form"), postBody: $("post-body"),
  postSend: $("post-send"), postStatus: $("post-status"),
};
// The page's translated words for quotes and posts (newsroom.views.studio_words).
const words = JSON.parse(document.getElementById("studio-words")?.textContent || "{}");
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const STATE_WORDS = {
  idle: gettext("not live"), connecting: gettext("connecting"), live: gettext("live"),
  reconnecting: gettext("reconnecting"), paused: gettext("paused"), stopping: gettext("stopping"),
  stopped: gettext("stopped"), ended: gettext("event ended"),
};
const providerLabel = (provider) => (provider === "deepgram" ? "Deepgram" : gettext("Offline recognizer"));

let nextBatchAt = null;
let wakeLock = null;

const backlog = new Backlog(Number(root.dataset.bufferSeconds || 60));
const mic = new Microphone(
  { select: ui.mic, noisyRoom: ui.noisyRoom, level: ui.level, check: ui.micCheck, test: ui.micTest },
  root.dataset.worklet,
  { onFrame: (pcm) => { if (stream.queue(pcm)) showDropped(); }, onTest: controls },
);
const drafts = new Drafts(ui.drafts, ui.draftsEmpty, root.dataset.draftsUrl, words);
const recap = new Recap(ui.recap, root.dataset.recapUrl);
const transcript = new Transcript(
  ui.transcript, ui.interim, (speaker, name) => stream.nameSpeaker(speaker, name), showChoice,
);
let quoting = false;
const stream = new StudioStream({
  key: `liveblog.studio.${root.dataset.event}`, // this tab's stream, to resume after a reload
  path: root.dataset.socketPath,
  backlog,
  scheduled: () => root.dataset.eventStatus === "scheduled",
  state: setState,
  finished,
  messages: {
    ready(message) {
      if (root.dataset.eventStatus === "scheduled") root.dataset.eventStatus = "live";
      ui.provider.textContent = providerLabel(message.provider);
      setState("live");
      say("");
      stream.save();
    },
    transcript(message) {
      transcript.show(message);
      if (message.is_final) stream.save();
    },
    status(message) {
      if (message.upstream === "reconnecting") setState("reconnecting");
      else if (message.upstream === "live" && stream.ready) setState("live");
      if (message.provider) ui.provider.textContent = providerLabel(message.provider);
      ui.dropped.textContent = seconds(Math.max(backlog.droppedSeconds, message.dropped_seconds || 0));
      if (message.storage) showStorage(message.storage, message.waiting || 0);
    },
    batch(message) {
      nextBatchAt = message.next_batch_at ? new Date(message.next_batch_at) : null;
      // The interval an editor sets from the draft queue shows here within the studio's poll.
      const every = $("batch-interval");
      if (every && message.interval) every.textContent = `(${fill(every.dataset.every, { seconds: message.interval })})`;
      tick();
    },
    draft: (message) => drafts.show(message.post),
    speaker_named: (message) => transcript.named(message),
    speaker_not_named: (message) => say(message.message),
    error: (message) => say(message.message),
    event_ended: (message) => eventEnded(message.message),
  },
});

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
  ui.storage.textContent = storage === "delayed"
    ? fill(ngettext("saving delayed (%(count)s waiting)", "saving delayed (%(count)s waiting)", waiting), { count: waiting })
    : gettext("all saved");
}

function showDropped() {
  ui.dropped.textContent = seconds(backlog.droppedSeconds);
}

function say(text) {
  ui.message.textContent = text;
  ui.message.hidden = !text;
}

function controls() {
  // The recognizer does not understand the event's language (the page says why): nothing to stream.
  const refused = root.dataset.languageRefused === "1";
  ui.goLive.disabled = stream.wanted || root.dataset.eventStatus === "ended" || refused;
  ui.pause.disabled = !stream.wanted;
  ui.stop.disabled = !stream.wanted;
  ui.mic.disabled = stream.wanted;
  ui.noisyRoom.disabled = stream.wanted;
  ui.micTest.disabled = stream.wanted || Boolean(mic.testing);
  ui.resumeSession.hidden = stream.wanted || !stream.saved() || root.dataset.eventStatus === "ended" || refused;
  ui.pauseLabel.textContent = stream.paused ? gettext("Resume") : gettext("Pause");
}

// --- Staying live: the screen stays on while live -------------------------------------------------
async function holdWakeLock() {
  if (!navigator.wakeLock || (wakeLock && !wakeLock.released)) return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    wakeLock = null; // refused (battery saver, hidden tab): taken again when visible
  }
}

function releaseWakeLock() {
  const lock = wakeLock;
  wakeLock = null;
  if (lock && !lock.released) lock.release().catch(() => {});
}

function finished(lastSession) {
  mic.close();
  releaseWakeLock();
  setState(root.dataset.eventStatus === "ended" ? "ended" : "stopped");
  controls();
  if (lastSession) recap.follow(lastSession, drafts, () => !stream.wanted);
}

// The event ended (here, or before this page loaded): the stream has stopped and cannot go live again.
function eventEnded(text) {
  root.dataset.eventStatus = "ended";
  stream.forget();
  setState("ended");
  controls();
  say(text);
}

// --- Quotes and the journalist's own posts ---------------------------------------------------------
function quoteSays(text) {
  if (ui.quoteStatus.textContent !== text) ui.quoteStatus.textContent = text; // unchanged: not announced again
}

function showChoice(choice) {
  ui.postQuote.disabled = quoting || !choice || Boolean(choice.problem);
  if (quoting) return;
  if (!choice) quoteSays(words.choose || "");
  else if (choice.problem) quoteSays(words[choice.problem] || "");
  else {
    const text = choice.text.length > 140 ? `${choice.text.slice(0, 139)}…` : choice.text;
    quoteSays(fill(words.chosen || "", { speaker: choice.speakerName, lines: choice.lines, words: text }));
  }
}

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

async function postQuote() {
  const choice = transcript.choice;
  if (quoting || !choice || choice.problem) return;
  quoting = true;
  ui.postQuote.disabled = true;
  quoteSays(words.sending_quote || "");
  const data = new FormData();
  data.append("csrfmiddlewaretoken", csrfToken());
  for (const segment of choice.segments) data.append("segment", segment);
  data.append("first_word", choice.firstWord);
  data.append("last_word", choice.lastWord);
  let said;
  try {
    const { ok, status, answer } = await send(root.dataset.quoteUrl, data);
    if (ok) {
      drafts.show(answer.post);
      transcript.clear();
    }
    said = ok ? answer.message : answer.error || fill(words.refused || "", { status });
  } catch {
    said = words.not_sent || "";
  }
  quoting = false;
  showChoice(transcript.choice);
  quoteSays(said);
}

async function postOwn(event) {
  event.preventDefault();
  if (!ui.postBody.value.trim()) {
    ui.postBody.focus();
    return;
  }
  ui.postSend.disabled = true;
  ui.postStatus.textContent = words.sending_post || "";
  try {
    const { ok, status, answer } = await send(ui.postForm.action, new FormData(ui.postForm));
    if (ok) {
      ui.postForm.reset();
      drafts.show(answer.post);
    }
    ui.postStatus.textContent = ok ? answer.message : answer.error || fill(words.refused || "", { status });
  } catch {
    ui.postStatus.textContent = words.not_sent || "";
  } finally {
    ui.postSend.disabled = false;
  }
}

// --- Controls -------------------------------------------------------------------------------------
// A new stream (saved = null) or the one this tab was streaming before a reload.
async function goLive(saved) {
  say("");
  stream.begin(saved);
  showDropped();
  ui.recap.hidden = true;
  controls();
  // Space on the focused Pause button pauses, as everywhere else on the page.
  if (document.activeElement === ui.goLive || document.activeElement === ui.resumeSession) ui.pause.focus();
  setState("connecting");
  try {
    // The mic check's capture goes on into the stream unless the choices changed since it opened.
    if (!mic.isOpenAsChosen()) await mic.open();
    mic.endTest();
  } catch (error) {
    say(fill(gettext("The microphone could not be opened: %(error)s"), { error: error.message || error }));
    stream.wanted = false;
    setState("idle");
    controls();
    return;
  }
  stream.startedAt = saved ? saved.startedAt : Date.now();
  stream.connect();
  drafts.refresh();
}

function togglePause() {
  if (!stream.wanted || stream.stopping) return;
  stream.setPaused(!stream.paused);
  if (stream.ready) setState(stream.paused ? "paused" : "live");
  stream.save();
  controls();
}

async function checkMicrophone() {
  if (!stream.wanted) await mic.tryOpen();
}

async function testMicrophone() {
  if (stream.wanted || mic.testing) return;
  if (!mic.audio) await checkMicrophone();
  mic.startTest();
}

function tick() {
  if (stream.wanted) ui.elapsed.textContent = clock((Date.now() - stream.startedAt) / 1000);
  if (stream.wanted && stream.ready) stream.save();
  if (!nextBatchAt) ui.countdown.textContent = gettext("with the first transcript");
  else {
    const left = (nextBatchAt - Date.now()) / 1000;
    ui.countdown.textContent = left > 0 ? fill(gettext("in %(time)s"), { time: clock(left) }) : gettext("due now");
  }
}

ui.goLive.addEventListener("click", () => {
  if (!littleEndian) {
    say(gettext("This device is big-endian; the studio cannot send its audio."));
    return;
  }
  if (root.dataset.eventStatus === "scheduled" && !window.confirm(root.dataset.goLiveQuestion)) return;
  stream.forget();
  goLive(null);
});
ui.resumeSession.addEventListener("click", () => {
  const saved = stream.saved();
  if (saved && littleEndian && !stream.wanted) goLive(saved);
});
ui.pause.addEventListener("click", togglePause);
ui.postQuote.addEventListener("mousedown", (event) => event.preventDefault()); // the words stay selected
ui.postQuote.addEventListener("click", postQuote);
ui.postForm.addEventListener("submit", postOwn);
// Q posts the chosen quote, unless focus is where Q is typed.
document.addEventListener("keydown", (event) => {
  if (event.key.toLowerCase() !== "q" || event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.target.closest && event.target.closest("input, select, textarea, [contenteditable]")) return;
  if (!transcript.choice) return;
  event.preventDefault();
  postQuote();
});
// Space pauses and resumes, unless focus is somewhere Space already means something.
document.addEventListener("keydown", (event) => {
  if (event.code !== "Space" || event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.target.closest && event.target.closest("input, select, textarea, button, a, [contenteditable], audio, video")) return;
  if (!stream.wanted) return;
  event.preventDefault();
  togglePause();
});
ui.stop.addEventListener("click", () => {
  mic.close();
  ui.stop.disabled = true;
  setState("stopping");
  stream.stop();
});
ui.mic.addEventListener("focus", () => mic.list());
ui.mic.addEventListener("change", () => {
  mic.choose();
  checkMicrophone();
});
ui.micTest.addEventListener("click", testMicrophone);
ui.noisyRoom.checked = storedNoisyRoom();
ui.noisyRoom.addEventListener("change", () => storeNoisyRoom(ui.noisyRoom.checked));
document.addEventListener("visibilitychange", () => {
  // The browser drops the lock whenever the tab is hidden.
  if (document.visibilityState === "visible" && stream.wanted) holdWakeLock();
});
window.addEventListener("beforeunload", (event) => {
  if (!stream.wanted) return;
  stream.save();
  event.preventDefault();
  event.returnValue = ""; // older Chromium asks only with returnValue set
});
setInterval(tick, 1000);

const interrupted = root.dataset.eventStatus === "ended" ? null : stream.saved();
if (root.dataset.eventStatus === "ended") eventEnded(root.dataset.endedMessage);
if (interrupted) {
  ui.resumeSession.textContent = fill(gettext("Resume stream (session %(session)s)"), { session: interrupted.session });
  say(fill(
    gettext("This tab was streaming session %(session)s when it was reloaded. Resume stream goes on with it; Go live starts a new one."),
    { session: interrupted.session },
  ));
}
mic.list();
drafts.refresh();
controls();
const pictureForm = $("picture-form");
if (pictureForm) sendPictures(pictureForm);
const follow = followStreams({ transcript, drafts, setState });
setInterval(() => { if (stream.wanted || follow?.active || drafts.waiting()) drafts.refresh(); }, 10000);
