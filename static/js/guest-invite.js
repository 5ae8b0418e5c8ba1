// The clerk's invitation of an interpreter (app/templates/call/_guest_panel.html): create and
// withdraw the one-time guest link, see the guest waiting, let them in.

import { messages, format } from "./call.js";
import { admitGuest } from "./call-mesh.js";
import { site } from "./site.js";

const $ = (id) => document.getElementById(id);
const panel = $("guest-panel");
const texts = messages("guest-panel-messages");
const form = $("guest-form");
const box = $("guest-link-box");
const linkField = $("guest-link");
const stateText = $("guest-state");
const admitButton = $("admit-guest");

function say(key, params = {}) {
  stateText.dataset.state = key;
  stateText.textContent = format(texts[key] || "", params);
}

async function post(path, fields) {
  const body = new URLSearchParams({ csrf_token: panel.dataset.csrf, ...fields });
  const response = await fetch(panel.dataset.url + path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body,
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON
  }
  if (!response.ok) throw new Error((data && data.error && data.error.message) || texts.failed);
  return data;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(form).entries());
  try {
    const data = await post("", fields);
    // The address as this browser reaches the office (the configured one may be another).
    linkField.value = new URL(site(data.path), window.location.origin).href;
    box.hidden = false;
    say("created", { label: data.label });
    linkField.focus();
    linkField.select();
  } catch (error) {
    stateText.dataset.state = "failed";
    stateText.textContent = error.message;
  }
});

$("copy-guest-link").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(linkField.value);
  } catch {
    linkField.select();
    document.execCommand("copy");
  }
  say("copied");
});

$("revoke-guest").addEventListener("click", async () => {
  try {
    await post("/revoke", {});
    linkField.value = "";
    box.hidden = true;
    admitButton.hidden = true;
    say("revoked");
  } catch (error) {
    stateText.textContent = error.message;
  }
});

// After a reload: a link still in force is shown (its address is not kept), so that it can be
// withdrawn.
fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
  .then((response) => (response.ok ? response.json() : null))
  .then((data) => {
    if (!data || !data.active || linkField.value) return;
    linkField.value = "";
    linkField.placeholder = texts["in-force"] || "";
    box.hidden = false;
    say("created", { label: data.label });
  })
  .catch(() => {});

admitButton.addEventListener("click", () => {
  if (admitGuest()) admitButton.hidden = true;
});

document.addEventListener("call-guest-waiting", () => {
  admitButton.hidden = false;
  say("waiting");
});
document.addEventListener("call-mesh", (event) => {
  if (event.detail.role !== "guest") return;
  if (event.detail.state === "left") {
    say("left");
  } else {
    admitButton.hidden = true;
    say("in-call");
  }
});
