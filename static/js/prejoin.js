// The citizen's choices before joining (app/templates/call/_prejoin.html): "join with the
// microphone off" and "join with the camera off". Each checkbox is kept in step with the call's
// own button (#mute, #camera-off, wired by call-page.js): ticking it switches the microphone or
// camera off right away (the preview shows it), and the call starts that way; the buttons in the
// call switch them on again, and the boxes follow.

const pairs = [
  [document.getElementById("join-muted"), document.getElementById("mute")],
  [document.getElementById("join-camera-off"), document.getElementById("camera-off")],
];

for (const [box, button] of pairs) {
  if (!box || !button) continue;
  const pressed = () => button.getAttribute("aria-pressed") === "true";
  box.addEventListener("change", () => {
    if (box.checked !== pressed()) button.click();
  });
  button.addEventListener("click", () => {
    // The button's own handler ran first (it was added earlier): follow its state.
    box.checked = pressed();
  });
}
