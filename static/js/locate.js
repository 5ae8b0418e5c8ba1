// "Use my position" for the location fields of an online request form. Without this file the
// citizen types the coordinates (or describes the place); with it, a button next to them asks
// the browser for its position, only when pressed. No map and nothing sent anywhere: the
// numbers go into the two inputs, and the citizen sends the form as usual.

// The messages come with the page, in its language (data-asking, data-done, data-denied,
// data-failed on the box), from the server's message catalogue.

function enhance(box) {
  const key = box.getAttribute("data-locate");
  const form = box.closest("form");
  const lat = form && form.querySelector(`input[name="${key}.lat"]`);
  const lon = form && form.querySelector(`input[name="${key}.lon"]`);
  const button = box.querySelector("[data-locate-button]");
  const status = box.querySelector("[data-locate-status]");
  if (!lat || !lon || !button || !status) return;
  box.hidden = false;
  button.addEventListener("click", () => {
    const t = box.dataset;
    status.textContent = t.asking;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        status.textContent = t.done;
      },
      (error) => {
        status.textContent = error.code === error.PERMISSION_DENIED ? t.denied : t.failed;
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
    );
  });
}

if ("geolocation" in navigator && window.isSecureContext) {
  document.querySelectorAll("[data-locate]").forEach(enhance);
}
