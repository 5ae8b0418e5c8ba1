// The agenda's waiting room alerts and messages (staff/_waiting_tools.html, staff/agenda.html).
//
// When someone starts waiting (the "agenda-update" event of agenda-live.js): a short tone made
// with Web Audio (no sound file; the clerk can switch it off, remembered in localStorage), the
// tab title counts those waiting ("(1) wartet – …"), and a desktop notification when the clerk
// has allowed them (a button asks; nothing is asked on load). The message forms (to everyone
// waiting, or to one person) are sent without leaving the page; without this script they post
// and come back.

import { format } from "./agenda-live.js";
import { sendWaitingMessage } from "./waiting-message.js";

const controls = document.getElementById("alert-controls");
const soundBox = document.getElementById("alert-sound");
const notifyButton = document.getElementById("alert-notify");
const notifyState = document.getElementById("alert-notify-state");
const root = document.getElementById("agenda-root");
const SOUND_KEY = "agenda-alert-sound";
const baseTitle = document.title;

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage blocked: the default applies
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // not remembered, still applied
  }
}

// --- the tone ----------------------------------------------------------------------------------

let audio = null;

function context() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio) {
    try {
      audio = new Context();
    } catch {
      return null;
    }
  }
  return audio;
}

// Browsers start audio only after the page was used once: the first click or key unlocks it.
for (const name of ["pointerdown", "keydown"]) {
  document.addEventListener(name, () => {
    const ctx = context();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  }, { once: true });
}

/** Two short soft tones (about 0.4 s). */
function chime() {
  const ctx = context();
  if (!ctx) return "unsupported";
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const start = ctx.currentTime + 0.02;
  [660, 880].forEach((frequency, i) => {
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    const at = start + i * 0.18;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.17);
  });
  return ctx.state === "running" ? "played" : "blocked";
}

// --- desktop notifications --------------------------------------------------------------------

function notificationsUsable() {
  return "Notification" in window && window.isSecureContext !== false;
}

function showNotifyButton() {
  if (!notifyButton) return;
  const permission = notificationsUsable() ? Notification.permission : "unsupported";
  notifyButton.hidden = permission !== "default";
  if (notifyState) {
    notifyState.hidden = permission !== "denied";
    notifyState.textContent = permission === "denied" ? controls.dataset.textNotifyDenied : "";
  }
}

function notify(people) {
  if (!notificationsUsable() || Notification.permission !== "granted") return;
  const body = people.map((p) => format(root.dataset.textWaiting, p)).join("\n");
  try {
    const note = new Notification(controls.dataset.textNotifyTitle, { body, tag: "agenda-waiting" });
    note.addEventListener("click", () => window.focus());
  } catch {
    // Some browsers allow notifications only from a service worker: the title and tone remain.
  }
}

// --- what a snapshot changes ---------------------------------------------------------------------

function updateTitle() {
  const waiting = document.querySelectorAll("tr[data-reference][data-waiting='yes']").length;
  document.title = waiting > 0
    ? `${format(root.dataset.titleWaiting, { num: waiting })} – ${baseTitle}`
    : baseTitle;
}

function onUpdate(event) {
  updateTitle();
  const { first, nowWaiting } = event.detail;
  if (first || nowWaiting.length === 0) return;
  const count = Number(root.dataset.alerts || "0") + 1;
  root.dataset.alerts = String(count);
  if (soundBox && soundBox.checked) root.dataset.alertSound = chime();
  notify(nowWaiting);
}

// --- the message forms -------------------------------------------------------------------------

async function sendMessage(form) {
  const result = form.querySelector("[data-waiting-message-result]");
  try {
    const sent = await sendWaitingMessage(form);
    if (result) result.textContent = format(controls.dataset.textSent, { num: sent });
  } catch (error) {
    if (result) result.textContent = error.message || controls.dataset.textFailed;
  }
}

if (controls && root) {
  controls.hidden = false;
  if (soundBox) {
    soundBox.checked = stored(SOUND_KEY) !== "off";
    soundBox.addEventListener("change", () => store(SOUND_KEY, soundBox.checked ? "on" : "off"));
  }
  showNotifyButton();
  if (notifyButton) {
    notifyButton.addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } catch {
        // an old browser: the callback form is not worth supporting here
      }
      showNotifyButton();
    });
  }
  document.addEventListener("agenda-update", onUpdate);
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-waiting-message]")) return;
    event.preventDefault();
    sendMessage(form);
  });
  updateTitle();
}
