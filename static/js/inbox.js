// The Costs and Sales inboxes (templates/costs/inbox.html, sales_inbox.html). No inline scripts: the
// Content-Security-Policy allows only our own files.
(() => {
  // Filters apply on change: the form is submitted (htmx swaps the results in, keeping the focus in
  // the filters; without htmx it is an ordinary GET). The supplier type-ahead's text field is left
  // out: its hidden value field reports the choice.
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-apply-on-change]");
    if (!form || event.target.matches("[role=combobox]")) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  });

  // A bulk publish's progress names each item's status as it lands: the rows of the table follow,
  // and an item that can no longer change (being published, published) loses its checkbox.
  const CHANGEABLE = new Set(["to_review", "ready", "failed"]);
  function followProgress(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const entries = [...scope.querySelectorAll("[data-progress-item]")];
    if (root && root.matches && root.matches("[data-progress-item]")) entries.push(root);
    entries.forEach((entry) => {
      const row = document.querySelector(`tr[data-item="${entry.dataset.progressItem}"]`);
      if (!row) return;
      const badge = row.querySelector("[data-status]");
      if (badge && badge.textContent !== entry.dataset.statusLabel) {
        badge.textContent = entry.dataset.statusLabel;
        badge.className = `badge status-${entry.dataset.status}`;
      }
      if (!CHANGEABLE.has(entry.dataset.status)) {
        const box = row.querySelector('input[type=checkbox][name="items"]');
        if (box) box.remove();
      }
    });
    const counter = document.querySelector("[data-selected-count]");
    if (counter) {
      const n = document.querySelectorAll(`input[name="${counter.dataset.selectedCount}"]:checked`).length;
      counter.textContent = n ? `${n} selected` : "";
    }
  }
  document.addEventListener("htmx:load", (event) => followProgress(event.target));
  document.addEventListener("DOMContentLoaded", () => followProgress(document));
})();
