// What both call pages do alike (citizen-call.js, clerk-call.js): the own camera and microphone
// with the "try again" button, the notice with the call's result, the buttons for microphone,
// camera and the other side's sound, and the call itself. The elements are the ones of
// app/templates/call/_call_parts.html.

import { CallClient, format, remoteView } from "./call.js";
import { attachMesh } from "./call-mesh.js";
import { DeviceCheck } from "./device-check.js";

const $ = (id) => document.getElementById(id);

/** The device check of the page's own camera (#local-video) and microphone. */
export function pageDevices(texts) {
  const localVideo = $("local-video");
  const retryMedia = $("retry-media");
  // Muted by attribute *and* property: Safari needs the property for inline autoplay.
  localVideo.muted = true;
  const devices = new DeviceCheck({
    video: localVideo,
    cameraSelect: $("camera"),
    micSelect: $("microphone"),
    meter: $("mic-level"),
    message: $("media-problem"),
    texts,
  });
  devices.addEventListener("problems", (event) => {
    // "Try again" helps when the camera was busy or something odd happened, not for a refusal.
    retryMedia.hidden = !event.detail.problems.some((p) => p.endsWith("in-use") || p.endsWith("other"));
  });
  retryMedia.addEventListener("click", () => devices.start());
  return devices;
}

/** Shows `text` in the call's result notice (#call-result); kind: info | success | warning. */
export function showResult(text, kind = "info") {
  const result = $("call-result");
  result.className = `notice notice-${kind}`;
  result.replaceChildren();
  const p = document.createElement("p");
  p.textContent = text;
  result.append(p);
  result.hidden = false;
}

/**
 * Shows the server's notices in #call-notice: the connection to the office's server is
 * interrupted (hidden again once restored), or when the video room closes.
 */
export function showNotice(detail, texts) {
  const notice = $("call-notice");
  if (!notice) return;
  if (detail.kind === "restored") {
    notice.hidden = true;
    notice.textContent = "";
    return;
  }
  if (detail.kind === "interrupted") {
    notice.textContent = texts["notice-interrupted"] || "";
  } else if (detail.kind === "window-closing") {
    const lang = document.documentElement.lang || undefined;
    const time = detail.closesAt.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    notice.textContent = format(texts["notice-window-closing"], { time });
  }
  notice.dataset.kind = detail.kind;
  notice.hidden = !notice.textContent;
}

/** Names the connection's state (a CallClient status) in #connection-state. */
export function showConnectionState(status, texts) {
  const stateText = $("connection-state");
  stateText.dataset.state = status;
  stateText.textContent = texts[`state-${status}`] || status;
}

function toggle(button, apply) {
  const pressed = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(pressed));
  apply(pressed);
}

/**
 * Wires the buttons for microphone, camera and the other side's sound. `currentClient()` is the
 * running CallClient or null: a camera or microphone chosen during the call goes to it.
 */
export function wireMediaButtons(devices, currentClient) {
  const muteButton = $("mute");
  const cameraButton = $("camera-off");
  const unmuteRemote = $("unmute-remote");
  const remoteVideo = $("remote-video");
  muteButton.addEventListener("click", () => toggle(muteButton, (on) => devices.setMicMuted(on)));
  cameraButton.addEventListener("click", () => toggle(cameraButton, (on) => devices.setCameraOff(on)));
  unmuteRemote.addEventListener("click", () => {
    remoteVideo.muted = false;
    remoteVideo.play().catch(() => {});
    unmuteRemote.hidden = true;
  });
  devices.addEventListener("change", (event) => {
    const client = currentClient();
    if (client) client.replaceTracks(event.detail.stream);
  });
}

/** The other side's video tile (#remote-video), shown while its stream is there. */
export function pageRemote() {
  return remoteView($("remote-video"), $("unmute-remote"));
}

/**
 * Starts a call with the page's camera and microphone. `token()` resolves to the token for the
 * signalling `hello`; onStatus(status) and onClosed(code) are the page's; `remote` shows and
 * hides the other side's video. Returns the CallClient; `extra` adds listeners by event name.
 */
export function startCall({ token, devices, remote, onStatus, onClosed, texts, extra = {} }) {
  const client = new CallClient({ token, localStream: () => devices.stream });
  attachMesh(client, () => devices.stream); // a third participant, if one joins
  client.addEventListener("status", (event) => onStatus(event.detail.status));
  client.addEventListener("notice", (event) => showNotice(event.detail, texts));
  client.addEventListener("remote-stream", (event) => remote.show(event.detail.stream));
  client.addEventListener("remote-gone", remote.hide);
  for (const [name, listener] of Object.entries(extra)) client.addEventListener(name, listener);
  client.addEventListener("closed", (event) => onClosed(event.detail.code));
  client.start();
  return client;
}
