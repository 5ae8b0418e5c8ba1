// What the call offers besides the videos (app/templates/call/_call_parts.html, citizen.html):
// the text chat (both pages), the screen-sharing indicator, and the citizen's side of document
// mode (the clerk asks, the citizen's page switches to the rear camera). The clerk's tools are
// in static/js/clerk-tools.js.
//
// Everything here lives in the browser for the call's lifetime: chat lines travel only through
// the signalling connection to the other party (the server relays, never stores or logs them)
// and are dropped when the call ends. Each piece is attached to every new CallClient with `attach(client)`.

import { format } from "./call.js";

const $ = (id) => document.getElementById(id);
// As signaling/extras.py: control characters and bidirectional overrides are removed.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const LIVE = new Set(["joining", "connected"]);

export function cleanChat(text) {
  return String(text || "").replace(CONTROL, "").trim().slice(0, 1000);
}

// --- chat ---------------------------------------------------------------------------------------

export class CallChat {
  /** `texts`: the page's messages; `others`: the label of the other party's lines. */
  constructor(texts, others) {
    this.texts = texts;
    this.others = others;
    this.client = null;
    this.log = $("chat");
    this.input = $("chat-input");
    this.send = $("chat-send");
    this.state = $("chat-state");
    this.toggle = $("chat-toggle");
    this.unread = 0;
    this.visible = true;
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this._submit();
    });
    this.toggle.addEventListener("click", () => this._toggle());
    // Lines that arrive while the log is out of sight (a closed sheet on the phone, scrolled
    // away on the clerk's page) are counted on the chat button until the log is seen.
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        this.visible = entries.some((entry) => entry.isIntersecting);
        if (this.visible && this.unread) {
          this.unread = 0;
          this._label();
        }
      }, { threshold: 0.5 }).observe(this.log);
    }
  }

  _toggle() {
    if (document.body.classList.contains("call-live")) {
      this.setOpen(!this.isOpen());
      return;
    }
    // Wider pages show the chat all the time: the button brings it into view.
    this.log.scrollIntoView({ block: "nearest" });
    this.input.scrollIntoView({ block: "nearest" });
    if (!this.input.disabled) this.input.focus();
    this.unread = 0;
    this._label();
  }

  isOpen() {
    return document.body.classList.contains("chat-open");
  }

  /** Open or close the chat (a sheet over the video on a phone; always shown on wider pages). */
  setOpen(open) {
    document.body.classList.toggle("chat-open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      this.unread = 0;
      this._label();
      if (!this.input.disabled) this.input.focus();
    }
  }

  attach(client) {
    this.client = client;
    client.addEventListener("status", (event) => this._enable(LIVE.has(event.detail.status)));
    client.addEventListener("message", (event) => {
      const message = event.detail;
      if (message.type !== "chat") return;
      this._line(this.others, message.text, "other");
      const phone = document.body.classList.contains("call-live");
      if (phone ? !this.isOpen() : !this.visible) {
        this.unread += 1;
        this._label();
      }
    });
    // Kept only for the call's lifetime: a call that is over takes its chat with it.
    client.addEventListener("closed", () => this.clear());
  }

  clear() {
    this.log.replaceChildren();
    this.unread = 0;
    this._label();
    this._enable(false);
  }

  _label() {
    this.toggle.textContent = this.unread
      ? format(this.texts["chat-unread"], { n: this.unread }) : this.texts.chat;
    if (this.unread) this.toggle.dataset.unread = String(this.unread);
    else delete this.toggle.dataset.unread;
  }

  _enable(on) {
    this.input.disabled = !on;
    this.send.disabled = !on;
    this.state.textContent = on ? "" : this.texts["chat-closed"];
  }

  _submit() {
    const text = cleanChat(this.input.value);
    if (!text || !this.client) return;
    if (!this.client.sendMessage({ type: "chat", text })) {
      this.state.textContent = this.texts["chat-not-sent"];
      return;
    }
    this._line(this.texts["chat-me"], text, "me");
    this.input.value = "";
    this.state.textContent = "";
  }

  _line(who, text, from) {
    const line = document.createElement("p");
    line.className = "chat-line";
    line.dataset.from = from;
    const label = document.createElement("span");
    label.className = "chat-who";
    label.textContent = `${who}: `;
    const body = document.createElement("span");
    body.className = "chat-text";
    body.textContent = text;
    line.append(label, body);
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
  }
}

// --- the screen-sharing indicator (both pages) --------------------------------------------------

export function showSharing(active, texts) {
  const indicator = $("screen-share-indicator");
  if (!indicator) return;
  indicator.dataset.sharing = active ? "yes" : "no";
  indicator.textContent = active ? texts["screen-shared"] : "";
}

