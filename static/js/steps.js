// Next steps on a page (no native dialogs anywhere: the Content-Security-Policy allows only our files).
//
// - Copy buttons: <button data-copy="ID"> copies the text of the element with that id and says
//   "Copied" in its <… role=status data-copy-status="ID">, so screen readers hear it too.
// - Polling (<… data-poll hx-get hx-trigger="every 3s">): a form sent from the page stops it first, so
//   its answer cannot redirect the page while the form's own answer is on its way.
// - Confirm steps: <details data-confirm-step> holds a question and the button that does it; Escape
//   closes an open one and returns to its summary. They work without this file too.
(() => {
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (error) {
        // Refused (no permission, no focus): fall back to selecting and copying.
      }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    area.remove();
    return done;
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const id = button.dataset.copy;
    const source = document.getElementById(id);
    const status = document.querySelector(`[data-copy-status="${id}"]`);
    if (!source) return;
    const ok = await copyText(source.textContent.trim());
    if (status) {
      status.textContent = "";
      // A fresh text each time, so a second copy is announced again.
      window.setTimeout(() => {
        status.textContent = ok ? "Copied" : "Could not copy: select the text and copy it.";
      }, 50);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const step = event.target.closest("details[data-confirm-step][open]");
    if (!step) return;
    event.preventDefault();
    step.open = false;
    step.querySelector("summary").focus();
  });

  document.addEventListener("submit", () => {
    document.querySelectorAll("[data-poll]").forEach((poller) => {
      if (window.htmx) window.htmx.trigger(poller, "htmx:abort");
      const still = poller.cloneNode(true);
      ["hx-get", "hx-trigger", "hx-swap", "data-poll"].forEach((name) => still.removeAttribute(name));
      poller.replaceWith(still); // htmx stops polling an element that left the page
    });
  });
})();
