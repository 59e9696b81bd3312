// Sent to Canvas: while results are pending, refresh the counts and the progress bar from the
// status endpoint, and reload the page (its table) once nothing is pending. Same approach as
// canvas_sync.js: bounded polling, the launch token in a header when cookies are refused, and
// window.mpNavigate to reload. Without JavaScript, "Check progress" reloads by hand.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var MAX_POLLS = 300;  // 15 minutes; after that "Check progress" still works
  var box = document.getElementById("wb-summary");
  if (!box || box.dataset.active !== "true") { return; }
  var launch = document.querySelector('meta[name="mp-launch"]');
  var headers = { "Accept": "application/json" };
  if (launch) { headers["X-Launch-Token"] = launch.content; }

  function go(url) {
    if (window.mpNavigate) { window.mpNavigate(url); } else { window.location.assign(url); }
  }

  // Only on change: rewriting the same text in the live region would be announced again.
  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) { el.textContent = String(value); }
  }

  function show(st) {
    text("wb-delivered", st.delivered);
    text("wb-pending", st.pending);
    text("wb-failed", st.failed);
    text("wb-progress-text", st.batch.text);
    var bar = document.getElementById("wb-progress");
    if (bar) {
      bar.max = Math.max(st.batch.total, 1);
      bar.value = st.batch.done;
      text("wb-progress", st.batch.text);
    }
  }

  var polls = 0;
  function tick() {
    if (++polls > MAX_POLLS) { return; }
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: headers })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (!st) { return; }  // refused (the session ended): leave the page as it is
        show(st);
        if (st.pending > 0) { setTimeout(tick, INTERVAL_MS); } else { go(box.dataset.pageUrl); }
      })
      .catch(function () { setTimeout(tick, INTERVAL_MS * 2); });
  }
  setTimeout(tick, INTERVAL_MS);
}());
