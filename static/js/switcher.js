// The account switcher in the top bar (templates/accounts/_switcher.html): a disclosure button opens a
// search box and the matching accounts, which htmx asks of the switcher's own search. Keyboard: Enter
// or Space on the button opens it; type to search; Down/Up move between the box and the accounts;
// Enter in the box opens the first match; Escape closes and returns to the button.
(() => {
  const parts = (el) => {
    const box = el.closest("[data-switcher]");
    return box && {
      box,
      toggle: box.querySelector("[data-switcher-toggle]"),
      panel: box.querySelector("[data-switcher-panel]"),
      search: box.querySelector("[data-switcher-search]"),
      options: box.querySelector("[data-switcher-options]"),
    };
  };
  const links = (p) => [...p.options.querySelectorAll("a")];
  const isOpen = (p) => !p.panel.hidden;

  function open(p) {
    p.panel.hidden = false;
    p.toggle.setAttribute("aria-expanded", "true");
    if (!p.options.dataset.loaded && window.htmx) {
      p.options.dataset.loaded = "1";
      window.htmx.trigger(p.search, "switcher-open");
    }
    p.search.focus();
  }
  function close(p, { focus = true } = {}) {
    p.panel.hidden = true;
    p.toggle.setAttribute("aria-expanded", "false");
    if (focus) p.toggle.focus();
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-switcher-toggle]");
    if (toggle) {
      const p = parts(toggle);
      if (isOpen(p)) close(p); else open(p);
      return;
    }
    // A click anywhere else closes an open switcher.
    document.querySelectorAll("[data-switcher]").forEach((box) => {
      const p = parts(box);
      if (isOpen(p) && !box.contains(event.target)) close(p, { focus: false });
    });
  });

  document.addEventListener("keydown", (event) => {
    const p = parts(event.target);
    if (!p || !isOpen(p)) return;
    const all = links(p);
    const at = all.indexOf(document.activeElement);
    switch (event.key) {
      case "Escape":
        event.preventDefault();
        close(p);
        break;
      case "ArrowDown":
        if (!all.length) return;
        event.preventDefault();
        all[at < 0 ? 0 : Math.min(at + 1, all.length - 1)].focus();
        break;
      case "ArrowUp":
        if (at < 0) return;
        event.preventDefault();
        if (at === 0) p.search.focus(); else all[at - 1].focus();
        break;
      case "Enter":
        if (event.target === p.search && all.length) {
          event.preventDefault(); // the first match, not the full switcher page
          all[0].click();
        }
        break;
      default:
    }
  });

  // Tabbing out of the switcher closes it.
  document.addEventListener("focusout", (event) => {
    const p = parts(event.target);
    if (!p || !isOpen(p)) return;
    setTimeout(() => {
      if (!p.box.contains(document.activeElement) && document.activeElement !== document.body) {
        close(p, { focus: false });
      }
    }, 0);
  });
})();
