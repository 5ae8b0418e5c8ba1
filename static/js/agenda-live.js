// The agenda's live status: listens to /staff/agenda/events (server-sent events) and updates
// each row's status badge, the "waiting now" highlight with how long the person has waited,
// the join, message and no-show buttons without a reload. Bookings made meanwhile (or gone)
// appear at once: the rows are fetched again from the page itself and put in place, so they
// look exactly as if the page had been loaded. A polite live region announces only what a
// clerk acts on: someone is waiting now, a new appointment, a status changed. Every snapshot
// is also told to the page as an "agenda-update" event on the document ({rows, first,
// nowWaiting}; static/js/agenda-alerts.js alerts the clerk). Without this script the page shows
// the state of its last load. The printable day list gets a print button.

const root = document.getElementById("agenda-root");
const live = document.getElementById("agenda-live");
const state = document.getElementById("agenda-live-state");

/** "%(name)s" placeholders filled in, like the server's message ids. */
export function format(text, params) {
  return (text || "").replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function table() {
  return document.getElementById("agenda");
}

function setState(name) {
  if (!state || !root) return;
  const text = root.dataset[`text${name[0].toUpperCase()}${name.slice(1)}`] || "";
  state.dataset.state = name;
  state.textContent = text;
  state.hidden = false;
}

function setLive(value) {
  root.dataset.live = value;
  const t = table();
  if (t) t.dataset.live = value;
}

function announce(messages) {
  if (!live || messages.length === 0) return;
  // A fresh text node each time, so the same sentence twice is read twice.
  live.textContent = "";
  window.setTimeout(() => { live.textContent = messages.join(" "); }, 50);
}

function rowOf(reference) {
  return document.querySelector(`tr[data-reference="${CSS.escape(reference)}"]`);
}

/** Applies one snapshot to the rows there are; returns what is worth announcing. */
export function apply(rows, first) {
  const messages = [];
  const nowWaiting = [];
  for (const item of rows) {
    const row = rowOf(item.reference);
    if (!row) continue;
    const params = { name: row.dataset.citizen || "", reference: item.reference, status: item.label };
    const wasWaiting = row.dataset.waiting === "yes";
    const oldStatus = row.dataset.status;
    const badge = row.querySelector("[data-status-badge]");
    if (badge) {
      badge.textContent = item.label;
      badge.className = `badge badge-${item.kind}`;
    }
    row.dataset.status = item.status;
    row.dataset.waiting = item.waiting ? "yes" : "no";
    row.classList.toggle("is-waiting", item.waiting);
    const waitingBadge = row.querySelector("[data-waiting-badge]");
    if (waitingBadge) waitingBadge.hidden = !item.waiting;
    const waited = row.querySelector("[data-waited]");
    if (waited) {
      waited.textContent = item.waited || "";
      waited.hidden = !item.waited;
    }
    const message = row.querySelector("[data-row-message]");
    if (message) message.hidden = !item.waiting;
    const join = row.querySelector("[data-join]");
    if (join) {
      join.hidden = !item.can_join;
      join.classList.toggle("btn-primary", item.waiting);
      join.classList.toggle("btn-secondary", !item.waiting);
    }
    const noShow = row.querySelector("[data-no-show]");
    if (noShow) noShow.hidden = !item.can_no_show;
    if (item.waiting && !wasWaiting) nowWaiting.push(params);
    if (first) continue;
    if (item.waiting && !wasWaiting) {
      messages.push(format(root.dataset.textWaiting, params));
    } else if (oldStatus !== item.status) {
      messages.push(format(root.dataset.textStatus, params));
    }
  }
  return { messages, nowWaiting };
}

/** The rows changed (a booking came or went): fetch the page and take its rows. */
async function refreshRows() {
  const response = await fetch(root.dataset.page, {
    credentials: "same-origin", headers: { Accept: "text/html" },
  });
  if (!response.ok) throw new Error(`agenda ${response.status}`);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("agenda-content");
  const content = document.getElementById("agenda-content");
  if (!fresh || !content) return [];
  const before = new Set([...document.querySelectorAll("tr[data-reference]")].map((r) => r.dataset.reference));
  // Keep what the clerk is typing in a message form.
  const typed = new Map();
  for (const input of content.querySelectorAll("input[name=text]")) {
    if (input.value) typed.set(input.id, input.value);
  }
  const focused = document.activeElement && content.contains(document.activeElement) ? document.activeElement.id : "";
  const opened = [...content.querySelectorAll("tr[data-reference] details[open]")]
    .map((details) => details.closest("tr").dataset.reference);
  content.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
  for (const [id, value] of typed) {
    const input = document.getElementById(id);
    if (input) input.value = value;
  }
  for (const reference of opened) {
    const details = rowOf(reference)?.querySelector("details");
    if (details) details.open = true;
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  document.dispatchEvent(new CustomEvent("agenda-rows"));
  const added = [...document.querySelectorAll("tr[data-reference]")].filter((r) => !before.has(r.dataset.reference));
  return added.map((r) => format(root.dataset.textNew, {
    name: r.dataset.citizen || "", reference: r.dataset.reference, time: r.dataset.time || "",
  }));
}

function sameRows(rows) {
  const shown = [...document.querySelectorAll("tr[data-reference]")].map((r) => r.dataset.reference);
  return shown.length === rows.length && rows.every((item, i) => item.reference === shown[i]);
}

let busy = Promise.resolve();

async function onSnapshot(rows, first) {
  const messages = [];
  if (!sameRows(rows)) {
    try {
      messages.push(...await refreshRows());
    } catch {
      // The next snapshot tries again.
    }
  }
  const result = apply(rows, first);
  messages.push(...result.messages);
  announce(first ? [] : messages);
  setLive("on");
  document.dispatchEvent(new CustomEvent("agenda-update", {
    detail: { rows, first, nowWaiting: result.nowWaiting },
  }));
}

function connect() {
  const url = root.dataset.events;
  let first = true;
  const source = new EventSource(url);
  source.addEventListener("open", () => setState("live"));
  source.addEventListener("agenda", (event) => {
    let rows;
    try {
      rows = JSON.parse(event.data);
    } catch {
      return;
    }
    setState("live");
    const isFirst = first;
    first = false;
    // One snapshot after the other: a refresh of the rows must finish before the next applies.
    busy = busy.then(() => onSnapshot(rows, isFirst));
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (e.g. the session expired): EventSource does not retry by itself.
      setState("stopped");
      setLive("stopped");
    } else {
      setState("offline");
      setLive("reconnecting");
    }
  });
  window.addEventListener("pagehide", () => source.close(), { once: true });
}

if (root && root.dataset.events && "EventSource" in window) {
  connect();
}

const printButton = document.querySelector("[data-print]");
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
