// The clerk's message to the waiting room on the call page (call/_waiting_message.html): sent
// with the page's session and CSRF token to /staff/waiting-message, without leaving the call.

const form = document.getElementById("waiting-message-form");

async function send(event) {
  event.preventDefault();
  const result = document.getElementById("waiting-message-result");
  const input = document.getElementById("waiting-message");
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
    // shown below
  }
  form.dataset.submitting = "false"; // app.js's double-submit guard: allow sending again
  if (response && response.ok) {
    result.textContent = form.dataset.textSent;
    form.dataset.sent = String((data && data.sent) || 0);
    input.value = "";
  } else {
    result.textContent = (data && data.error && data.error.message) || form.dataset.textFailed;
  }
}

if (form) form.addEventListener("submit", send);
