// The guest's call page (/g/{token}): an interpreter the clerk invited. Device check, the
// waiting room until the clerk lets them in, then one peer connection with the clerk and one
// with the citizen (call-mesh.js). The hello token comes from POST /g/{token}/token, which
// binds the link to this browser on first use.

import { messages } from "./call.js";
import { activeClient } from "./call-mesh.js";
import {
  pageDevices, showConnectionState, showResult, startCall, wireMediaButtons,
} from "./call-page.js";

const root = document.getElementById("call");
const texts = messages();
const $ = (id) => document.getElementById(id);

const joinButton = $("join");
const leaveButton = $("leave");
const waitingRoom = $("waiting-room");
const result = $("call-result");
const devices = pageDevices(texts);

class TokenError extends Error {
  constructor(message, final) {
    super(message);
    this.final = final;
  }
}

let lastTokenError = "";

async function token() {
  const response = await fetch(`${window.location.pathname.replace(/\/$/, "")}/token`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({ csrf_token: root.dataset.csrf }),
  });
  if (response.ok) return (await response.json()).token;
  let message = "";
  try {
    message = (await response.json()).error.message;
  } catch {
    // not JSON: retry
  }
  lastTokenError = message;
  throw new TokenError(message, [401, 403, 404, 409, 410].includes(response.status));
}

let client = null;
const connected = new Set();

function setState(status) {
  if (connected.size && (status === "waiting" || status === "ready")) status = "in-call";
  showConnectionState(status, texts);
  waitingRoom.hidden = status !== "waiting";
}

function finished(code) {
  const status = client ? client.status : "left";
  client = null;
  connected.clear();
  waitingRoom.hidden = true;
  leaveButton.hidden = true;
  if (status === "ended") {
    devices.stop();
    $("stage").hidden = true;
    joinButton.hidden = true;
    showResult(texts.ended, "success");
  } else if (status === "left" || status === "replaced") {
    showResult(texts[status], status === "left" ? "info" : "warning");
    joinButton.textContent = texts["join-again"];
    joinButton.hidden = false;
    joinButton.disabled = false;
  } else {
    joinButton.hidden = true;
    showResult(lastTokenError || texts[`refused-${code}`] || texts.refused, "warning");
  }
}

async function join() {
  if (client) return;
  joinButton.disabled = true;
  result.hidden = true;
  $("local-video").play().catch(() => {});
  if (!devices.stream) await devices.start();
  joinButton.hidden = true;
  leaveButton.hidden = false;
  client = startCall({
    token, devices, texts, onStatus: setState, onClosed: finished,
    remote: { show() {}, hide() {} }, // the guest has no two-party call: every video is a pair's
    extra: {
      mesh: (event) => {
        const { role, state } = event.detail;
        if (state === "left") connected.delete(role);
        else connected.add(role);
        setState(activeClient() ? activeClient().status : "idle");
      },
    },
  });
}

joinButton.addEventListener("click", join);
leaveButton.addEventListener("click", () => {
  if (client) client.leave();
});
wireMediaButtons(devices, () => client);
if (root.dataset.phase === "early") {
  const opens = Date.parse(root.dataset.opensAt);
  const wait = opens - Date.now();
  if (!Number.isNaN(opens) && wait > 0 && wait < 2 ** 31 - 1) {
    window.setTimeout(() => window.location.reload(), wait + 1000);
  }
}
devices.start();
