// The Canvas permission window has done its job: close it (the tool's frame in Canvas notices
// the new connection by itself). A browser that refuses leaves the page's own instructions.
(function () {
  "use strict";
  setTimeout(function () { window.close(); }, 1500);
}());
