// The third participant (an interpreter): one RTCPeerConnection per pair with the guest, beside
// the two-party call of call.js (signaling/meeting.py has the protocol). The server says when a
// pair starts (`peer-joined` with the role and who offers); the pair's offer, answer and
// candidates carry "to" (ours) and "from" (the server's); `peer-left` with a role ends a pair.
// Messages without a role are the two-party call's and stay with CallClient.
//
// attachMesh(client, localStream) hooks a CallClient; the page's stage (#stage) gets one video
// tile per remote participant of the mesh (#guest-video; on the guest's page #clerk-video and
// #citizen-video). Events on the client: "mesh" {role, state: "joined" | "connected" | "left"},
// "guest-waiting" {}; the same on `document` as "call-mesh" and "call-guest-waiting".

import { messages, playVideo } from "./call.js";

const texts = messages("mesh-messages");
const RESTART_MIN_GAP_MS = 5000;
const $ = (id) => document.getElementById(id);

let active = null; // the mesh of the running call (one per page)

/** The clerk lets the waiting guest in; false while signalling is down. */
export function admitGuest() {
  return Boolean(active && active.client._send({ type: "admit", role: "guest" }));
}

/** The running call's client, for the page's own listeners ("mesh", "guest-waiting"). */
export function activeClient() {
  return active ? active.client : null;
}

