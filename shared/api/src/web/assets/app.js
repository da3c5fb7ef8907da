// Leadwatch queue countdowns. The server renders each countdown as text (so the page
// reads fine without this script) with, as data attributes, the business seconds left
// at render time, whether the team's business clock is running, and in how many
// seconds that changes (the office closes or opens). Counting from the page's own load
// time keeps a wrong browser clock out of it; at a change the page reloads to get the
// next interval from the server.
(function () {
  "use strict";
  var loaded = Date.now();
  var cells = document.querySelectorAll("[data-left]");
  if (!cells.length) return;

  function label(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var amount = minutes >= 60
      ? Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min"
      : minutes + " min";
    return seconds < 0 ? "overdue by " + amount : amount + " left";
  }

  function tick() {
    var elapsed = Math.floor((Date.now() - loaded) / 1000);
    var reload = false;
    cells.forEach(function (cell) {
      var left = Number(cell.getAttribute("data-left"));
      var ticking = cell.getAttribute("data-ticking") === "1";
      var changeIn = cell.hasAttribute("data-change-in") ? Number(cell.getAttribute("data-change-in")) : null;
      var run = changeIn === null ? elapsed : Math.min(elapsed, changeIn);
      var now = ticking ? left - run : left;
      if (changeIn !== null && elapsed >= changeIn) reload = true;
      var text = label(now);
      if (cell.textContent !== text) cell.textContent = text;
      cell.setAttribute("data-now", String(now));
      var row = cell.closest("tr");
      if (row) row.classList.toggle("overdue", now < 0);
    });
    if (reload) window.location.reload();
  }

  tick();
  window.setInterval(tick, 1000);
})();
