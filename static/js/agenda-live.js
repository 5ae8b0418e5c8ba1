// The agenda's live status: listens to /staff/agenda/events (server-sent events) and updates
// each row's status badge, the "waiting now" highlight, the join button and the no-show button
// without a reload. A polite live region announces only what a clerk acts on: someone is
// waiting now, or an appointment's status changed. Without this script the page shows the
// state of its last load. The printable day list gets a print button.

const table = document.getElementById("agenda");
const live = document.getElementById("agenda-live");
const state = document.getElementById("agenda-live-state");
const changed = document.getElementById("agenda-changed");

/** "%(name)s" placeholders filled in, like the server's message ids. */
export function format(text, params) {
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function setState(name) {
  if (!state || !table) return;
  const text = table.dataset[`text${name[0].toUpperCase()}${name.slice(1)}`] || "";
  state.dataset.state = name;
  state.textContent = text;
  state.hidden = false;
}

function announce(messages) {
  if (!live || messages.length === 0) return;
  // A fresh text node each time, so the same sentence twice is read twice.
  live.textContent = "";
  window.setTimeout(() => { live.textContent = messages.join(" "); }, 50);
}

/** Applies one snapshot of the agenda; returns what is worth announcing. */
export function apply(rows, first) {
  const messages = [];
  const known = new Set();
  for (const item of rows) {
    const row = document.querySelector(`tr[data-reference="${CSS.escape(item.reference)}"]`);
    if (!row) continue;
    known.add(item.reference);
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
    const join = row.querySelector("[data-join]");
    if (join) {
      join.hidden = !item.can_join;
      join.classList.toggle("btn-primary", item.waiting);
      join.classList.toggle("btn-secondary", !item.waiting);
    }
    const noShow = row.querySelector("[data-no-show]");
    if (noShow) noShow.hidden = !item.can_no_show;
    if (first) continue;
    if (item.waiting && !wasWaiting) {
      messages.push(format(table.dataset.textWaiting, params));
    } else if (oldStatus !== item.status) {
      messages.push(format(table.dataset.textStatus, params));
    }
  }
  const rowCount = document.querySelectorAll("tr[data-reference]").length;
  // A new booking (or one gone) needs the whole page: offer a reload rather than reshuffle rows.
  if (changed && (rows.some((item) => !known.has(item.reference)) || known.size < rowCount)) {
    changed.hidden = false;
  }
  return messages;
}

function connect() {
  const url = table.dataset.events;
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
    announce(apply(rows, first));
    first = false;
    table.dataset.live = "on";
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (e.g. the session expired): EventSource does not retry by itself.
      setState("stopped");
      table.dataset.live = "stopped";
    } else {
      setState("offline");
      table.dataset.live = "reconnecting";
    }
  });
  window.addEventListener("pagehide", () => source.close(), { once: true });
}

if (table && table.dataset.events && "EventSource" in window) {
  connect();
}

const printButton = document.querySelector("[data-print]");
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
