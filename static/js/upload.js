// The Upload page (templates/costs/upload.html): files dropped or chosen are sent one request per file,
// so each shows its own progress (XMLHttpRequest's upload progress) and its own answer: uploaded, with a
// link to its item, or refused and why. The server checks everything again; what is refused here (too
// many files, too large) never leaves the browser. Without this script the form posts all files at once.
(() => {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector("[data-dropzone]");
  const list = document.querySelector("[data-upload-list]");
  const summary = document.querySelector("[data-upload-summary]");
  const section = document.querySelector(".upload-results");
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxBytes) * 1024 * 1024;
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  // One file at a time: each gets the whole connection, and its bar moves from start to end.
  const AT_ONCE = 1;
  let done = 0;
  let ok = 0;
  let total = 0;

  const row = (name) => {
    const li = document.createElement("li");
    li.className = "upload-row";
    const label = document.createElement("span");
    label.className = "upload-name";
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Uploading ${name}`);
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "Waiting…";
    li.append(label, bar, status);
    list.append(li);
    return { li, bar, status };
  };

  const finish = (parts, result) => {
    parts.bar.value = 100;
    parts.bar.remove();
    parts.li.classList.add(result.ok ? "ok" : "refused");
    parts.status.textContent = result.ok ? `Uploaded. ${result.message} ` : `Refused: ${result.message}`;
    if (result.ok && result.url) {
      const link = document.createElement("a");
      link.href = result.url;
      link.textContent = "Open it";
      parts.status.append(link);
    }
    done += 1;
    if (result.ok) ok += 1;
    summary.textContent =
      done < total ? `${done} of ${total} done…` : `${ok} of ${total} file${total === 1 ? "" : "s"} uploaded.`;
  };

  const send = (file, parts, batch) =>
    new Promise((resolve) => {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", token);
      data.append("type", form.querySelector("input[name=type]:checked")?.value || "");
      data.append("batch", String(batch));
      data.append("filename", file.name);
      data.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.round((event.loaded / event.total) * 100);
        parts.bar.value = percent;
        parts.status.textContent = `Uploading… ${percent}%`;
      });
      xhr.addEventListener("load", () => {
        let result;
        try {
          result = JSON.parse(xhr.responseText);
        } catch {
          result = { ok: false, message: `the server answered ${xhr.status}. Try again.` };
        }
        finish(parts, result);
        resolve();
      });
      xhr.addEventListener("error", () => {
        finish(parts, { ok: false, message: "the connection failed. Try again." });
        resolve();
      });
      parts.status.textContent = "Uploading…";
      xhr.send(data);
    });

  const upload = async (files) => {
    files = Array.from(files);
    if (!files.length) return;
    section.removeAttribute("data-empty");
    if (files.length > maxFiles) {
      summary.textContent = `${files.length} files were chosen: upload up to ${maxFiles} at once. Nothing was uploaded; choose fewer and try again.`;
      return;
    }
    total += files.length;
    const queue = [];
    for (const file of files) {
      const parts = row(file.name);
      if (file.size > maxBytes) {
        finish(parts, {
          ok: false,
          message: `${file.name} is ${(file.size / 1048576).toFixed(1)} MB: files may be up to ${maxBytes / 1048576} MB.`,
        });
      } else if (file.size === 0) {
        finish(parts, { ok: false, message: `${file.name} is empty.` });
      } else {
        queue.push([file, parts]);
      }
    }
    const workers = Array.from({ length: Math.min(AT_ONCE, queue.length) }, async () => {
      while (queue.length) {
        const [file, parts] = queue.shift();
        await send(file, parts, files.length);
      }
    });
    await Promise.all(workers);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(input.files);
    input.value = "";
  });
  input.addEventListener("change", () => {
    upload(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }),
  );
  ["dragleave", "drop"].forEach((name) =>
    zone.addEventListener(name, () => zone.classList.remove("dragging")),
  );
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    upload(event.dataTransfer.files);
  });
})();
