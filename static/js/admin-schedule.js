// The schedule form: only the services offered at the chosen office can be ticked. The server
// already lists only those once it knows the office (editing, or after a save with errors); on a
// new schedule it lists every service, named with its offices, and this script hides the
// services of other offices as soon as an office is chosen. A hidden box is unticked, so what
// is sent is what is seen.

function filter(select, boxes) {
  const office = select.value;
  for (const box of boxes) {
    const offered = office === "" || box.dataset.offices.split(" ").includes(office);
    box.hidden = !offered;
    if (!offered) {
      const input = box.querySelector("input");
      if (input) input.checked = false;
    }
  }
}

const select = document.getElementById("office_id");
const boxes = Array.from(document.querySelectorAll(".choice[data-offices]"));
if (select && boxes.length) {
  select.addEventListener("change", () => filter(select, boxes));
  filter(select, boxes);
}
