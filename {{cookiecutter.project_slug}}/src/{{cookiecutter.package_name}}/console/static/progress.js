// Polls a group replay's status once a second and shows it, until the replay has finished.
"use strict";
(function () {
  const section = document.getElementById("progress");
  if (!section) return;
  const show = (id, value) => { document.getElementById(id).textContent = String(value); };
  async function poll() {
    const response = await fetch(section.dataset.statusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) { show("state", "status unavailable (" + response.status + ")"); return; }
    const status = await response.json();
    const bar = document.getElementById("progress-bar");
    bar.max = status.selected || 1;
    bar.value = status.done;
    show("done", status.done);
    show("selected", status.selected === null ? "…" : status.selected);
    for (const name of ["published", "skipped", "refused"]) show(name, status[name]);
    if (status.finished) {
      show("state", status.interrupted ? "cancelled" : "finished");
      const cancel = document.getElementById("cancel");
      if (cancel) cancel.remove();
      return;
    }
    show("state", status.cancelling ? "cancelling" : "running");
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
