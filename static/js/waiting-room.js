// The citizen's waiting screen (app/templates/call/_waiting_room.html): the office's messages to
// those waiting arrive as the signalling message `waiting-info` (static/js/call.js hands them
// on as the window event "call-waiting-info") and are shown in #waiting-info, newest first,
// with the time they were sent. #waiting-info is a polite live region: a screen reader reads a
// new message once.

const box = document.getElementById("waiting-info");
const lang = document.documentElement.lang || "de";
const shown = new Set();

function timeOf(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

function show({ text, sentAt }) {
  if (!box || !text) return;
  const key = `${sentAt}|${text}`;
  if (shown.has(key)) return; // the same message again after a reconnect
  shown.add(key);
  const entry = document.createElement("p");
  entry.className = "waiting-info-message";
  const from = document.createElement("span");
  from.className = "waiting-info-from small";
  from.textContent = (box.dataset.textFrom || "").replace("%(time)s", timeOf(sentAt));
  const words = document.createElement("span");
  words.className = "waiting-info-text";
  words.textContent = text;
  entry.append(from, " ", words);
  box.prepend(entry);
  box.hidden = false;
}

window.addEventListener("call-waiting-info", (event) => show(event.detail));
