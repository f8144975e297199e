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

// <div data-date-for-option="specific_date">: shown only while that option is chosen in its form (a date
// that would be ignored is not offered).
function showDatesForOptions(root) {
  root.querySelectorAll("[data-date-for-option]").forEach((box) => {
    const form = box.closest("form");
    const chosen = form && form.querySelector("input[name=option]:checked");
    box.hidden = !(chosen && chosen.value === box.dataset.dateForOption);
  });
}
document.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.name === "option") {
    showDatesForOptions(event.target.form || document);
  }
});

// After a refusal the focus goes to the first field marked invalid (or the summary saying nothing was
// saved), so that keyboard and screen-reader users land on what needs correcting.
function focusFirstError(root) {
  const field = root.querySelector("[aria-invalid=true]");
  if (field) {
    field.focus();
    return true;
  }
  const summary = root.querySelector("[data-testid=form-errors]");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
    return true;
  }
  return false;
}
document.addEventListener("DOMContentLoaded", () => {
  showDatesForOptions(document);
  focusFirstError(document.querySelector("main") || document);
});
// A Preview replaces the change form and its preview (#change-step): then the focus moves.
document.addEventListener("htmx:afterSettle", () => {
  const root = document.getElementById("change-step");
  if (!root || root.dataset.settled) {
    return;
  }
  root.dataset.settled = "1";
  showDatesForOptions(root);
  if (!focusFirstError(root)) {
    const preview = root.querySelector("[data-testid=preview]");
    if (preview) {
      preview.setAttribute("tabindex", "-1");
      preview.focus();
    }
  }
});

// <input name="once_token"> (engage/once.py): a form that writes is written once. The back button brings the
// form page again, fetched anew with a new token but with what was typed put back: sent again, it would write
// twice. So a form remembers, for this tab, the token it was sent with, and a page reached by the back or
// forward button takes that token back: Save there replays the first answer ("already submitted").
const ONCE_KEY = (form) => `engage-once:${location.pathname} ${form.action}`;
document.addEventListener("submit", (event) => {
  const token = event.target.querySelector("input[name=once_token]");
  if (token) {
    sessionStorage.setItem(ONCE_KEY(event.target), token.value);
  }
});
document.addEventListener("DOMContentLoaded", () => {
  const [navigation] = performance.getEntriesByType("navigation");
  if (!navigation || navigation.type !== "back_forward") {
    return;
  }
  document.querySelectorAll("form input[name=once_token]").forEach((token) => {
    const sent = sessionStorage.getItem(ONCE_KEY(token.form));
    if (sent) {
      token.value = sent;
    }
  });
});
