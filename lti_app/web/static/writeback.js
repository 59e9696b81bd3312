// Sent to Canvas: while results are pending, refresh the counts and the progress bar from the
// status endpoint, and reload the page (its table) once nothing is pending. The polling is
// status_poll.js's, as canvas_sync.js's: bounded, the launch token in a header when cookies are
// refused, and window.mpNavigate to reload. Without JavaScript, "Check progress" reloads by hand.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var MAX_POLLS = 300;  // 15 minutes; after that "Check progress" still works
  var box = document.getElementById("wb-summary");
  if (!box || box.dataset.active !== "true") { return; }

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

  window.mpStatus.poll(box.dataset.statusUrl, INTERVAL_MS, INTERVAL_MS * 2, MAX_POLLS, function (st) {
    show(st);
    if (st.pending > 0) { return true; }
    window.mpStatus.go(box.dataset.pageUrl);
    return false;
  });
}());
