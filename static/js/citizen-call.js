// The citizen's call page (/t/{token}/call): device check, waiting room, the call.
// The link token is the page's own path segment; it leaves the page only inside the
// WebSocket's `hello` message, never in a URL.

import { messages } from "./call.js";
import {
  pageDevices, pageRemote, showConnectionState, showResult, startCall, wireMediaButtons,
} from "./call-page.js";
import { CallChat, CitizenDocumentMode, showSharing } from "./call-tools.js";
import { sitePath } from "./site.js";

const root = document.getElementById("call");
const texts = messages();
const $ = (id) => document.getElementById(id);

const phase = root.dataset.phase;
const reference = root.dataset.reference;
// Survives a reload (not a new tab): after a reload mid-call the page joins again by itself.
const JOINED_KEY = `call-joined:${reference}`;

const localVideo = $("local-video");
const joinButton = $("join");
const leaveButton = $("leave");
const muteButton = $("mute");
const cameraButton = $("camera-off");
const waitingRoom = $("waiting-room");
const result = $("call-result");

const devices = pageDevices(texts);

function remember(joined) {
  try {
    if (joined) sessionStorage.setItem(JOINED_KEY, "1");
    else sessionStorage.removeItem(JOINED_KEY);
  } catch {
    // private mode: no resume after a reload, nothing else changes
  }
}

function rememberedJoin() {
  try {
    return sessionStorage.getItem(JOINED_KEY) === "1";
  } catch {
    return false;
  }
}

// --- before the window opens: reload when it does ---------------------------------------------

if (phase === "early") {
  const opens = Date.parse(root.dataset.opensAt);
  const wait = opens - Date.now();
  // setTimeout cannot wait longer than ~24 days; nobody keeps the page open that long.
  if (!Number.isNaN(opens) && wait > 0 && wait < 2 ** 31 - 1) {
    window.setTimeout(() => window.location.reload(), wait + 1000);
  }
  devices.start();
}

// --- the call ------------------------------------------------------------------------------------

let client = null;

function token() {
  // /t/{token}/call
  const parts = sitePath().split("/");
  return Promise.resolve(decodeURIComponent(parts[2] || ""));
}

// During the call a phone shows the other side full screen (static/css/call.css, .call-live).
const LIVE = new Set(["joining", "connected", "reconnecting", "peer-left"]);

function setState(status) {
  showConnectionState(status, texts);
  waitingRoom.hidden = status !== "waiting";
  document.body.classList.toggle("call-live", LIVE.has(status));
}

const remote = pageRemote();

function showJoin(label) {
  joinButton.textContent = label;
  joinButton.hidden = false;
  joinButton.disabled = false;
  leaveButton.hidden = true;
}

async function join() {
  if (client) return;
  joinButton.disabled = true;
  result.hidden = true;
  // The click is the user gesture that lets the browser play the other side with sound.
  localVideo.play().catch(() => {});
  if (!devices.stream) await devices.start();
  remember(true);
  joinButton.hidden = true;
  leaveButton.hidden = false;
  client = startCall({ token, devices, remote, texts, onStatus: setState, onClosed: finished });
  chat.attach(client);
  documentMode.attach(client);
  client.addEventListener("message", (event) => {
    if (event.detail.type === "screen-share") showSharing(event.detail.active, texts);
  });
  client.addEventListener("remote-gone", () => showSharing(false, texts));
}

function finished(code) {
  const status = client ? client.status : "left";
  client = null;
  remote.hide();
  waitingRoom.hidden = true;
  document.body.classList.remove("call-live", "chat-open");
  showSharing(false, texts);
  if (status === "ended") {
    remember(false);
    devices.stop();
    // Nothing left to see or set: only the message and the way back remain.
    $("stage").hidden = true;
    document.querySelector(".call-side").hidden = true;
    $("chat-panel").hidden = true;
    joinButton.hidden = true;
    leaveButton.hidden = true;
    muteButton.hidden = true;
    cameraButton.hidden = true;
    showResult(texts.ended, "success");
  } else if (status === "left") {
    remember(false);
    showResult(texts.left);
    showJoin(texts["join-again"]);
  } else if (status === "replaced") {
    remember(false);
    showResult(texts.replaced, "warning");
    showJoin(texts["join-again"]);
  } else {
    remember(false);
    showResult(texts[`refused-${code}`] || texts.refused, "warning");
    leaveButton.hidden = true;
    joinButton.hidden = true;
  }
}

const chat = phase === "open" ? new CallChat(texts, texts["chat-clerk"]) : null;
const documentMode = phase === "open" ? new CitizenDocumentMode(devices, texts) : null;

if (phase === "open") {
  joinButton.addEventListener("click", join);
  leaveButton.addEventListener("click", () => {
    if (client) client.leave();
  });
  wireMediaButtons(devices, () => client);
  setState("idle");
  if (rememberedJoin()) {
    join(); // a reload in the middle of the call: carry on
  } else {
    devices.start();
  }
}
