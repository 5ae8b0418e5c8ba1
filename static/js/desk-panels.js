// The clerk's desk panels beside the call (app/templates/call/_desk_macros.html).
//
// Without this script every form posts and the page comes back (which would drop the video
// call). With it, the forms are sent in the background (`X-Requested-With: desk`) and the
// server's re-rendered panel replaces the old one, so the call keeps running; a refusal that
// is not about the form (an expired session or form, another office) comes in the site's one
// JSON error shape, `{"error": {"code", "message"}}`, and its message is shown. It also hides
// what does not apply: the other document types' security features, the reason fields of a
// verified check, the authority's name unless another authority delivers, and empty item rows
// (behind "Add another item"); and it shows the running total of the fee items.

const desk = document.getElementById("desk");

function format(text, params) {
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function checkedValue(form, name) {
  const input = form.querySelector(`input[name="${name}"]:checked`);
  return input ? input.value : "";
}

function announce(text) {
  const region = document.getElementById("desk-announce");
  if (!region || !text) return;
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

// --- identity check ---------------------------------------------------------------------------

function updateFeatures(form) {
  const chosen = checkedValue(form, "document_type");
  let ticked = 0;
  form.querySelectorAll(".feature-group").forEach((group) => {
    const visible = group.dataset.docType === chosen;
    group.hidden = !visible;
    if (visible) ticked = group.querySelectorAll("input:checked").length;
  });
  const choose = form.querySelector("[data-features-choose]");
  if (choose) choose.hidden = chosen !== "";
  const count = form.querySelector("[data-feature-count]");
  const fieldset = form.querySelector("#features");
  if (count && fieldset) {
    count.hidden = chosen === "";
    count.textContent = format(desk.dataset.textCount, { count: ticked, min: fieldset.dataset.min });
  }
}

function updateOutcome(form) {
  const failed = form.querySelector("[data-failed]");
  if (!failed) return;
  const hasError = failed.querySelector("[aria-invalid='true']") !== null;
  failed.hidden = checkedValue(form, "outcome") !== "failed" && !hasError;
}

function enhanceIdentity() {
  const form = document.getElementById("identity-form");
  if (!form) return;
  updateFeatures(form);
  updateOutcome(form);
  form.addEventListener("change", (event) => {
    const name = event.target.name || "";
    if (name === "document_type" || name.startsWith("features_")) updateFeatures(form);
    if (name === "outcome") updateOutcome(form);
  });
}

// --- completion -------------------------------------------------------------------------------

function updateTotal(form) {
  const line = form.querySelector("[data-total-line]");
  const output = document.getElementById("desk-total");
  if (!line || !output) return;
  let cents = 0;
  let currency = "EUR";
  form.querySelectorAll("[data-item-row]").forEach((row) => {
    const option = row.querySelector("[data-item-service]")?.selectedOptions[0];
    const quantity = Number.parseInt(row.querySelector("[data-item-quantity]")?.value || "0", 10);
    if (!option || !option.value || !(quantity > 0)) return;
    cents += Number.parseInt(option.dataset.fee || "0", 10) * quantity;
    currency = option.dataset.currency || currency;
  });
  const lang = document.documentElement.lang || "de";
  output.textContent = cents === 0 ? desk.dataset.textFree
    : new Intl.NumberFormat(lang, { style: "currency", currency }).format(cents / 100);
  line.hidden = false;
}

function updateDelivery(form) {
  const authority = form.querySelector("[data-authority]");
  if (!authority) return;
  const hasError = authority.querySelector("[aria-invalid='true']") !== null;
  authority.hidden = checkedValue(form, "delivery") !== "external" && !hasError;
}

function enhanceCompletion() {
  const form = document.getElementById("completion-form");
  if (!form) return;
  const rows = [...form.querySelectorAll("[data-item-row]")];
  rows.forEach((row, index) => { row.hidden = index > 0 && row.dataset.filled !== "yes"; });
  const add = document.getElementById("add-item");
  const refreshAdd = () => { if (add) add.hidden = !rows.some((row) => row.hidden); };
  refreshAdd();
  add?.addEventListener("click", () => {
    const next = rows.find((row) => row.hidden);
    if (!next) return;
    next.hidden = false;
    refreshAdd();
    next.querySelector("select")?.focus();
  });
  updateTotal(form);
  updateDelivery(form);
  form.addEventListener("change", (event) => {
    if (event.target.name === "delivery") updateDelivery(form);
    updateTotal(form);
  });
  form.addEventListener("input", () => updateTotal(form));
}

// --- sending without leaving the call ----------------------------------------------------------

function replaceParts(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const fragment = doc.getElementById("desk-fragment");
  if (!fragment) return null;
  for (const part of [...fragment.children]) {
    const old = part.id ? document.getElementById(part.id) : null;
    if (old) old.replaceWith(document.importNode(part, true));
  }
  return fragment;
}

/** The message of a JSON error answer, or "" (no answer, or not one of ours). */
async function errorMessage(response) {
  const type = response?.headers.get("content-type") || "";
  if (!type.startsWith("application/json")) return "";
  try {
    const data = await response.json();
    return (data && data.error && data.error.message) || "";
  } catch {
    return "";
  }
}

function showFailure(form, message) {
  let note = form.querySelector("[data-send-failed]");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error";
    note.setAttribute("role", "alert");
    note.dataset.sendFailed = "";
    form.prepend(note);
  }
  note.textContent = message || desk.dataset.textFailed;
}

async function send(form, submitter) {
  const data = new FormData(form);
  if (submitter && submitter.name) data.append(submitter.name, submitter.value);
  form.dataset.deskSending = "true";
  form.setAttribute("aria-busy", "true");
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-Requested-With": "desk", Accept: "text/html, application/json" },
      credentials: "same-origin",
    });
  } catch {
    response = null;
  }
  form.dataset.deskSending = "false";
  form.dataset.submitting = "false"; // app.js's double-submit guard: allow sending again
  form.removeAttribute("aria-busy");
  const type = response?.headers.get("content-type") || "";
  const fragment = response && type.startsWith("text/html") ? replaceParts(await response.text()) : null;
  if (!fragment) {
    showFailure(form, await errorMessage(response));
    return;
  }
  enhance();
  announce(fragment.dataset.announce);
  const errors = document.querySelector("#desk [data-desk-errors]");
  const target = errors || (fragment.dataset.focus && document.getElementById(fragment.dataset.focus));
  if (target) {
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  }
}

function enhance() {
  enhanceIdentity();
  enhanceCompletion();
}

if (desk) {
  enhance();
  desk.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-desk-form")) return;
    event.preventDefault();
    if (form.dataset.deskSending === "true") return;
    send(form, event.submitter);
  });
  // Error summary links inside re-rendered panels focus their field.
  desk.addEventListener("click", (event) => {
    const link = event.target.closest?.("[data-desk-errors] a[href^='#']");
    if (!link) return;
    const input = document.getElementById(link.getAttribute("href").slice(1));
    if (!input) return;
    event.preventDefault();
    input.closest(".field")?.scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  });
}
