// LTI Platform Storage (1EdTech client-side postMessages), used when Canvas sends
// lti_storage_target: at login we store the state in Canvas's storage frame, at launch we
// read it back and only then post the id_token to the tool. Messages go to Canvas's
// forwarding frame with the OIDC auth origin as target; replies count only from that origin
// and with our message_id. Without a forwarding frame (target "_parent", or inside the Rich
// Content Editor) Canvas accepts "*" to the parent; replies then must come from the tenant's
// Canvas origin (our CSP lets only that origin frame this page).
(function () {
  "use strict";
  var el = document.getElementById("lti-storage");
  if (!el) { return; }
  var mode = el.dataset.mode, target = el.dataset.target, origin = el.dataset.origin;
  var canvasOrigin = el.dataset.canvasOrigin;
  var state = el.dataset.state, key = "state-" + state;

  function channel() {
    if (target && target !== "_parent") {
      try {
        if (window.parent.frames[target]) {
          return { win: window.parent.frames[target], to: origin, from: [origin] };
        }
      } catch (e) { /* cross-origin access refused: fall back to the parent */ }
    }
    return { win: window.parent, to: "*", from: [canvasOrigin, origin] };
  }

  function ask(subject, extra, timeoutMs) {
    var ch = channel();
    return new Promise(function (resolve, reject) {
      var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
      var timer = setTimeout(function () { window.removeEventListener("message", onMessage); reject(new Error("timeout")); }, timeoutMs);
      function onMessage(event) {
        var data = event.data || {};
        if (ch.from.indexOf(event.origin) < 0 || data.message_id !== id || data.subject !== subject + ".response") { return; }
        clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        if (data.error) { reject(new Error(data.error.code || "error")); } else { resolve(data); }
      }
      window.addEventListener("message", onMessage);
      var message = Object.assign({ subject: subject, message_id: id }, extra);
      ch.win.postMessage(message, ch.to);
    });
  }

  if (mode === "put") {
    var next = el.dataset.next;
    if (window.parent === window) { window.location.assign(next); return; }  // not framed: nobody to ask
    ask("lti.put_data", { key: key, value: state }, 2000)
      .catch(function () { /* storage unavailable: the state cookie remains the binding */ })
      .then(function () { window.location.assign(next); });
  } else if (mode === "get") {
    ask("lti.get_data", { key: key }, 2000).then(function (reply) {
      if (reply.value === state) {
        // The server sends this page with "Referrer-Policy: same-origin" so the browser
        // gives the relay POST its real Origin (under no-referrer it would say "null").
        document.getElementById("lti-relay").submit();
      } else {
        throw new Error("mismatch");
      }
    }).catch(function () {
      document.querySelector(".loading").hidden = true;
      document.getElementById("lti-storage-failed").hidden = false;
    });
  }
}());
