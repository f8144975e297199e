// Engage's few page behaviours. They live here because the Content-Security-Policy refuses inline
// scripts and on* attributes; pages ask for a behaviour with a data- attribute.
"use strict";

// <input type="checkbox" data-select-all="CSS selector">: ticking it ticks (clearing it clears) every
// check box the selector names; it shows itself ticked, clear or mixed as those boxes change.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") {
    return;
  }
  if (box.dataset.selectAll) {
    document.querySelectorAll(box.dataset.selectAll).forEach((row) => {
      row.checked = box.checked;
    });
    box.indeterminate = false;
    return;
  }
  document.querySelectorAll("input[data-select-all]").forEach((all) => {
    const rows = Array.from(document.querySelectorAll(all.dataset.selectAll));
    if (rows.includes(box)) {
      const ticked = rows.filter((row) => row.checked).length;
      all.checked = ticked > 0 && ticked === rows.length;
      all.indeterminate = ticked > 0 && ticked < rows.length;
    }
  });
});
