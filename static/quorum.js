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
      const typed = input.value.trim();
      const list = input.list;
      if (typed === "") {
        list.replaceChildren();
        return;
      }
      const url = `${input.dataset.suggest}?q=${encodeURIComponent(typed)}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok || input.value.trim() !== typed) {
          return;
        }
        const suggestions = await response.json();
        list.replaceChildren(...suggestions.map(({ value, label }) => {
          const option = document.createElement("option");
          option.value = value;
          option.textContent = label;
          return option;
        }));
      } catch {
        // Suggestions are a convenience: the field still takes what is typed.
      }
    }, 150));
  });
})();
