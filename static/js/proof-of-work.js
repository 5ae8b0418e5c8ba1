// The booking form's proof of work (README "Proof of work"). As soon as the form is shown, a
// challenge is fetched from our own server (no cookies sent or set) and solved in a Web Worker,
// so the page stays responsive; the solution goes into the hidden field "altcha". Screen-reader
// users hear nothing of it unless it fails: then an alert says so and offers to try again.
// Sending the form before the check is done waits for it, then sends.

import { site } from "./site.js";

const WORKER_URL = "/static/js/proof-of-work-worker.js";
const RENEW_MARGIN_MS = 30_000; // solve a new challenge this long before the old one expires

function encode(challenge, number) {
  const payload = {
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number,
    salt: challenge.salt,
    signature: challenge.signature,
  };
  return btoa(JSON.stringify(payload));
}

function solveIn(worker, challenge) {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      if (event.data.number === null || event.data.number === undefined) {
        reject(new Error(event.data.error || "no solution"));
      } else {
        resolve(event.data);
      }
    };
    worker.onerror = (event) => reject(new Error(event.message || "worker failed"));
    worker.postMessage({
      challenge: challenge.challenge,
      salt: challenge.salt,
      maxNumber: challenge.maxNumber,
    });
  });
}

function setUp(form) {
  const field = form.querySelector("[data-proof-field]");
  const failed = form.querySelector("[data-proof-failed]");
  const retry = form.querySelector("[data-proof-retry]");
  let pending = null;
  let submitWhenDone = false;
  let renewTimer = null;

  async function run() {
    field.value = "";
    failed.hidden = true;
    let worker = null;
    try {
      worker = new Worker(WORKER_URL);
      const response = await fetch(site("/api/v1/challenge"), {
        credentials: "omit",
        cache: "no-store",
        headers: { accept: "application/json" },
      });
      if (!response.ok) throw new Error(`challenge: ${response.status}`);
      const challenge = await response.json();
      const solved = await solveIn(worker, challenge);
      field.value = encode(challenge, solved.number);
      form.dataset.proofMs = String(Math.round(solved.took));
      const renewIn = Date.parse(challenge.expires_at) - Date.now() - RENEW_MARGIN_MS;
      clearTimeout(renewTimer);
      if (renewIn > 0) renewTimer = setTimeout(start, renewIn);
      if (submitWhenDone) {
        submitWhenDone = false;
        form.submit();
      }
    } catch (error) {
      submitWhenDone = false;
      allowSendingAgain();
      failed.hidden = false;
      throw error;
    } finally {
      if (worker) worker.terminate();
    }
  }

  // app.js marks a form being sent and its buttons disabled; this one was not sent.
  function allowSendingAgain() {
    form.dataset.submitting = "false";
    form.querySelectorAll("button[data-once]").forEach((b) => b.removeAttribute("aria-disabled"));
  }

  function start() {
    pending = run();
    pending.catch(() => {}); // shown in the page; nothing to log
    return pending;
  }

  form.addEventListener("submit", (event) => {
    if (field.value) return;
    event.preventDefault();
    submitWhenDone = true;
    if (!failed.hidden) start();
  });
  retry.addEventListener("click", () => start());
  start();
}

document.querySelectorAll("form[data-proof-of-work]").forEach(setUp);
