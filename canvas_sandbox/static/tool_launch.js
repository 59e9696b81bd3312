// Load the Platform Storage frame first, then post the login initiation into the tool frame,
// so the tool's first lti.put_data always finds a listener.
(function () {
  "use strict";
  var storage = document.getElementById("post_message_forwarding");
  var form = document.getElementById("tool_form");
  if (!storage || !form) { return; }
  storage.addEventListener("load", function () { form.submit(); }, { once: true });
  storage.src = storage.dataset.src;
}());
