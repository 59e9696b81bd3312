// Course sync progress: poll the status while a sync runs and open the sync page (GET) when it
// ends (the page may have been reached by the POST of "Sync now", which cannot be reloaded); on the
// connect page, return to the sync page once the new window has finished connecting.
// Without JavaScript the pages work by reloading ("Check progress").
(function () {
  "use strict";
  var MAX_POLLS = 600;  // 15 minutes at 1.5 s: bounded, like every loop in the tool
  var go = window.mpStatus.go;

  function poll(url, onStatus) {
    window.mpStatus.poll(url, 1500, 5000, MAX_POLLS, onStatus);
  }

  var box = document.getElementById("sync-status");
  if (box && box.dataset.active === "true") {
    var bar = document.getElementById("sync-progress");
    var step = document.getElementById("sync-step");
    poll(box.dataset.statusUrl, function (st) {
      if (!st.run || !st.run.active) { go(box.dataset.pageUrl); return false; }
      if (bar) { bar.value = st.run.progress; bar.textContent = st.run.progress + "%"; }
      if (step) { step.textContent = st.run.step; }
      return true;
    });
  }

  var connect = document.getElementById("connect");
  if (connect) {
    poll(connect.dataset.statusUrl, function (st) {
      if (st.connected) { go(connect.dataset.doneUrl); return false; }
      return true;
    });
  }
}());
