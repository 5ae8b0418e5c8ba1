// Camera and microphone: start them, show the preview, let the user pick devices, and say in
// plain words what went wrong. Standard APIs only (Chromium, Firefox, Safari).

import { mediaErrorKind } from "./call.js";

function gum(constraints) {
  return navigator.mediaDevices.getUserMedia(constraints);
}

function wanted(deviceId) {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

const VIDEO_DEFAULTS = { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" };

/**
 * Open camera and microphone. Resolves to {stream, problems}: `stream` holds whatever could be
 * opened (or is null); `problems` lists what went wrong, e.g. ["camera-not-found"] or ["denied"].
 */
export async function openMedia({ videoId = "", audioId = "" } = {}) {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
    return { stream: null, problems: [window.isSecureContext ? "unsupported" : "insecure"] };
  }
  const video = videoId ? { deviceId: { exact: videoId } } : VIDEO_DEFAULTS;
  const audio = wanted(audioId);
  try {
    return { stream: await gum({ video, audio }), problems: [] };
  } catch (error) {
    const kind = mediaErrorKind(error);
    if (kind === "denied" || kind === "insecure") return { stream: null, problems: [kind] };
    if (error && error.name === "OverconstrainedError" && (videoId || audioId)) {
      // A remembered device is gone (unplugged): fall back to the defaults.
      return openMedia({});
    }
  }
  // One of the two is missing or busy: find out which, and keep the other.
  const problems = [];
  const tracks = [];
  for (const [kind, constraints] of [["camera", { video }], ["microphone", { audio }]]) {
    try {
      const part = await gum(constraints);
      tracks.push(...part.getTracks());
    } catch (error) {
      const why = mediaErrorKind(error);
      problems.push(why === "denied" ? "denied" : `${kind}-${why}`);
    }
  }
  if (problems.includes("camera-not-found") && problems.includes("microphone-not-found")) {
    return { stream: null, problems: ["both-not-found"] };
  }
  return { stream: tracks.length ? new MediaStream(tracks) : null, problems: [...new Set(problems)] };
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

/**
 * The device check on a page: preview in `video`, device choice in two <select>s, a microphone
 * level in a <meter>, problems as text in `message`. Emits "change" {stream} when the stream
 * is replaced (a device was switched) and "problems" {problems}.
 */
export class DeviceCheck extends EventTarget {
  constructor({ video, cameraSelect, micSelect, meter, message, texts }) {
    super();
    this.video = video;
    this.cameraSelect = cameraSelect;
    this.micSelect = micSelect;
    this.meter = meter;
    this.message = message;
    this.texts = texts || {};
    this.stream = null;
    this.problems = [];
    this.micMuted = false;
    this.cameraOff = false;
    this._audio = null;
    this._meterTimer = 0;
    this._starting = null;
    if (cameraSelect) cameraSelect.addEventListener("change", () => this.switchDevices());
    if (micSelect) micSelect.addEventListener("change", () => this.switchDevices());
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.listDevices());
    }
    // The level meter starts with the microphone. Where the browser holds audio back until a
    // user gesture, the first tap or key starts it, and a button says so (#mic-level-prompt).
    const gesture = () => this._resumeAudio();
    document.addEventListener("pointerdown", gesture, { once: true });
    document.addEventListener("keydown", gesture, { once: true });
    this._gesture = gesture;
    this.speakerId = "";
    this._speakers();
  }

  // --- speaker choice and test sound (app/templates/call/_device_extras.html) -----------------

  _speakers() {
    const $ = (id) => document.getElementById(id);
    this.speakerSelect = $("speaker");
    this.speakerNote = $("speaker-note");
    this.promptRow = $("mic-level-prompt");
    const startLevel = $("mic-level-start");
    if (startLevel) startLevel.addEventListener("click", () => this._resumeAudio());
    const testRow = $("speaker-test-row");
    const testButton = $("speaker-test");
    if (testRow && testButton && (window.AudioContext || window.webkitAudioContext)) {
      testRow.hidden = false;
      testButton.addEventListener("click", () => this.testSound());
    }
    if (this.speakerSelect) {
      this.speakerSelect.addEventListener("change", () => this.setSpeaker(this.speakerSelect.value));
    }
  }

  /** Whether this browser can choose the speaker of a media element. */
  static canChooseSpeaker() {
    return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
  }

  /** Play the other side (and the test sound) on the speaker `deviceId`. */
  async setSpeaker(deviceId) {
    this.speakerId = deviceId || "";
    for (const element of document.querySelectorAll("#remote-video")) {
      if (typeof element.setSinkId === "function") {
        try {
          await element.setSinkId(this.speakerId);
        } catch (error) {
          console.warn("choosing the speaker failed", error);
        }
      }
    }
    this.dispatchEvent(new CustomEvent("speaker", { detail: { deviceId: this.speakerId } }));
  }

  /** A short rising tune on the chosen speaker (Web Audio, no sound file). */
  async testSound() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this._testAudio) this._testAudio = new Context();
    const ctx = this._testAudio;
    if (this.speakerId && typeof ctx.setSinkId === "function") {
      try {
        await ctx.setSinkId(this.speakerId);
      } catch (error) {
        console.warn("choosing the speaker for the test sound failed", error);
      }
    }
    await ctx.resume().catch(() => {});
    const start = ctx.currentTime + 0.05;
    [523.25, 659.25, 783.99].forEach((frequency, i) => {
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      oscillator.frequency.value = frequency;
      const at = start + i * 0.25;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.24);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.25);
    });
    const state = document.getElementById("speaker-test-state");
    if (state) {
      state.textContent = state.dataset.textPlaying || "";
      state.dataset.state = ctx.state;
    }
  }

  /** Start (or retry) camera and microphone; resolves when done, whatever the outcome. */
  start() {
    if (!this._starting) {
      this._starting = this._open({}).finally(() => {
        this._starting = null;
      });
    }
    return this._starting;
  }

  async switchDevices() {
    const videoId = this.cameraSelect ? this.cameraSelect.value : "";
    const audioId = this.micSelect ? this.micSelect.value : "";
    await this._open({ videoId, audioId });
  }

  async _open(choice) {
    const previous = this.stream;
    // Phones cannot open a second camera while the first is running: stop the old one first.
    stopStream(previous);
    const { stream, problems } = await openMedia(choice);
    this.stream = stream;
    this.problems = problems;
    this._applyToggles();
    if (this.video) {
      this.video.srcObject = stream;
      this.video.hidden = !stream || stream.getVideoTracks().length === 0;
      if (stream) this.video.play().catch(() => {});
    }
    this._showProblems();
    await this.listDevices();
    this._startMeter();
    this.dispatchEvent(new CustomEvent("change", { detail: { stream } }));
    return stream;
  }

  /** Fill the selects (labels are known only after permission was given). */
  async listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    const current = (kind) => {
      const track = this.stream && this.stream.getTracks().find((t) => t.kind === kind);
      const settings = track && track.getSettings ? track.getSettings() : {};
      return settings.deviceId || "";
    };
    this._fill(this.cameraSelect, devices.filter((d) => d.kind === "videoinput"), current("video"),
      this.texts.camera_n || "Camera %(n)s");
    this._fill(this.micSelect, devices.filter((d) => d.kind === "audioinput"), current("audio"),
      this.texts.microphone_n || "Microphone %(n)s");
    if (this.speakerSelect) {
      const outputs = devices.filter((d) => d.kind === "audiooutput");
      if (DeviceCheck.canChooseSpeaker()) {
        this._fill(this.speakerSelect, outputs, this.speakerId || "default",
          this.speakerSelect.dataset.fallback || "Speaker %(n)s");
        const field = this.speakerSelect.closest(".field");
        if (this.speakerNote) this.speakerNote.hidden = true;
        if (field) field.hidden = this.speakerSelect.options.length < 2;
      } else if (this.speakerNote) {
        this.speakerNote.hidden = false;
      }
    }
  }

  _fill(select, devices, selected, fallback) {
    if (!select) return;
    const field = select.closest(".field");
    const usable = devices.filter((d) => d.deviceId);
    select.replaceChildren();
    usable.forEach((device, index) => {
      const option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || fallback.replace("%(n)s", String(index + 1));
      if (device.deviceId === selected) option.selected = true;
      select.append(option);
    });
    // A choice between one device is no choice: hide the field until there are two.
    if (field) field.hidden = usable.length < 2;
  }

  _showProblems() {
    if (!this.message) return;
    const lines = this.problems.map((p) => this.texts[p] || this.texts.other || p);
    this.message.replaceChildren();
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      this.message.append(p);
    }
    this.message.hidden = lines.length === 0;
    this.dispatchEvent(new CustomEvent("problems", { detail: { problems: this.problems } }));
  }

  setMicMuted(muted) {
    this.micMuted = muted;
    this._applyToggles();
  }

  setCameraOff(off) {
    this.cameraOff = off;
    this._applyToggles();
  }

  _applyToggles() {
    if (!this.stream) return;
    this.stream.getAudioTracks().forEach((t) => {
      t.enabled = !this.micMuted;
    });
    this.stream.getVideoTracks().forEach((t) => {
      t.enabled = !this.cameraOff;
    });
  }

  // --- microphone level ------------------------------------------------------------------------

  _startMeter() {
    if (!this.meter) return;
    if (!this._audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      try {
        this._audio = { context: new Context(), source: null, analyser: null };
      } catch {
        return;
      }
      this._audio.context.addEventListener("statechange", () => this._showPrompt());
    }
    this._restartMeter();
    this._resumeAudio();
  }

  /** Start audio processing; where the browser still holds it back, show the prompt. */
  _resumeAudio() {
    const audio = this._audio;
    if (!audio) return;
    audio.context.resume().catch(() => {}).finally(() => this._showPrompt());
    // resume() may wait for a gesture for ever: say so after a moment.
    window.setTimeout(() => this._showPrompt(), 500);
  }

  _showPrompt() {
    const audio = this._audio;
    const blocked = Boolean(audio && audio.context.state === "suspended" && this.stream
      && this.stream.getAudioTracks().length > 0);
    if (this.meter) this.meter.dataset.audio = audio ? audio.context.state : "none";
    if (this.promptRow) this.promptRow.hidden = !blocked;
    if (!blocked && audio && audio.context.state === "running") {
      document.removeEventListener("pointerdown", this._gesture);
      document.removeEventListener("keydown", this._gesture);
    }
  }

  _restartMeter() {
    window.clearInterval(this._meterTimer);
    const audio = this._audio;
    if (!audio || !this.stream || this.stream.getAudioTracks().length === 0) return;
    if (audio.source) audio.source.disconnect();
    audio.source = audio.context.createMediaStreamSource(this.stream);
    audio.analyser = audio.context.createAnalyser();
    audio.analyser.fftSize = 512;
    audio.source.connect(audio.analyser);
    const samples = new Uint8Array(audio.analyser.fftSize);
    this.meter.closest(".mic-level").hidden = false;
    this._meterTimer = window.setInterval(() => {
      audio.analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const value of samples) peak = Math.max(peak, Math.abs(value - 128));
      this.meter.value = this.micMuted ? 0 : Math.min(1, peak / 64);
    }, 150);
  }

  stop() {
    window.clearInterval(this._meterTimer);
    if (this._audio) {
      this._audio.context.close().catch(() => {});
      this._audio = null;
    }
    if (this.promptRow) this.promptRow.hidden = true;
    stopStream(this.stream);
    this.stream = null;
    if (this.video) this.video.srcObject = null;
  }
}
