// Dynamic Registration (docs/canvas.md §5): the tool's page runs in the frame and posts
// {subject: "org.imsglobal.lti.close"} when it is done; only that frame, from the tool's
// origin, may close the dialog.
(function () {
  "use strict";
  var frame = document.getElementById("registration_frame");
  if (!frame) { return; }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== frame.contentWindow || event.origin !== frame.dataset.toolOrigin) { return; }
    if (data.subject === "org.imsglobal.lti.close") {
      window.location.assign(frame.dataset.doneUrl);
    }
  });
}());