class Pair {
  constructor(mesh, role, initiator) {
    this.mesh = mesh;
    this.role = role;
    this.initiator = initiator;
    this.pending = [];
    const client = mesh.client;
    const pc = new RTCPeerConnection({ ...client._rtcConfig, iceServers: client._iceServers });
    this.pc = pc;
    const stream = mesh.localStream();
    const kinds = new Set();
    if (stream) {
      for (const track of stream.getTracks()) {
        pc.addTrack(track, stream);
        kinds.add(track.kind);
      }
    }
    if (initiator) {
      for (const kind of ["audio", "video"]) {
        if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    pc.addEventListener("icecandidate", (event) => {
      if (mesh.pairs.get(role) !== this) return;
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      client._send({ type: "candidate", candidate, to: role });
    });
    pc.addEventListener("track", (event) => {
      if (mesh.pairs.get(role) !== this) return;
      let remote = event.streams && event.streams[0];
      if (!remote) {
        remote = this.stream || new MediaStream();
        remote.addTrack(event.track);
      }
      this.stream = remote;
      mesh.show(role, remote);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (mesh.pairs.get(role) !== this) return;
      if (pc.connectionState === "connected") {
        mesh.emit("mesh", { role, state: "connected" });
      } else if (pc.connectionState === "failed" && initiator) {
        this.restart(); // the network changed: new ICE credentials, same peer connection
      }
    });
  }

  restart() {
    if (Date.now() - (this.lastRestart || 0) < RESTART_MIN_GAP_MS) return;
    this.lastRestart = Date.now();
    if (typeof this.pc.restartIce === "function") this.pc.restartIce();
    this.offer(true);
  }

  async offer(iceRestart = false) {
    const pc = this.pc;
    try {
      if (pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" });
      }
      const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
      await pc.setLocalDescription(offer);
      this.mesh.client._send({ type: "offer", sdp: pc.localDescription.sdp, to: this.role });
    } catch (error) {
      console.warn("creating the offer failed", error);
    }
  }

  async onOffer(sdp) {
    const pc = this.pc;
    if (pc.signalingState !== "stable") {
      await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
    }
    await pc.setRemoteDescription({ type: "offer", sdp });
    await this.flush();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.mesh.client._send({ type: "answer", sdp: pc.localDescription.sdp, to: this.role });
  }

  async onAnswer(sdp) {
    if (this.pc.signalingState !== "have-local-offer") return; // stale
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    await this.flush();
  }

  async onCandidate(candidate) {
    if (!candidate || !candidate.candidate) return;
    if (!this.pc.remoteDescription) {
      this.pending.push(candidate);
      return;
    }
    await this.pc.addIceCandidate(candidate).catch((error) => console.warn("candidate refused", error));
  }

  async flush() {
    const queued = this.pending;
    this.pending = [];
    for (const candidate of queued) {
      await this.pc.addIceCandidate(candidate).catch((error) => console.warn("candidate refused", error));
    }
  }

  close() {
    try {
      this.pc.close();
    } catch {
      // closed already
    }
  }
}

class Mesh {
  constructor(client, localStream) {
    this.client = client;
    this.localStream = localStream;
    this.pairs = new Map();
  }

  emit(name, detail) {
    this.client.dispatchEvent(new CustomEvent(name, { detail }));
    // Also for the page's other scripts (guest-invite.js), which do not hold the client.
    document.dispatchEvent(new CustomEvent(`call-${name}`, { detail }));
  }

  /** Handle a message of the guest's pairs; false for the two-party call's own. */
  handle(message) {
    const role = message.role || message.from;
    if (!role) return false;
    switch (message.type) {
      case "peer-joined":
        this.join(message.role, Boolean(message.initiator));
        return true;
      case "peer-left":
        this.leave(message.role);
        return true;
      case "peer-waiting":
        this.emit("guest-waiting", {});
        return true;
      case "offer":
      case "answer":
      case "candidate":
        this.relay(message).catch((error) => console.warn("mesh message failed", error));
        return true;
      default:
        return false;
    }
  }

  join(role, initiator) {
    this.leave(role, true);
    const pair = new Pair(this, role, initiator);
    this.pairs.set(role, pair);
    this.emit("mesh", { role, state: "joined" });
    if (initiator) pair.offer();
  }

  async relay(message) {
    const role = message.from;
    let pair = this.pairs.get(role);
    if (message.type === "offer") {
      if (!pair) {
        pair = new Pair(this, role, false);
        this.pairs.set(role, pair);
      }
      await pair.onOffer(message.sdp);
    } else if (pair && message.type === "answer") {
      await pair.onAnswer(message.sdp);
    } else if (pair && message.type === "candidate") {
      await pair.onCandidate(message.candidate);
    }
  }

  leave(role, quietly = false) {
    const pair = this.pairs.get(role);
    if (!pair) return;
    this.pairs.delete(role);
    pair.close();
    this.hide(role);
    if (!quietly) this.emit("mesh", { role, state: "left" });
  }

  closeAll() {
    for (const role of [...this.pairs.keys()]) this.leave(role, true);
  }

  async replaceTracks(stream) {
    for (const pair of this.pairs.values()) {
      for (const sender of pair.pc.getSenders()) {
        if (!sender.track) continue;
        const next = stream ? stream.getTracks().find((t) => t.kind === sender.track.kind) : null;
        if (next && next !== sender.track) await sender.replaceTrack(next).catch(() => {});
      }
    }
  }

  // --- the video tiles ---------------------------------------------------------------------------

  show(role, stream) {
    const stage = $("stage");
    if (!stage) return;
    let video = $(`${role}-video`);
    if (!video) {
      const tile = document.createElement("figure");
      tile.className = "video-tile video-remote video-peer";
      tile.id = `${role}-tile`;
      tile.dataset.remoteRole = role;
      video = document.createElement("video");
      video.id = `${role}-video`;
      video.playsInline = true;
      video.autoplay = true;
      video.setAttribute("aria-label", texts[`video-${role}`] || role);
      const caption = document.createElement("figcaption");
      caption.textContent = texts[`tile-${role}`] || role;
      tile.append(video, caption);
      const local = $("local-tile");
      stage.insertBefore(tile, local);
    }
    video.srcObject = stream;
    playVideo(video);
    stage.classList.add("in-mesh");
    this.updateLarge();
  }

  hide(role) {
    const tile = $(`${role}-tile`);
    if (tile) tile.remove();
    const stage = $("stage");
    if (stage && !stage.querySelector(".video-peer")) {
      stage.classList.remove("in-mesh", "mesh-large");
    }
    this.updateLarge();
  }

  updateLarge() {
    const button = $("show-large");
    if (!button) return;
    const hasGuest = Boolean($("guest-tile"));
    button.hidden = !hasGuest;
    if (!hasGuest) button.setAttribute("aria-pressed", "false");
  }
}

/** Hook the mesh into a CallClient (call-page.js does it for every call page). */
export function attachMesh(client, localStream) {
  if (active) active.closeAll();
  const mesh = new Mesh(client, localStream);
  active = mesh;
  client.mesh = mesh;
  const status = $("mesh-status");
  client.addEventListener("mesh", (event) => {
    const { role, state } = event.detail;
    if (status && role === "guest" && state !== "connected") {
      status.textContent = texts[state === "joined" ? "guest-joined" : "guest-left"] || "";
    }
  });
  client.addEventListener("closed", () => {
    mesh.closeAll();
    if (active === mesh) active = null;
  });
  return mesh;
}

// "Show large": the citizen's and the interpreter's video side by side, both large.
const large = $("show-large");
if (large) {
  large.addEventListener("click", () => {
    const on = large.getAttribute("aria-pressed") !== "true";
    large.setAttribute("aria-pressed", String(on));
    const stage = $("stage");
    if (stage) stage.classList.toggle("mesh-large", on);
  });
}
