// Progressive enhancement only: the page reads and its form submits without this.
// With it, picking a value applies it at once, and the custom dates show only when chosen.
"use strict";
document.documentElement.classList.add("js");
for (const form of document.querySelectorAll("form.controls")) {
  const dates = (select) => form.querySelectorAll(`input[name^="${CSS.escape(select.name)}."]`);
  const sync = (select) => {
    const custom = select.value === "custom";
    for (const input of dates(select)) input.hidden = !custom;
    return custom;
  };
  for (const select of form.querySelectorAll("select")) {
    sync(select);
    select.addEventListener("change", () => {
      if (!sync(select)) form.requestSubmit();
    });
  }
  for (const input of form.querySelectorAll("input[type=date]")) {
    input.addEventListener("change", () => {
      const [start, end] = dates({ name: input.name.split(".")[0] });
      if (start.value && end.value) form.requestSubmit();
    });
  }
  // Only the chosen date range's dates travel in the URL.
  form.addEventListener("submit", () => {
    for (const select of form.querySelectorAll("select")) {
      for (const input of dates(select)) input.disabled = select.value !== "custom";
    }
  });
}