// --- the citizen's side of document mode ---------------------------------------------------------

export function firstVideo(stream) {
  return stream ? stream.getVideoTracks()[0] || null : null;
}

function sizeOf(track) {
  const settings = track && track.getSettings ? track.getSettings() : {};
  const side = (value) => (Number.isFinite(value) && value >= 1 ? Math.round(value) : null);
  return { width: side(settings.width), height: side(settings.height) };
}

/** Put `track` into the page's stream in place of its video track (the next peer connection
 * after a reconnect sends it too) and show it in the own picture. */
function swapVideo(devices, track, localVideo) {
  const stream = devices.stream || new MediaStream();
  for (const old of stream.getVideoTracks()) {
    stream.removeTrack(old);
    old.stop();
  }
  stream.addTrack(track);
  track.enabled = !devices.cameraOff;
  devices.stream = stream;
  localVideo.srcObject = stream;
  localVideo.play().catch(() => {});
}

export class CitizenDocumentMode {
  constructor(devices, texts) {
    this.devices = devices;
    this.texts = texts;
    this.client = null;
    this.on = false;
    this.usual = null;
    this.dialog = $("document-mode-dialog");
    this.note = $("document-mode-note-text");
    this.stop = $("document-mode-stop");
    this.localVideo = $("local-video");
    $("document-mode-accept").addEventListener("click", () => {
      this.dialog.close();
      this.switchTo(true);
    });
    $("document-mode-refuse").addEventListener("click", () => {
      this.dialog.close();
      this._reply(true, "refused", null);
    });
    // Escape closes the dialog: that is a "no" too.
    this.dialog.addEventListener("cancel", () => this._reply(true, "refused", null));
    this.stop.addEventListener("click", () => this.switchTo(false));
  }

  attach(client) {
    this.client = client;
    client.addEventListener("message", (event) => {
      const message = event.detail;
      if (message.type !== "document-mode") return;
      if (message.on && !this.on) {
        if (!this.dialog.open) this.dialog.showModal();
        $("document-mode-accept").focus();
      } else if (!message.on && this.on) {
        this.switchTo(false);
      } else {
        // Already as asked (or the question is withdrawn): say how things are.
        if (this.dialog.open) this.dialog.close();
        this._reply(this.on, "accepted", firstVideo(this.devices.stream));
      }
    });
  }

  async switchTo(on) {
    const current = firstVideo(this.devices.stream);
    if (on && current && !this.on) {
      const settings = current.getSettings();
      this.usual = { deviceId: settings.deviceId || "", width: settings.width, height: settings.height };
    }
    const usual = this.usual || {};
    const video = on
      ? { facingMode: { ideal: "environment" }, width: { ideal: 4096 }, height: { ideal: 2160 } }
      : {
        ...(usual.deviceId ? { deviceId: { exact: usual.deviceId } } : { facingMode: "user" }),
        ...(usual.width ? { width: { ideal: usual.width }, height: { ideal: usual.height } } : {}),
      };
    // One camera at a time: many phones cannot open a second one, and a browser that shares
    // the open device between tracks would only offer the running camera's size.
    if (current) current.stop();
    let track = null;
    try {
      track = firstVideo(await navigator.mediaDevices.getUserMedia({ video, audio: false }));
    } catch {
      track = null;
    }
    if (!track) {
      this._reply(on, "failed", null);
      this.devices.start(); // the usual camera again (the call gets it through "change")
      return;
    }
    swapVideo(this.devices, track, this.localVideo);
    this.localVideo.classList.toggle("document-camera", on);
    if (this.client) {
      try {
        await this.client.replaceVideo(track);
        if (!this.client.videoSender()) {
          // Joined without a camera: the call has no video to replace.
          this._reply(on, "failed", null);
          return;
        }
        const sender = this.client.videoSender();
        if (sender && sender.getParameters) {
          // A document must stay sharp: on a slow line lower the frame rate, not the size.
          const parameters = sender.getParameters();
          parameters.degradationPreference = on ? "maintain-resolution" : "balanced";
          await sender.setParameters(parameters).catch(() => {});
        }
      } catch (error) {
        console.warn("switching the camera in the call failed", error);
      }
    }
    this.on = on;
    this.stop.hidden = !on;
    this.note.textContent = on ? this.texts["document-mode-on"] : "";
    this._reply(on, "accepted", track);
  }

  _reply(on, outcome, track) {
    if (!this.client) return;
    const message = { type: "document-mode-reply", on, outcome };
    const { width, height } = sizeOf(track);
    if (width && height) Object.assign(message, { width, height });
    this.client.sendMessage(message);
  }

  /** A new call (after a reconnect) starts with whatever camera the page has now. */
  reset() {
    if (this.dialog.open) this.dialog.close();
  }
}
