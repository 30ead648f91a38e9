// The item page's document viewer (templates/costs/_item_document.html): zoom, rotate, and page through
// a PDF's pages (rendered as images by the server). Every control is a labelled button; on the page
// itself (focus it with Tab) + and − zoom, 0 fits to width, R rotates, Page Up/Page Down and the arrow
// keys turn pages.
(() => {
  const STEPS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4];
  document.querySelectorAll("[data-viewer]").forEach((viewer) => {
    const pages = viewer.dataset.pages.split(" ").filter(Boolean);
    const name = viewer.dataset.name;
    const frame = viewer.querySelector(".viewer-frame");
    const stage = viewer.querySelector("[data-viewer-stage]");
    const image = viewer.querySelector("[data-viewer-image]");
    const zoomLabel = viewer.querySelector("[data-viewer-zoom]");
    const pageLabel = viewer.querySelector("[data-viewer-page]");
    const button = (action) => viewer.querySelector(`[data-viewer-action="${action}"]`);
    let step = 2;
    let rotation = 0;
    let page = 0;

    const layout = () => {
      if (!image.naturalWidth) return;
      const turned = rotation % 180 !== 0;
      const natural = [image.naturalWidth, image.naturalHeight];
      const fit = Math.max(frame.clientWidth - 2, 50) / (turned ? natural[1] : natural[0]);
      const scale = fit * STEPS[step];
      const [w, h] = [natural[0] * scale, natural[1] * scale];
      image.style.width = `${w}px`;
      image.style.height = `${h}px`;
      stage.style.width = `${turned ? h : w}px`;
      stage.style.height = `${turned ? w : h}px`;
      const shift = { 0: "", 90: `translate(${h}px, 0)`, 180: `translate(${w}px, ${h}px)`, 270: `translate(0, ${w}px)` };
      image.style.transform = `${shift[rotation]} rotate(${rotation}deg)`;
      zoomLabel.textContent = `${Math.round(STEPS[step] * 100)}%`;
      button("zoom-in").disabled = step === STEPS.length - 1;
      button("zoom-out").disabled = step === 0;
    };

    const show = (next) => {
      if (next < 0 || next >= pages.length) return;
      page = next;
      image.src = pages[page];
      image.alt = `Page ${page + 1} of ${name}`;
      if (pageLabel) pageLabel.textContent = `Page ${page + 1} of ${pages.length}`;
      if (button("prev")) button("prev").disabled = page === 0;
      if (button("next")) button("next").disabled = page === pages.length - 1;
    };

    const act = (action) => {
      if (action === "zoom-in") step = Math.min(step + 1, STEPS.length - 1);
      if (action === "zoom-out") step = Math.max(step - 1, 0);
      if (action === "fit") step = 2;
      if (action === "rotate") rotation = (rotation + 90) % 360;
      if (action === "prev") show(page - 1);
      if (action === "next") show(page + 1);
      viewer.dataset.rotation = String(rotation);
      layout();
    };

    viewer.addEventListener("click", (event) => {
      const target = event.target.closest("[data-viewer-action]");
      if (target) act(target.dataset.viewerAction);
    });
    frame.addEventListener("keydown", (event) => {
      const keys = {
        "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "0": "fit", r: "rotate", R: "rotate",
        PageUp: "prev", ArrowLeft: "prev", PageDown: "next", ArrowRight: "next",
      };
      const action = keys[event.key];
      if (!action || event.ctrlKey || event.metaKey || event.altKey) return;
      event.preventDefault();
      act(action);
    });
    image.addEventListener("load", layout);
    window.addEventListener("resize", layout);
    if (image.complete) layout();
  });
})();
