// Small behaviours without inline scripts (the Content-Security-Policy allows only our own files).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
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
