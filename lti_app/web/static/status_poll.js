// Polling a status endpoint, shared by canvas_sync.js and writeback.js (load it first): bounded,
// with the launch token in a header when cookies are refused, and window.mpNavigate to move on.
(function () {
  "use strict";
  var launch = document.querySelector('meta[name="mp-launch"]');
  var headers = { "Accept": "application/json" };
  if (launch) { headers["X-Launch-Token"] = launch.content; }

  // Without cookies a plain reload would lose the session: session_nav.js navigates instead.
  function go(url) {
    if (window.mpNavigate) { window.mpNavigate(url); } else { window.location.assign(url); }
  }

  // Fetch url every `every` ms (after a network error, `afterError` ms), at most `most` times,
  // while onStatus(status) returns true; a refusal (the session ended) stops it.
  function poll(url, every, afterError, most, onStatus) {
    var polls = 0;
    function tick() {
      if (++polls > most) { return; }
      fetch(url, { credentials: "same-origin", headers: headers })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (st) { if (st && onStatus(st)) { setTimeout(tick, every); } })
        .catch(function () { setTimeout(tick, afterError); });
    }
    setTimeout(tick, every);
  }

  window.mpStatus = { go: go, poll: poll };
}());
