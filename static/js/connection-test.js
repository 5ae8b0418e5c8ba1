// The connection test on the appointment page (/t/{token}): the camera goes to a test peer on
// our server (calls/echo.py) and comes straight back. The result says whether a connection was
// made, directly or through the relay (TURN) server, and how long it took. The microphone is
// tested too: its level is shown (#test-mic-level) and the server counts the audio frames that
// arrive (never played back); #connection-test-audio says whether sound was heard and arrived
// (data-state: ok | no-level | not-sent | none).
//
// API (app/api/connection_test.py), authorised with the link token as a bearer token:
//   GET /api/v1/me/ice-servers · POST /api/v1/me/connection-test {type, sdp} → {id, sdp, ...}
//   GET /api/v1/me/connection-test/{id} → report · DELETE /api/v1/me/connection-test/{id}

import { format, mediaErrorKind, messages, pathOf, playVideo } from "./call.js";
import { site, sitePath } from "./site.js";

const GATHER_TIMEOUT_MS = 8000; // send what we have; host candidates come in milliseconds
const CONNECT_TIMEOUT_MS = 25000;
const SHOW_ECHO_MS = 20000; // the server peer closes itself after 60 s anyway

const $ = (id) => document.getElementById(id);
const startButton = $("connection-test-start");
const stopButton = $("connection-test-stop");
const stage = $("connection-test-stage");
const localVideo = $("test-local-video");
const echoVideo = $("test-echo-video");
const status = $("connection-test-status");
const audioStatus = $("connection-test-audio");
const micField = $("test-mic-field");
const micMeter = $("test-mic-level");
const texts = messages("connection-test-messages");
const lang = document.documentElement.lang || "de";

localVideo.muted = true;
echoVideo.muted = true;

// /t/{token}: the link token, sent only in the Authorization header.
const token = decodeURIComponent(sitePath().split("/")[2] || "");

let run = null;

function say(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

async function api(method, path, body) {
  const response = await fetch(site(`/api/v1/me/${path}?lang=${encodeURIComponent(lang)}`), {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    credentials: "omit",
  });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // no JSON body
  }
  if (!response.ok) {
    const error = new Error((data && data.error && data.error.message) || texts.error);
    error.userMessage = data && data.error && data.error.message;
    throw error;
  }
  return data;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    window.setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

function connected(pc) {
  return new Promise((resolve) => {
    const check = () => {
      const state = pc.connectionState || pc.iceConnectionState;
      if (state === "connected" || state === "completed") resolve(true);
      else if (state === "failed" || state === "closed") resolve(false);
    };
    pc.addEventListener("connectionstatechange", check);
    pc.addEventListener("iceconnectionstatechange", check);
    window.setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    check();
  });
}

function seconds(ms) {
  // Never "0.0": a connection on a fast network takes a few hundredths of a second.
  return new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 })
    .format(Math.max(0.1, ms / 1000));
}

async function serverReport(id) {
  // The server's view is the better one (it saw the whole path); ask a few times.
  for (let i = 0; i < 10; i += 1) {
    try {
      const report = await api("GET", `connection-test/${encodeURIComponent(id)}`);
      if (report && (report.connected || report.state === "failed")) return report;
    } catch {
      return null;
    }
    await new Promise((resolve) => window.setTimeout(resolve, 300));
  }
  return null;
}

// --- sound ------------------------------------------------------------------------------------

/** The microphone's level in #test-mic-level; remembers the loudest moment. */
function listen(stream) {
  const level = { peak: 0, context: null, timer: 0 };
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context || stream.getAudioTracks().length === 0) return level;
  try {
    level.context = new Context();
  } catch {
    return level;
  }
  const analyser = level.context.createAnalyser();
  analyser.fftSize = 512;
  level.context.createMediaStreamSource(stream).connect(analyser);
  level.context.resume().catch(() => {});
  const samples = new Uint8Array(analyser.fftSize);
  micField.hidden = false;
  level.timer = window.setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const value of samples) peak = Math.max(peak, Math.abs(value - 128));
    const value = Math.min(1, peak / 64);
    micMeter.value = value;
    level.peak = Math.max(level.peak, value);
  }, 150);
  return level;
}

function sayAudio(state) {
  audioStatus.textContent = texts[`audio-${state}`] || "";
  audioStatus.dataset.state = state;
  audioStatus.hidden = false;
}

