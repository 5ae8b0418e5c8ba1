// The clerk's tools in the call (app/templates/call/clerk.html): asking for the citizen's rear
// camera (document mode), sharing the screen, a still frame of the citizen's video, zoom and
// full screen. Like static/js/call-tools.js, each is attached to every new CallClient.
//
// The still frame is drawn into a <canvas> and never leaves this page: no toDataURL, no upload;
// it is emptied when the clerk discards it or the call ends.

import { format } from "./call.js";
import { firstVideo, showSharing } from "./call-tools.js";

const $ = (id) => document.getElementById(id);
const LIVE = new Set(["joining", "connected"]);

// --- the clerk's tools -------------------------------------------------------------------------

export class ClerkDocumentMode {
  constructor(texts) {
    this.texts = texts;
    this.client = null;
    this.button = $("document-mode");
    this.text = $("document-mode-text");
    this.output = $("document-resolution");
    this.button.addEventListener("click", () => this._ask());
  }

  attach(client) {
    this.client = client;
    client.addEventListener("status", (event) => {
      const live = LIVE.has(event.detail.status);
      this.button.disabled = !live || this.button.dataset.asking === "true";
    });
    client.addEventListener("pc", () => this._set(false, ""));
    client.addEventListener("message", (event) => {
      if (event.detail.type === "document-mode-reply") this._reply(event.detail);
    });
  }

  _ask() {
    if (!this.client) return;
    const on = this.button.dataset.on !== "true";
    if (!this.client.sendMessage({ type: "document-mode", on })) return;
    this.button.dataset.asking = "true";
    this.button.disabled = true;
    this.text.textContent = on ? this.texts["document-mode-asked"] : this.texts["document-mode-back"];
  }

  _reply(reply) {
    this.button.dataset.asking = "false";
    this.button.disabled = false;
    if (reply.outcome === "refused") {
      this.text.textContent = this.texts["document-mode-refused"];
      return;
    }
    if (reply.outcome === "failed") {
      this.text.textContent = this.texts["document-mode-failed"];
      return;
    }
    const size = reply.width && reply.height ? `${reply.width} × ${reply.height}` : "";
    this._set(reply.on, reply.on ? this.texts["document-mode-active"] : this.texts["document-mode-usual"]);
    this.output.dataset.width = reply.width || "";
    this.output.dataset.height = reply.height || "";
    this.output.textContent = size;
  }

  _set(on, text) {
    this.button.dataset.on = String(on);
    this.button.textContent = on ? this.texts["document-mode-stop"] : this.texts["document-mode-ask"];
    this.text.textContent = text;
    if (!text) {
      this.output.textContent = "";
      this.output.dataset.width = "";
      this.output.dataset.height = "";
    }
  }
}

export class ScreenShare {
  constructor(devices, texts) {
    this.devices = devices;
    this.texts = texts;
    this.client = null;
    this.track = null;
    this.button = $("screen-share");
    const supported = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    this.button.hidden = !supported;
    this.button.addEventListener("click", () => (this.track ? this.stop() : this.start()));
  }

  attach(client) {
    this.client = client;
    client.addEventListener("status", (event) => {
      this.button.disabled = !LIVE.has(event.detail.status);
    });
    // A rebuilt peer connection sends the camera again: the sharing is over.
    client.addEventListener("pc", () => this.stop(false));
    client.addEventListener("closed", () => this.stop(false));
  }

  async start() {
    if (!this.client || this.track) return;
    let stream;
    try {
      // A form or a fee breakdown changes rarely: a modest frame rate keeps the text sharp.
      stream = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 10, max: 15 } }, audio: false,
      });
    } catch {
      return; // the clerk chose nothing, or the browser refused
    }
    const track = firstVideo(stream);
    if (!track) return;
    if ("contentHint" in track) track.contentHint = "detail"; // text stays readable
    try {
      if (!(await this.client.replaceVideo(track))) throw new Error("no video sender");
    } catch (error) {
      console.warn("sharing the screen failed", error);
      track.stop();
      return;
    }
    this.track = track;
    track.addEventListener("ended", () => this.stop());
    this.client.sendMessage({ type: "screen-share", active: true });
    this._show(true);
  }

  async stop(restore = true) {
    const track = this.track;
    if (!track) return;
    this.track = null;
    track.stop();
    const camera = firstVideo(this.devices.stream);
    if (restore && this.client) {
      if (camera) await this.client.replaceVideo(camera).catch(() => {});
      this.client.sendMessage({ type: "screen-share", active: false });
    }
    this._show(false);
  }

  _show(active) {
    this.button.setAttribute("aria-pressed", String(active));
    this.button.textContent = active ? this.texts["screen-share-stop"] : this.texts["screen-share"];
    showSharing(active, this.texts);
  }
}

/** The still frame: the citizen's current picture drawn into a canvas, in this page only. */
export class StillFrame {
  constructor(texts) {
    this.texts = texts;
    this.video = $("remote-video");
    this.button = $("still-frame");
    this.panel = $("still-panel");
    this.view = $("still-view");
    this.canvas = $("still-canvas");
    this.zoomIn = $("still-zoom-in");
    this.zoomOut = $("still-zoom-out");
    this.zoom = 1;
    this.button.addEventListener("click", () => this.take());
    this.zoomIn.addEventListener("click", () => this._zoom(this.zoom + 1));
    this.zoomOut.addEventListener("click", () => this._zoom(this.zoom - 1));
    $("still-discard").addEventListener("click", () => {
      this.discard();
      this.button.focus();
    });
    const ready = () => {
      this.button.disabled = !(this.video.srcObject && this.video.videoWidth > 0);
    };
    for (const name of ["loadeddata", "resize", "emptied", "playing"]) {
      this.video.addEventListener(name, ready);
    }
  }

  attach(client) {
    client.addEventListener("closed", () => this.discard());
    client.addEventListener("remote-gone", () => {
      this.button.disabled = true;
    });
  }

  take() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, width, height);
    this.panel.hidden = false;
    this._zoom(1);
    this.panel.scrollIntoView({ block: "nearest" });
    this.view.focus({ preventScroll: true });
  }

  /** Forget the picture: the canvas is emptied and shrunk, so its memory is released. */
  discard() {
    const context = this.canvas.getContext("2d");
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.width = 0;
    this.canvas.height = 0;
    this.panel.hidden = true;
  }

  _zoom(level) {
    this.zoom = Math.min(4, Math.max(1, level));
    this.canvas.style.width = `${this.zoom * 100}%`;
    this.canvas.dataset.zoom = String(this.zoom);
    this.zoomOut.disabled = this.zoom === 1;
    this.zoomIn.disabled = this.zoom === 4;
  }
}

/** Zoom (1× to 3×) and full screen for the citizen's video on the clerk's page. */
export function wireRemoteView(texts) {
  const video = $("remote-video");
  const tile = $("remote-tile");
  const zoom = $("remote-zoom");
  const full = $("remote-fullscreen");
  const label = () => {
    zoom.textContent = format(texts["zoom-level"], { n: zoom.dataset.zoom });
  };
  label();
  zoom.addEventListener("click", () => {
    const next = (Number(zoom.dataset.zoom) % 3) + 1;
    zoom.dataset.zoom = String(next);
    video.style.transform = next === 1 ? "" : `scale(${next})`;
    label();
  });
  full.hidden = !document.fullscreenEnabled;
  full.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else tile.requestFullscreen().catch(() => {});
  });
}
