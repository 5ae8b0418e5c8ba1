// Progressive enhancement for every page. Each flow works without this file; it only adds
// comfort: focus on the error summary, no double submits, a countdown for held appointments.

/** Move focus to the error summary so screen readers announce it and keyboard users start there. */
function focusErrorSummary() {
  const summary = document.querySelector("[data-error-summary]");
  if (summary instanceof HTMLElement) {
    summary.focus();
  }
}

/** Error summary links focus the field itself (and scroll its label into view). */
function linkErrorsToFields() {
  document.querySelectorAll("[data-error-summary] a[href^='#']").forEach((link) => {
    link.addEventListener("click", (event) => {
      const id = link.getAttribute("href").slice(1);
      const input = document.getElementById(id);
      if (!input) return;
      event.preventDefault();
      const field = input.closest(".field") || input;
      field.scrollIntoView({ block: "start" });
      input.focus({ preventScroll: true });
    });
  });
}

/** A second click while a form is being sent would book twice or show a confusing error. */
function preventDoubleSubmit() {
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.submitting === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "true";
      form.querySelectorAll("button[data-once]").forEach((button) => {
        button.setAttribute("aria-disabled", "true");
      });
      // If the user comes back with the back button (page cache), allow sending again.
      window.addEventListener("pageshow", () => {
        form.dataset.submitting = "false";
        form.querySelectorAll("button[data-once]").forEach((b) => b.removeAttribute("aria-disabled"));
      }, { once: true });
    });
  });
}

/** "Noch 12:34 Minuten" next to a hold deadline. Not a live region: it would talk every second. */
function startCountdowns() {
  // The page gives the texts in its language (data-countdown-label, data-countdown-expired).
  const lang = document.documentElement.lang || "de";
  document.querySelectorAll("[data-countdown]").forEach((element) => {
    const label = element.dataset.countdownLabel
      || (lang === "de" ? "Noch %s Minuten" : "%s minutes left");
    const expired = element.dataset.countdownExpired
      || (lang === "de" ? "Die Zeit ist abgelaufen." : "The time is up.");
    const deadline = Date.parse(element.getAttribute("data-countdown"));
    if (Number.isNaN(deadline)) return;
    const tick = () => {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (left === 0) {
        element.textContent = `(${expired})`;
        return false;
      }
      const minutes = Math.floor(left / 60);
      const seconds = String(left % 60).padStart(2, "0");
      element.textContent = `(${label.replace("%s", `${minutes}:${seconds}`)})`;
      return true;
    };
    element.hidden = false;
    if (tick()) {
      const timer = window.setInterval(() => {
        if (!tick()) window.clearInterval(timer);
      }, 1000);
    }
  });
}

focusErrorSummary();
linkErrorsToFields();
preventDoubleSubmit();
startCountdowns();
