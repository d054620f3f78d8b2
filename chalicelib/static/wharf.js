// wharf's pages work without this file; it adds the live filter, copy buttons and live
// upload progress. Served from the app itself (CSP: script-src 'self', no inline script).
"use strict";

function liveFilter(input) {
  const list = document.querySelector(input.dataset.filter);
  const count = document.getElementById("project-count");
  const apply = () => {
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    for (const item of list.querySelectorAll("li[data-name]")) {
      const hit = !needle || item.dataset.name.includes(needle) || item.dataset.summary.includes(needle);
      item.hidden = !hit;
      if (hit) shown += 1;
    }
    if (count) count.textContent = shown + (shown === 1 ? " project" : " projects");
  };
  input.addEventListener("input", apply);
}

function copyButton(button) {
  button.addEventListener("click", async () => {
    const text = document.querySelector(button.dataset.copy).textContent;
    const status = button.parentElement.querySelector(".copied");
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      // Older browsers, or a page not in a secure context: select it for Ctrl-C.
      const range = document.createRange();
      range.selectNodeContents(document.querySelector(button.dataset.copy));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    if (status) status.textContent = "Copied";
  });
}

function liveRegion(region) {
  const refresh = async () => {
    try {
      const response = await fetch(region.dataset.refresh, { credentials: "same-origin" });
      if (response.ok) region.innerHTML = await response.text();
    } catch (error) {
      // The next round tries again.
    }
  };
  window.setInterval(refresh, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-filter]").forEach(liveFilter);
  document.querySelectorAll("button[data-copy]").forEach(copyButton);
  document.querySelectorAll("[data-refresh]").forEach(liveRegion);
});
