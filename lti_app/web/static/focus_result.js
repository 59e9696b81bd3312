// A page that answers a form (a preview, a list of errors) puts the answer at the top and marks
// it data-focus-on-load: move the keyboard and screen-reader focus there, so the answer is
// read out and the next Tab starts from it rather than from the top of the page.
(function () {
  "use strict";
  var target = document.querySelector("[data-focus-on-load]");
  if (target) { target.focus(); }
}());