/** After the connection: did the microphone give a level, and did sound reach the server? */
async function checkAudio(current) {
  if (!current.stream || current.stream.getAudioTracks().length === 0) {
    sayAudio("none");
    return;
  }
  let arrived = 0;
  for (let i = 0; i < 15 && run === current; i += 1) {
    try {
      const report = await api("GET", `connection-test/${encodeURIComponent(current.id)}`);
      arrived = (report && report.audio_frames) || 0;
    } catch {
      break;
    }
    if (arrived > 0 && current.level.peak > 0.01) break;
    await new Promise((resolve) => window.setTimeout(resolve, 300));
  }
  if (run !== current) return;
  if (arrived === 0) sayAudio("not-sent");
  else if (current.level.peak <= 0.01) sayAudio("no-level");
  else sayAudio("ok");
}

async function start() {
  if (run) return;
  const current = { pc: null, stream: null, id: null, timer: 0, level: null };
  run = current;
  startButton.hidden = true;
  stopButton.hidden = false;
  say(texts.camera, "camera");
  audioStatus.hidden = true;
  try {
    if (!navigator.mediaDevices || !window.RTCPeerConnection) {
      throw Object.assign(new Error("unsupported"), { problem: window.isSecureContext ? "unsupported" : "insecure" });
    }
    try {
      current.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch {
      // Without a microphone the picture can still be tested: try the camera alone.
      try {
        current.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      } catch (error) {
        const kind = mediaErrorKind(error);
        const problem = { "not-found": "camera-not-found", "in-use": "camera-in-use" }[kind] || kind;
        throw Object.assign(new Error(problem), { problem });
      }
    }
    if (run !== current) return;
    current.level = listen(current.stream);
    stage.hidden = false;
    localVideo.srcObject = current.stream;
    playVideo(localVideo);
    say(texts.connecting, "connecting");

    const { ice_servers: iceServers } = await api("GET", "ice-servers");
    const pc = new RTCPeerConnection({ iceServers });
    current.pc = pc;
    current.stream.getTracks().forEach((track) => pc.addTrack(track, current.stream));
    pc.addEventListener("track", (event) => {
      echoVideo.srcObject = event.streams[0] || new MediaStream([event.track]);
      playVideo(echoVideo);
    });
    await pc.setLocalDescription(await pc.createOffer());
    // The test peer does not trickle: the offer must carry our candidates.
    await gathered(pc);
    if (run !== current) return;
    const began = performance.now();
    const answer = await api("POST", "connection-test", { type: "offer", sdp: pc.localDescription.sdp });
    current.id = answer.id;
    if (run !== current) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    const ok = await connected(pc);
    if (run !== current) return;
    if (!ok) {
      say(texts.failed, "failed");
      stop(false);
      return;
    }
    // The time the citizen waited: from sending the offer until the media path was up.
    const tookMs = performance.now() - began;
    const report = await serverReport(current.id);
    let route = report && report.route;
    if (!route) route = pathOf(await pc.getStats()) || "direct";
    say(format(texts[route] || texts.direct, { seconds: seconds(tookMs) }), `connected-${route}`);
    current.timer = window.setTimeout(() => stop(true), SHOW_ECHO_MS);
    await checkAudio(current);
  } catch (error) {
    if (run !== current) return;
    say(error.problem ? texts[error.problem] || texts.other : error.userMessage || texts.error, "error");
    stop(false);
  }
}

function stop(sayStopped) {
  const current = run;
  run = null;
  if (!current) return;
  window.clearTimeout(current.timer);
  if (current.id) api("DELETE", `connection-test/${encodeURIComponent(current.id)}`).catch(() => {});
  if (current.pc) current.pc.close();
  if (current.stream) current.stream.getTracks().forEach((track) => track.stop());
  if (current.level) {
    window.clearInterval(current.level.timer);
    if (current.level.context) current.level.context.close().catch(() => {});
  }
  micField.hidden = true;
  localVideo.srcObject = null;
  echoVideo.srcObject = null;
  stage.hidden = true;
  stopButton.hidden = true;
  startButton.hidden = false;
  if (sayStopped) {
    // Keep the result visible and add that the test is over.
    status.textContent = `${status.textContent} ${texts.stopped}`;
  }
}

if (startButton) {
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => stop(true));
}
