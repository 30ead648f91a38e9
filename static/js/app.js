// Small behaviours without inline scripts (the Content-Security-Policy allows only our own files).
document.addEventListener("change", (event) => {
  // "Select all" checkbox for tables of items.
  const all = event.target.closest("input[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => {
    box.checked = all.checked;
  });
});
document.addEventListener("change", (event) => {
  // Costs inbox: say how many items the bulk action will change.
  const box = event.target.closest("input[type=checkbox]");
  const counter = document.querySelector("[data-selected-count]");
  if (!box || !counter) return;
  const n = document.querySelectorAll(`input[name="${counter.dataset.selectedCount}"]:checked`).length;
  counter.textContent = n ? `${n} selected` : "";
});

// Type-ahead choice (templates/costs/_choose.html; why ours and not a library: costs/list_views.py).
// A combobox input, a hidden field with the chosen value, and a listbox the server fills 20 options at
// a time: the page never holds a whole list. Keyboard: type to search, Down/Up to move, Enter to
// choose, Escape to close and restore, Tab to leave. Delegated from the document, so fields swapped in
// by htmx (a change of Integration) work without being set up again.
(() => {
  const WAIT_MS = 200;
  const timers = new WeakMap();
  const requests = new WeakMap();

  const partsOf = (input) => {
    const box = input.closest("[data-choose]");
    return {
      box,
      input,
      hidden: box.querySelector("[data-choose-value]"),
      list: box.querySelector("[role=listbox]"),
      status: box.querySelector("[data-choose-status]"),
    };
  };
  const options = (p) => [...p.list.querySelectorAll("[role=option]")];
  const active = (p) => p.list.querySelector("[aria-selected=true]");

  const close = (p) => {
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  };
  const open = (p) => {
    p.list.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
  };
  const highlight = (p, option) => {
    options(p).forEach((o) => o.setAttribute("aria-selected", o === option ? "true" : "false"));
    if (option) {
      p.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  };
  const announce = (p) => {
    const n = p.list.querySelectorAll("[role=option]:not([data-more])").length;
    const more = p.list.querySelector("[data-more]") ? ", more available" : "";
    if (p.status) p.status.textContent = n ? `${n} result${n === 1 ? "" : "s"}${more}` : "No matches";
  };

  async function search(p, { offset = 0 } = {}) {
    const base = p.input.dataset.url;
    if (!base) return;
    const typed = p.input.value === p.input.dataset.label ? "" : p.input.value;
    const url = new URL(base, window.location.href);
    url.searchParams.set("q", typed.trim());
    if (offset) url.searchParams.set("offset", String(offset));
    const ticket = {};
    requests.set(p.input, ticket);
    let html;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      html = await response.text();
    } catch (error) {
      if (p.status) p.status.textContent = "Could not search just now: type again to retry.";
      return;
    }
    if (requests.get(p.input) !== ticket) return; // a newer search is on its way
    let firstNew = 0;
    if (offset) {
      p.list.querySelector("[data-more]")?.remove();
      firstNew = options(p).length;
      p.list.insertAdjacentHTML("beforeend", html);
    } else {
      p.list.innerHTML = html;
    }
    options(p).forEach((o, i) => { o.id = `${p.list.id}-${i}`; });
    open(p);
    announce(p);
    // "Show 20 more": the keyboard goes on from the first of the new options.
    if (offset) highlight(p, options(p)[firstNew] || null);
  }

  function choose(p, option) {
    if (option.dataset.more !== undefined) {
      search(p, { offset: Number(option.dataset.more) });
      return;
    }
    p.hidden.value = option.dataset.value;
    p.input.value = option.dataset.label;
    p.input.dataset.label = option.dataset.label;
    p.box.classList.remove("needs-choice");
    close(p);
    p.hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Leaving the field: a cleared field clears the choice; half-typed text goes back to the choice.
  function settle(p) {
    close(p);
    if (p.input.value.trim() === "" && p.input.dataset.label !== "") {
      p.hidden.value = "";
      p.input.dataset.label = "";
      p.hidden.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      p.input.value = p.input.dataset.label;
    }
  }

  const isChoose = (el) => el instanceof HTMLInputElement && el.getAttribute("role") === "combobox"
    && el.closest("[data-choose]");

  document.addEventListener("input", (event) => {
    if (!isChoose(event.target)) return;
    const p = partsOf(event.target);
    clearTimeout(timers.get(p.input));
    timers.set(p.input, setTimeout(() => search(p), WAIT_MS));
  });

  document.addEventListener("click", (event) => {
    if (isChoose(event.target)) {
      const p = partsOf(event.target);
      if (p.list.hidden) search(p);
      return;
    }
    const option = event.target.closest("[data-choose] [role=option]");
    if (option) choose(partsOf(option.closest("[data-choose]").querySelector("[role=combobox]")), option);
  });

  // Keep the focus in the input while an option is clicked (so the click lands before the blur).
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest("[data-choose] [role=listbox]")) event.preventDefault();
  });

  document.addEventListener("keydown", (event) => {
    if (!isChoose(event.target)) return;
    const p = partsOf(event.target);
    const all = options(p);
    const current = active(p);
    const at = current ? all.indexOf(current) : -1;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (p.list.hidden) { search(p); return; }
        highlight(p, all[Math.min(at + 1, all.length - 1)] || null);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (!p.list.hidden) highlight(p, all[Math.max(at - 1, 0)] || null);
        break;
      case "Enter":
        if (!p.list.hidden) {
          event.preventDefault(); // choosing never submits the form
          const only = all.filter((o) => o.dataset.more === undefined);
          if (current) choose(p, current);
          else if (only.length === 1) choose(p, only[0]); // one match: Enter takes it
        }
        break;
      case "Escape":
        if (!p.list.hidden) {
          event.preventDefault();
          close(p);
          p.input.value = p.input.dataset.label;
        }
        break;
      default:
    }
  });

  document.addEventListener("focusout", (event) => {
    if (!isChoose(event.target)) return;
    const p = partsOf(event.target);
    // Let a click on an option finish first.
    setTimeout(() => { if (document.activeElement !== p.input) settle(p); }, 150);
  });
})();
