// The clerk's call page (/staff/call/{reference}): camera on, connect at once, show whether the
// citizen waits, admit, end, and the connection quality from getStats().

import { QualityMonitor, format, messages, pathOf } from "./call.js";
import {
  pageDevices, pageRemote, showConnectionState, showResult, startCall, wireMediaButtons,
} from "./call-page.js";
import { CallChat } from "./call-tools.js";
import { ClerkDocumentMode, ScreenShare, StillFrame, wireRemoteView } from "./clerk-tools.js";

const root = document.getElementById("call");
const texts = messages();
const $ = (id) => document.getElementById(id);

const waiting = $("waiting-indicator");
const admitButton = $("admit");
const endButton = $("end-call");
const result = $("call-result");
const quality = $("quality");
const qualityDetails = $("quality-details");

class TokenError extends Error {
  constructor(message, final) {
    super(message);
    this.final = final;
  }
}

let lastTokenError = "";

/** A fresh call token for every connect: it is short-lived and bound to this page's session. */
async function token() {
  const response = await fetch(root.dataset.tokenUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({ csrf_token: root.dataset.csrf }),
  });
  if (response.ok) {
    const data = await response.json();
    return data.token;
  }
  let message = "";
  try {
    message = (await response.json()).error.message;
  } catch {
    // not JSON (a proxy error page): retry
  }
  lastTokenError = message;
  // 401/403/404/409 will not change by retrying; 429 and 5xx may.
  throw new TokenError(message, [401, 403, 404, 409].includes(response.status));
}

const devices = pageDevices(texts);
// Chat, document mode, screen sharing and the still frame: attached to every new call.
const tools = [
  new CallChat(texts, texts["chat-citizen"]), new ClerkDocumentMode(texts),
  new ScreenShare(devices, texts), new StillFrame(texts),
];
wireRemoteView(texts);

let client = null;
let monitor = null;
let monitorTimer = 0;

function setWaiting(state) {
  if (waiting.dataset.waiting === state) return;
  waiting.dataset.waiting = state;
  waiting.textContent = texts[`waiting-${state}`] || state;
}

function setState(status) {
  showConnectionState(status, texts);
  if (status === "peer-waiting") {
    // Waiting and not let in (the server sends `start` instead once admitted).
    setWaiting("yes");
    admitButton.hidden = false;
    admitButton.disabled = false;
  } else if (status === "joining" || status === "connected") {
    setWaiting("in-call");
    // Let in: admission holds across reconnects, so the button has done its work.
    admitButton.disabled = true;
    admitButton.hidden = true;
  } else if (status === "peer-left" || status === "ready" || status === "connecting") {
    setWaiting("no");
    admitButton.disabled = true;
  }
}

const remote = pageRemote();

// --- connection quality ------------------------------------------------------------------------

function watchQuality(pc) {
  window.clearInterval(monitorTimer);
  monitor = new QualityMonitor(pc);
  quality.dataset.rating = "";
  quality.textContent = texts["quality-none"];
  qualityDetails.textContent = "";
  monitorTimer = window.setInterval(async () => {
    if (!client || client.pc !== pc) {
      window.clearInterval(monitorTimer);
      return;
    }
    if (pc.connectionState !== "connected") return;
    const sample = await monitor.sample();
    if (!sample || sample.loss == null) return; // the first sample has nothing to compare
    // Only the rating is a live region: it changes rarely, the numbers every few seconds.
    if (quality.dataset.rating !== sample.rating) {
      quality.dataset.rating = sample.rating;
      quality.textContent = texts[`quality-${sample.rating}`];
    }
    const parts = [format(texts["quality-details"], {
      rtt: sample.rtt == null ? "–" : Math.round(sample.rtt * 1000),
      loss: (sample.loss * 100).toFixed(1),
      rate: sample.bitrate == null ? "–" : Math.round(sample.bitrate / 1000),
    })];
    if (sample.path) parts.push(texts[`path-${sample.path}`]);
    qualityDetails.textContent = parts.join(" · ");
  }, 2000);
}

// --- the media connection, for the office's figures ------------------------------------------

// An attempt not connected after this long counts as a failed set-up.
const SETUP_GIVE_UP_MS = 30000;

function reportMedia(fields) {
  fetch(root.dataset.mediaUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf_token: root.dataset.csrf, ...fields }),
  }).catch(() => {}); // a figure, not a function of the call: a lost report changes nothing
}

/** Reports once per peer connection: connected (direct or through the relay, and how long it
 * took) or failed (the browser gave up, or no connection within SETUP_GIVE_UP_MS). */
function watchSetup(pc) {
  const began = Date.now();
  let reported = false;
  const failed = () => {
    if (reported) return;
    reported = true;
    reportMedia({ outcome: "failed" });
  };
  const timer = window.setTimeout(() => {
    if (client && client.pc === pc) failed();
  }, SETUP_GIVE_UP_MS);
  pc.addEventListener("connectionstatechange", async () => {
    if (reported) return;
    if (pc.connectionState === "failed") {
      window.clearTimeout(timer);
      failed();
    } else if (pc.connectionState === "connected") {
      window.clearTimeout(timer);
      reported = true;
      const setup = Date.now() - began;
      let route = "";
      try {
        route = pathOf(await pc.getStats()) || "";
      } catch {
        // no statistics: the connection is still counted
      }
      reportMedia({ outcome: "connected", route, setup_ms: String(setup) });
    }
  });
}

// --- the call ------------------------------------------------------------------------------------

function finished(code) {
  const status = client ? client.status : "left";
  client = null;
  window.clearInterval(monitorTimer);
  remote.hide();
  admitButton.disabled = true;
  endButton.disabled = true;
  setWaiting("no");
  if (status === "ended") {
    admitButton.hidden = true;
    devices.stop();
    $("stage").hidden = true;
    endButton.disabled = true;
    showResult(texts.ended, "success");
    return;
  }
  if (status === "replaced") {
    showResult(texts.replaced, "warning");
    return;
  }
  const opens = Date.parse(root.dataset.opensAt);
  if (code === 4403 && !Number.isNaN(opens) && opens > Date.now()) {
    // Too early: say when, and connect by itself then.
    showResult(format(texts.early, { time: root.dataset.opens }));
    const wait = opens - Date.now() + 1000;
    if (wait < 2 ** 31 - 1) window.setTimeout(connect, wait);
    return;
  }
  showResult(lastTokenError || texts[`refused-${code}`] || texts.refused, "warning");
}

function connect() {
  if (client) return;
  result.hidden = true;
  endButton.disabled = false;
  client = startCall({
    token, devices, remote, texts, onStatus: setState, onClosed: finished,
    extra: {
      pc: (event) => {
        watchQuality(event.detail.pc);
        watchSetup(event.detail.pc);
      },
    },
  });
  for (const tool of tools) tool.attach(client);
}

admitButton.addEventListener("click", () => {
  if (!client) return;
  // The click also lets the browser play the citizen's sound once it arrives. While the
  // connection is down the admit cannot be sent: the button stays for another try.
  if (client.admit()) admitButton.disabled = true;
});
endButton.addEventListener("click", () => {
  if (client) client.end();
});
wireMediaButtons(devices, () => client);

// The camera first (the offer carries its tracks), then the connection.
devices.start().finally(connect);
