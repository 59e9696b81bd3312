// LTI Platform Storage (1EdTech client-side postMessages), used when Canvas sends
// lti_storage_target: at login we store the state in Canvas's storage frame, at launch we
// read it back and only then post the id_token to the tool. Replies count only when they
// come from the OIDC auth origin and carry our message_id.
(function () {
  "use strict";
  var el = document.getElementById("lti-storage");
  if (!el) { return; }
  var mode = el.dataset.mode, target = el.dataset.target, origin = el.dataset.origin;
  var state = el.dataset.state, key = "state-" + state;

  function frame() {
    if (target && target !== "_parent") {
      try { if (window.parent.frames[target]) { return window.parent.frames[target]; } } catch (e) { /* cross-origin */ }
    }
    return window.parent;
  }

  function ask(subject, extra, timeoutMs) {
    return new Promise(function (resolve, reject) {
      var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
      var timer = setTimeout(function () { window.removeEventListener("message", onMessage); reject(new Error("timeout")); }, timeoutMs);
      function onMessage(event) {
        var data = event.data || {};
        if (event.origin !== origin || data.message_id !== id || data.subject !== subject + ".response") { return; }
        clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        if (data.error) { reject(new Error(data.error.code || "error")); } else { resolve(data); }
      }
      window.addEventListener("message", onMessage);
      var message = Object.assign({ subject: subject, message_id: id }, extra);
      frame().postMessage(message, origin);
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
        // The server accepts the relay only with Origin: <this tool>. Under the site-wide
        // "Referrer-Policy: no-referrer" browsers send "Origin: null" with a POST, so this
        // page narrows the policy to same-origin first (nothing leaves the tool's origin).
        var policy = document.createElement("meta");
        policy.name = "referrer";
        policy.content = "same-origin";
        document.head.appendChild(policy);
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
