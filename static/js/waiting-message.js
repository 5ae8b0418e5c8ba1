// The clerk's message to those waiting, sent with the page's session and CSRF token to
// /staff/waiting-message without leaving the page: on the call page (call/_waiting_message.html)
// here, on the agenda by agenda-alerts.js, both through sendWaitingMessage.

// Post a message form; returns the number of rooms it reached, or throws an Error whose
// message is the server's (or "" when there was no answer to read).
export async function sendWaitingMessage(form) {
  let response = null;
  let data = null;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    data = await response.json();
  } catch {
    // no answer, or not JSON: reported below
  }
  form.dataset.submitting = "false"; // app.js's double-submit guard: allow sending again
  if (!response || !response.ok || !data) {
    throw new Error((data && data.error && data.error.message) || "");
  }
  const input = form.querySelector("input[name=text], textarea[name=text]");
  if (input) input.value = "";
  form.dataset.sent = String(data.sent || 0);
  return data.sent || 0;
}

const form = document.getElementById("waiting-message-form");

async function send(event) {
  event.preventDefault();
  const result = document.getElementById("waiting-message-result");
  try {
    await sendWaitingMessage(form);
    result.textContent = form.dataset.textSent;
  } catch (error) {
    result.textContent = error.message || form.dataset.textFailed;
  }
}

if (form) form.addEventListener("submit", send);
