// Small progressive enhancements; every page works without this file.
"use strict";

// Forms that do something hard to undo ask first: <form data-confirm="...">.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});

// A form submits once: a second click while the first request is on its way is ignored.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented) {
    return;
  }
  if (form.dataset.submitting === "true") {
    event.preventDefault();
    return;
  }
  form.dataset.submitting = "true";
});

// A field that names a person or a record (<input list="..." data-suggest="/route">)
// takes an email or reference typed in full; as the person types, its datalist is filled
// with suggestions from the route (the page itself never lists a whole register).
(() => {
  const timers = new WeakMap();
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.suggest || !input.list) {
      return;
    }
    window.clearTimeout(timers.get(input));
    timers.set(input, window.setTimeout(async () => {
      // A field of several references (data-multiple) suggests for the one being typed
      // after the last comma; a suggestion keeps those before it.
      const whole = input.value;
      const cut = input.dataset.multiple ? whole.lastIndexOf(",") + 1 : 0;
      const kept = cut > 0 ? `${whole.slice(0, cut).trimEnd()} ` : "";
      const typed = whole.slice(cut).trim();
      const list = input.list;
      if (typed === "") {
        list.replaceChildren();
        return;
      }
      const url = `${input.dataset.suggest}?q=${encodeURIComponent(typed)}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok || input.value !== whole) {
          return;
        }
        const suggestions = await response.json();
        list.replaceChildren(...suggestions.map(({ value, label }) => {
          const option = document.createElement("option");
          option.value = kept + value;
          option.textContent = label;
          return option;
        }));
      } catch {
        // Suggestions are a convenience: the field still takes what is typed.
      }
    }, 150));
  });
})();

// A form sent back with errors puts the focus on the first field in error, so that a
// screen reader reads its label and message (tied to it by aria-describedby) at once.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("main [aria-invalid='true']");
  if (invalid instanceof HTMLElement) {
    invalid.focus();
  }
});

// A table wider than the screen scrolls inside its box (.table-scroll). While it does, the
// box can be reached by keyboard and is named after the table, so that it can be scrolled
// with the arrow keys; a box that fits takes no stop in the tab order.
(() => {
  const boxes = () => document.querySelectorAll(".table-scroll");
  const label = (box) => {
    const table = box.querySelector("table");
    const caption = table?.caption?.textContent.trim();
    const heading = box.closest("section")?.querySelector("h2, h3")?.textContent.trim();
    return `${caption || heading || "Table"} (scrolls sideways)`;
  };
  const update = () => {
    for (const box of boxes()) {
      if (box.scrollWidth > box.clientWidth) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box));
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  };
  document.addEventListener("DOMContentLoaded", update);
  window.addEventListener("resize", update);
})();
