// The browser side of a video call: signalling over WebSocket /ws/call (CONTRACT §4) and one
// RTCPeerConnection to the other party. Shared by the citizen and the clerk page.
//
// The model is deliberately simple: the server says who offers (`start.initiator`, always the
// clerk), so there is no offer glare to resolve. Every `start` builds a fresh peer connection,
// which also covers a reload or a reconnect of either side (the server sends `start` again).
// A network change that keeps signalling up is healed by an ICE restart from the initiator.
//
// Events (CallClient is an EventTarget; `event.detail` carries the data):
//   "status"       {status}          connecting | ready | waiting | peer-waiting | joining | connected |
//                                    reconnecting | peer-left | left | ended | refused | replaced
//   "welcome"      {role, reference}
//   "remote-stream" {stream}         attach to the remote <video>
//   "remote-gone"  {}                the remote stream ended (peer left, call reset)
//   "closed"       {code, reason}    the call is over for this page; no more reconnects
//   "pc"           {pc}              a new RTCPeerConnection (for statistics)
//   "message"      {type, ...}       a message the other party sent in the call (chat,
//                                    document-mode, document-mode-reply, screen-share)
//   "notice"       {kind, closesAt?} interrupted | restored (the server lost and regained its
//                                    store; the call goes on) | window-closing (the video room
//                                    closes at closesAt, a Date)

import { site } from "./site.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
// ICE "disconnected" may heal by itself, but Chromium reports it only about 7 s after the last
// packet: a restart offer sent 1 s later still goes out during a 10-second outage (and waits in
// TCP until the network is back), where 3 s left it racing the network's return.
const DISCONNECTED_GRACE_MS = 1000;
const RESTART_MIN_GAP_MS = 5000;
const RESTART_RETRY_MS = 10000; // an ICE restart that has not helped by then is repeated
const FAILED_RESIGNAL_MS = 8000; // non-initiator: ask for a fresh start when ICE stays failed

// Close codes that end the call for this page: trying again would not help.
const FINAL_CODES = new Set([4400, 4401, 4403, 4409, 4413]);

