// The inbox's live updates: listens to /staff/requests/events (server-sent events) and, when
// the requests of the shown view or the tab counts change, swaps in the list the server
// rendered again and updates the counts, without a reload. A polite live region says what
// changed (a new request, a citizen's reply, a new status, a request gone from this view);
// focus stays on the request it was on. Without this script the page shows the state of its
// last load and the tabs and filters work as links and a form.

const region = document.getElementById("inbox-list");
const live = document.getElementById("inbox-live");
const state = document.getElementById("inbox-live-state");

/** "%(name)s" placeholders filled in, like the server's message ids. */
export function format(text, params) {
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function setState(name) {
  if (!state || !region) return;
  state.textContent = region.dataset[`text${name[0].toUpperCase()}${name.slice(1)}`] || "";
  state.dataset.state = name;
  state.hidden = false;
}

function announce(messages) {
  if (!live || messages.length === 0) return;
  // A fresh text each time, so the same sentence twice is read twice.
  live.textContent = "";
  window.setTimeout(() => { live.textContent = messages.join(" "); }, 50);
}

/** The rows the page shows now: reference -> {status, attention}. */
function shownRows() {
  const rows = new Map();
  region.querySelectorAll("tr[data-reference]").forEach((row) => {
    rows.set(row.dataset.reference, { status: row.dataset.status, attention: row.dataset.attention === "yes" });
  });
  return rows;
}

/** What is worth saying about the step from `before` (the page) to `rows` (the event). */
export function changes(before, rows, texts) {
  const messages = [];
  const seen = new Set();
  for (const row of rows) {
    seen.add(row.reference);
    const old = before.get(row.reference);
    const params = { reference: row.reference, service: row.service, status: row.label };
    if (row.attention && (!old || !old.attention)) {
      messages.push(format(texts.textAnswer, params));
    } else if (!old) {
      messages.push(format(texts.textNew, params));
    } else if (old.status !== row.status) {
      messages.push(format(texts.textStatus, params));
    }
  }
  for (const reference of before.keys()) {
    if (!seen.has(reference)) messages.push(format(texts.textGone, { reference }));
  }
  return messages;
}

function sameRows(before, rows) {
  if (before.size !== rows.length) return false;
  return rows.every((row) => {
    const old = before.get(row.reference);
    return old && old.status === row.status && old.attention === row.attention;
  });
}

function updateCounts(counts) {
  for (const [view, count] of Object.entries(counts || {})) {
    const element = document.querySelector(`[data-count="${CSS.escape(view)}"]`);
    if (element) element.textContent = `(${count})`;
  }
}

/** Replaces the list, keeping the keyboard focus on the same request's link when it is there. */
function replaceList(html) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && region.contains(active);
  const reference = inside ? active.closest("tr[data-reference]")?.dataset.reference : null;
  region.querySelectorAll(":scope > :not([data-keep])").forEach((node) => node.remove());
  region.insertAdjacentHTML("beforeend", html);
  if (!inside) return;
  const link = reference
    ? region.querySelector(`tr[data-reference="${CSS.escape(reference)}"] a`)
    : null;
  const target = link || region.querySelector(".table-wrap") || region;
  if (target === region) region.tabIndex = -1;
  target.focus({ preventScroll: true });
}

function connect() {
  const source = new EventSource(region.dataset.events);
  let first = true;
  source.addEventListener("open", () => setState("live"));
  source.addEventListener("inbox", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    setState("live");
    updateCounts(data.counts);
    const before = shownRows();
    const rows = data.rows || [];
    // The first event usually repeats what the page shows; later ones are sent on a change.
    if (!first || !sameRows(before, rows)) {
      announce(changes(before, rows, region.dataset));
      replaceList(data.html || "");
    }
    first = false;
    region.dataset.live = "on";
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (e.g. the session expired): EventSource does not retry by itself.
      setState("stopped");
      region.dataset.live = "stopped";
    } else {
      setState("offline");
      region.dataset.live = "reconnecting";
    }
  });
  window.addEventListener("pagehide", () => source.close(), { once: true });
}

if (region && region.dataset.events && "EventSource" in window) {
  connect();
}