/** The same-origin signalling URL (the CSP's connect-src 'self' covers it). */
export function signallingUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${site("/ws/call")}`;
}

export class CallClient extends EventTarget {
  /**
   * @param {object} options
   * @param {() => Promise<string>} options.token  the hello token (fetched again per connect)
   * @param {() => MediaStream | null} options.localStream  the tracks to send (may be null)
   * @param {string} [options.url]
   * @param {RTCConfiguration} [options.rtcConfig]  added to the ICE servers of `welcome`
   *   (e.g. {iceTransportPolicy: "relay"} to force TURN in a test)
   */
  constructor({ token, localStream, url = signallingUrl(), rtcConfig = {} }) {
    super();
    this._rtcConfig = rtcConfig;
    this._tokenSource = token;
    this._localStream = localStream;
    this._url = url;
    this.ws = null;
    this.pc = null;
    this.role = null;
    this.reference = null;
    this.initiator = false;
    this.status = "idle";
    this._iceServers = [];
    this._pending = []; // remote candidates that came before the remote description
    this._attempt = 0;
    this._stopped = true;
    this._reconnectTimer = 0;
    this._pingTimer = 0;
    this._pongTimer = 0;
    this._disconnectTimer = 0;
    this._failedTimer = 0;
    this._lastRestart = 0;
    this._remoteStream = null;
    this._onOnline = () => this._reconnectNow();
    this._onOffline = () => {
      if (!this._stopped) this._setStatus("reconnecting");
    };
  }

  // --- public API ------------------------------------------------------------------------------

  /** Open the signalling connection (and keep it open, reconnecting, until stop()). */
  start() {
    if (!this._stopped) return;
    this._stopped = false;
    window.addEventListener("online", this._onOnline);
    window.addEventListener("offline", this._onOffline);
    this._connect();
  }

  /** The clerk lets the waiting citizen in; false while signalling is down. */
  admit() {
    return this._send({ type: "admit" });
  }

  /** The clerk ends the call for both. */
  end() {
    this._send({ type: "end" });
    this._finish("ended", 1000, "end");
  }

  /** Leave the call (the other side is told `peer-left`). */
  leave() {
    this._send({ type: "bye" });
    this._finish("left", 1000, "bye");
  }

  /** Replace the outgoing tracks after a device change, without renegotiation. */
  async replaceTracks(stream) {
    if (this.mesh) this.mesh.replaceTracks(stream); // the guest's pairs (call-mesh.js)
    if (!this.pc) return;
    for (const sender of this.pc.getSenders()) {
      if (!sender.track) continue;
      const next = stream ? stream.getTracks().find((t) => t.kind === sender.track.kind) : null;
      if (next && next !== sender.track) {
        try {
          await sender.replaceTrack(next);
        } catch (error) {
          console.warn("replaceTrack failed", error);
        }
      }
    }
  }

  /** Send a message to the other party (signaling/extras.py); false while signalling is down. */
  sendMessage(message) {
    return this._send(message);
  }

  /** The sender of our video, or null (no call, or no camera). */
  videoSender() {
    if (!this.pc) return null;
    return this.pc.getSenders().find((s) => s.track && s.track.kind === "video") || null;
  }

  /** Send `track` instead of the current video (rear camera, shared screen): no renegotiation. */
  async replaceVideo(track) {
    const sender = this.videoSender();
    if (!sender || sender.track === track) return false;
    await sender.replaceTrack(track);
    return true;
  }

  // --- signalling ------------------------------------------------------------------------------

  async _connect() {
    if (this._stopped) return;
    this._setStatus(this._attempt === 0 && !this.role ? "connecting" : "reconnecting");
    let token;
    try {
      token = await this._tokenSource();
    } catch (error) {
      if (error && error.final) {
        this._finish("refused", 4401, "token");
        return;
      }
      this._scheduleReconnect();
      return;
    }
    if (this._stopped) return;
    let ws;
    try {
      ws = new WebSocket(this._url);
    } catch (error) {
      console.warn("WebSocket failed", error);
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({ type: "hello", token }));
      this._startPing();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this._alive();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this._onMessage(message).catch((error) => console.warn("signalling message failed", error));
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._stopPing();
      this._onClose(event.code, event.reason);
    });
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false; // while offline: the server sends a fresh `start` after the reconnect
  }

  _onClose(code, reason) {
    if (this._stopped) return;
    if (code === 4409) {
      this._finish("replaced", code, reason);
    } else if (code === 4403 && this.status === "ended") {
      this._finish("ended", code, reason);
    } else if (FINAL_CODES.has(code)) {
      this._finish("refused", code, reason);
    } else if (code === 1000 && this.status === "ended") {
      this._finish("ended", code, reason);
    } else {
      // Network loss, server restart (1001), hello timeout, rate limit: try again.
      this._setStatus("reconnecting");
      this._scheduleReconnect(code === 4429 ? 5000 : 0);
    }
  }

  _scheduleReconnect(minimum = 0) {
    if (this._stopped) return;
    window.clearTimeout(this._reconnectTimer);
    const base = BACKOFF_MS[Math.min(this._attempt, BACKOFF_MS.length - 1)];
    const delay = Math.max(minimum, base * (0.75 + Math.random() * 0.5));
    this._attempt += 1;
    this._reconnectTimer = window.setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this._stopped) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    window.clearTimeout(this._reconnectTimer);
    this._connect();
  }

  /** Force a new signalling connection (the server then sends `start` again). */
  _resignal() {
    if (this._stopped || !this.ws) return;
    const ws = this.ws;
    this.ws = null;
    this._stopPing();
    try {
      ws.close(1000);
    } catch {
      // already closing
    }
    this._setStatus("reconnecting");
    this._scheduleReconnect();
  }

  // Browsers cannot see WebSocket pings: a `ping` message every few seconds notices a dead
  // path (a phone that switched networks) long before TCP would.
  _startPing() {
    this._stopPing();
    this._pingTimer = window.setInterval(() => {
      if (!this._send({ type: "ping" })) return;
      if (!this._pongTimer) {
        this._pongTimer = window.setTimeout(() => this._resignal(), PONG_WITHIN_MS);
      }
    }, PING_EVERY_MS);
  }

  _alive() {
    window.clearTimeout(this._pongTimer);
    this._pongTimer = 0;
  }

  _stopPing() {
    window.clearInterval(this._pingTimer);
    this._pingTimer = 0;
    this._alive();
  }

  async _onMessage(message) {
    // A third participant's messages carry a role or a sender (call-mesh.js takes them).
    if (this.mesh && this.mesh.handle(message)) return;
    switch (message.type) {
      case "welcome":
        this._attempt = 0;
        this.role = message.role;
        this.reference = message.reference;
        this._iceServers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
        this._emit("welcome", { role: message.role, reference: message.reference });
        // Signalling is up; what follows says more (waiting, peer-waiting, start).
        if (!this.pc || this.pc.connectionState !== "connected") this._setStatus("ready");
        break;
      case "waiting":
        this._resetPeer();
        this._setStatus("waiting");
        break;
      case "peer-waiting":
        this._setStatus("peer-waiting");
        break;
      case "start":
        this._startCall(Boolean(message.initiator));
        break;
      case "offer":
        await this._onOffer(message);
        break;
      case "answer":
        await this._onAnswer(message);
        break;
      case "candidate":
        await this._onCandidate(message.candidate);
        break;
      case "peer-reconnected":
        // The other side has a new connection: its old peer connection is gone. A fresh
        // `start` follows once both are there.
        this._resetPeer();
        this._setStatus("joining");
        break;
      case "peer-left":
        this._resetPeer();
        this._setStatus("peer-left");
        break;
      case "ended":
        this._resetPeer();
        this._setStatus("ended");
        break;
      case "interrupted":
      case "restored":
        this._emit("notice", { kind: message.type });
        break;
      case "window-closing":
        this._emit("notice", { kind: message.type, closesAt: new Date(message.closes_at) });
        break;
      case "chat":
      case "document-mode":
      case "document-mode-reply":
      case "screen-share":
        this._emit("message", message);
        break;
      case "waiting-info":
        // The office's message to those waiting (static/js/waiting-room.js shows it).
        window.dispatchEvent(new CustomEvent("call-waiting-info", {
          detail: { text: String(message.text || ""), sentAt: message.sent_at },
        }));
        break;
      case "error":
        // The close that follows carries the same code; _onClose decides.
        break;
      default:
        break; // pong, or a message type added later
    }
  }

  // --- the peer connection ---------------------------------------------------------------------

  _startCall(initiator) {
    this.initiator = initiator;
    this._resetPeer();
    const pc = this._newPeer();
    this._setStatus("joining");
    if (initiator) this._makeOffer(pc, false);
  }

  _newPeer() {
    const pc = new RTCPeerConnection({ ...this._rtcConfig, iceServers: this._iceServers });
    this.pc = pc;
    this._pending = [];
    this._lastRestart = 0;
    const stream = this._localStream();
    const kinds = new Set();
    if (stream) {
      for (const track of stream.getTracks()) {
        pc.addTrack(track, stream);
        kinds.add(track.kind);
      }
    }
    // Without a camera or microphone we still want to see and hear the other side: the offer
    // needs a line for each kind (an answer follows the offer's lines anyway).
    if (this.initiator) {
      for (const kind of ["audio", "video"]) {
        if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    pc.addEventListener("icecandidate", (event) => {
      if (this.pc !== pc) return;
      this._send({ type: "candidate", candidate: event.candidate ? event.candidate.toJSON() : null });
    });
    pc.addEventListener("track", (event) => {
      if (this.pc !== pc) return;
      let remote = event.streams && event.streams[0];
      if (!remote) {
        remote = this._remoteStream || new MediaStream();
        remote.addTrack(event.track);
      }
      this._remoteStream = remote;
      this._emit("remote-stream", { stream: remote });
    });
    pc.addEventListener("connectionstatechange", () => this._onConnectionState(pc));
    // Old Safari has no connectionState: fall back to the ICE state.
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.connectionState === undefined) this._onConnectionState(pc);
    });
    this._emit("pc", { pc });
    return pc;
  }

  _resetPeer() {
    window.clearTimeout(this._disconnectTimer);
    window.clearTimeout(this._failedTimer);
    this._failedTimer = 0;
    this._pending = [];
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      try {
        pc.close();
      } catch {
        // closing twice is harmless
      }
    }
    if (this._remoteStream) {
      this._remoteStream = null;
      this._emit("remote-gone", {});
    }
  }

  async _makeOffer(pc, iceRestart) {
    try {
      if (pc.signalingState === "have-local-offer") {
        // The answer to our last offer never came (signalling was down): withdraw it.
        await pc.setLocalDescription({ type: "rollback" });
      }
      const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
      if (this.pc !== pc) return;
      await pc.setLocalDescription(offer);
      if (this.pc !== pc) return;
      this._send({ type: "offer", sdp: pc.localDescription.sdp });
    } catch (error) {
      console.warn("creating the offer failed", error);
    }
  }

  async _onOffer(message) {
    let pc = this.pc;
    if (this.initiator && pc) return; // we offer; a stray offer is a stale leftover
    if (!pc) pc = this._newPeer();
    if (pc.signalingState !== "stable") {
      // Only the initiator offers, so this is an older offer we never finished: start over.
      await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
    }
    await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
    await this._flushCandidates(pc);
    const answer = await pc.createAnswer();
    if (this.pc !== pc) return;
    await pc.setLocalDescription(answer);
    this._send({ type: "answer", sdp: pc.localDescription.sdp });
  }

  async _onAnswer(message) {
    const pc = this.pc;
    if (!pc || pc.signalingState !== "have-local-offer") return; // stale
    await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    await this._flushCandidates(pc);
  }

  async _onCandidate(candidate) {
    // `null` (end of candidates) is optional in every browser: skip it rather than risk an
    // old engine rejecting it. aiortc never trickles; its candidates are in the SDP.
    if (!candidate || !candidate.candidate) return;
    const pc = this.pc;
    if (!pc || !pc.remoteDescription) {
      this._pending.push(candidate);
      return;
    }
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      console.warn("a remote candidate was refused", error);
    }
  }

  async _flushCandidates(pc) {
    const queued = this._pending;
    this._pending = [];
    for (const candidate of queued) {
      if (this.pc !== pc) return;
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        console.warn("a queued candidate was refused", error);
      }
    }
  }

  _onConnectionState(pc) {
    if (this.pc !== pc) return;
    const state = pc.connectionState || pc.iceConnectionState;
    if (state === "connected" || state === "completed") {
      window.clearTimeout(this._disconnectTimer);
      window.clearTimeout(this._failedTimer);
      this._failedTimer = 0;
      this._setStatus("connected");
    } else if (state === "disconnected") {
      window.clearTimeout(this._disconnectTimer);
      this._setStatus("reconnecting");
      this._disconnectTimer = window.setTimeout(() => this._restartIce(pc), DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      window.clearTimeout(this._disconnectTimer);
      this._setStatus("reconnecting");
      this._restartIce(pc);
    }
    // "checking"/"connecting" during a restart: the timers set below keep watching.
  }

  _healthy(pc) {
    const state = pc.connectionState || pc.iceConnectionState;
    return state === "connected" || state === "completed";
  }

  /** ICE restart: the initiator sends a new offer with fresh ICE credentials, and tries again
   * while the connection stays down. */
  _restartIce(pc) {
    if (this.pc !== pc || this._stopped || this._healthy(pc)) return;
    if (!this.initiator) {
      // Only the initiator offers. If nothing heals the connection for a while, a new
      // signalling connection makes the server send `start` to both: a clean new call.
      if (!this._failedTimer) {
        this._failedTimer = window.setTimeout(() => {
          this._failedTimer = 0;
          if (this.pc === pc && !this._healthy(pc)) this._resignal();
        }, FAILED_RESIGNAL_MS);
      }
      return;
    }
    const wait = RESTART_MIN_GAP_MS - (Date.now() - this._lastRestart);
    if (wait > 0) {
      this._disconnectTimer = window.setTimeout(() => this._restartIce(pc), wait);
      return;
    }
    this._lastRestart = Date.now();
    if (typeof pc.restartIce === "function") pc.restartIce();
    this._makeOffer(pc, true);
    this._disconnectTimer = window.setTimeout(() => this._restartIce(pc), RESTART_RETRY_MS);
  }

  // --- helpers ---------------------------------------------------------------------------------

  _finish(status, code, reason) {
    this._stopped = true;
    window.removeEventListener("online", this._onOnline);
    window.removeEventListener("offline", this._onOffline);
    window.clearTimeout(this._reconnectTimer);
    this._stopPing();
    this._resetPeer();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this._setStatus(status);
    this._emit("closed", { code, reason });
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emit("status", { status });
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

// --- media -------------------------------------------------------------------------------------

/**
 * What went wrong with getUserMedia, as one of: "denied", "not-found", "in-use", "insecure",
 * "other". The names are the standard DOMException names (Chromium, Firefox and Safari).
 */
export function mediaErrorKind(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return "denied";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return "not-found";
  }
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
    return "in-use";
  }
  if (name === "TypeError" && !window.isSecureContext) return "insecure";
  return "other";
}

/** Start a <video> and report whether it plays with sound (autoplay rules may refuse). */
export async function playVideo(video) {
  try {
    await video.play();
    return true;
  } catch (error) {
    if (error && error.name === "NotAllowedError" && !video.muted) {
      // Without a user gesture, browsers only autoplay muted media: show the picture now,
      // the page offers a button to switch the sound on.
      video.muted = true;
      try {
        await video.play();
      } catch {
        return false;
      }
      return false;
    }
    return false;
  }
}

// --- connection quality ------------------------------------------------------------------------

/**
 * Rate a connection from its numbers: round-trip time in seconds, packet loss as a fraction,
 * received video bitrate in bit/s (null when unknown; pass null while the other side's camera
 * is off, which sends almost nothing on purpose). Returns "good" | "fair" | "poor".
 */
/** Shows and hides the other party's video tile (both call pages share the stage layout). */
export function remoteView(remoteVideo, unmuteRemote) {
  const tile = document.getElementById("remote-tile");
  const stage = document.getElementById("stage");
  return {
    show(stream) {
      remoteVideo.srcObject = stream;
      tile.hidden = false;
      stage.classList.add("in-call");
      playVideo(remoteVideo).then((withSound) => {
        unmuteRemote.hidden = withSound || !remoteVideo.muted;
      });
    },
    hide() {
      remoteVideo.srcObject = null;
      tile.hidden = true;
      stage.classList.remove("in-call");
      unmuteRemote.hidden = true;
    },
  };
}

export function rateQuality({ rtt, loss, bitrate }) {
  let score = 2;
  if (rtt != null) {
    if (rtt > 0.4) score = Math.min(score, 0);
    else if (rtt > 0.15) score = Math.min(score, 1);
  }
  if (loss != null) {
    if (loss > 0.08) score = Math.min(score, 0);
    else if (loss > 0.02) score = Math.min(score, 1);
  }
  if (bitrate != null) {
    if (bitrate < 64000) score = Math.min(score, 0);
    else if (bitrate < 150000) score = Math.min(score, 1);
  }
  return ["poor", "fair", "good"][score];
}

/** Where the selected candidate pair runs: "direct" | "relay" | null (not yet known). */
export function pathOf(report) {
  let pair = null;
  report.forEach((stat) => {
    if (stat.type === "transport" && stat.selectedCandidatePairId) {
      pair = report.get(stat.selectedCandidatePairId) || pair;
    }
  });
  if (!pair) {
    report.forEach((stat) => {
      if (stat.type === "candidate-pair" && stat.state === "succeeded" && (stat.nominated || stat.selected)) {
        pair = pair || stat;
      }
    });
  }
  if (!pair) return null;
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  const types = [local && local.candidateType, remote && remote.candidateType];
  return types.includes("relay") ? "relay" : "direct";
}

/**
 * Samples getStats() of a peer connection: round-trip time, packet loss and bitrate since the
 * last sample. `sample()` resolves to {rtt, loss, bitrate, path, rating} or null.
 */
export class QualityMonitor {
  constructor(pc) {
    this.pc = pc;
    this._last = null;
  }

  async sample() {
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return null;
    }
    let rtt = null;
    let bytes = 0;
    let received = 0;
    let lost = 0;
    let fps = null;
    report.forEach((stat) => {
      if (stat.type === "candidate-pair" && stat.state === "succeeded" && stat.currentRoundTripTime != null) {
        if (rtt == null || stat.nominated) rtt = stat.currentRoundTripTime;
      }
      if (stat.type === "inbound-rtp" && !stat.isRemote) {
        if (stat.kind === "video" || stat.mediaType === "video") {
          bytes += stat.bytesReceived || 0;
          if (stat.framesPerSecond != null) fps = stat.framesPerSecond;
        }
        received += stat.packetsReceived || 0;
        lost += Math.max(0, stat.packetsLost || 0);
      }
      if (stat.type === "remote-inbound-rtp" && rtt == null && stat.roundTripTime != null) {
        rtt = stat.roundTripTime;
      }
    });
    const now = performance.now();
    const last = this._last;
    this._last = { now, bytes, received, lost };
    let loss = null;
    let bitrate = null;
    if (last && now > last.now) {
      const got = received - last.received;
      const missed = lost - last.lost;
      if (got + missed > 0) loss = Math.max(0, missed) / (got + Math.max(0, missed));
      bitrate = ((bytes - last.bytes) * 8 * 1000) / (now - last.now);
      if (bitrate < 0) bitrate = null;
    }
    // A camera that is switched off sends about one black frame a second: its bitrate says
    // nothing about the connection (nor does one whose frame rate the browser does not report).
    const rated = fps == null || fps < 5 ? null : bitrate;
    return { rtt, loss, bitrate, path: pathOf(report), rating: rateQuality({ rtt, loss, bitrate: rated }) };
  }
}

/** Read the page's translated messages (a JSON data block; CSP allows it, it never runs). */
export function messages(id = "call-messages") {
  const element = document.getElementById(id);
  if (!element) return {};
  try {
    return JSON.parse(element.textContent || "{}");
  } catch {
    return {};
  }
}

/** "%(name)s" placeholders, like the server's gettext. */
export function format(text, params) {
  return String(text || "").replace(/%\((\w+)\)s/g, (_, key) => (key in params ? String(params[key]) : ""));
}
