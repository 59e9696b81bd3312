// Live character count under text areas that have a limit (data-limit). The limit is not a
// maxlength: a browser silently cuts a longer paste, so the whole text is kept, the count shows
// how far over it is, and the server refuses it with a message. Screen readers hear the count
// only when the text goes over the limit or back under it, not on every key.
(function () {
  "use strict";
  var fmt = function (n) { return n.toLocaleString("en-US"); };
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-limit]"), function (area) {
    var limit = parseInt(area.dataset.limit, 10);
    var count = document.getElementById(area.id + "-count");
    var alert = document.getElementById(area.id + "-over");
    if (!count || !limit) { return; }
    var wasOver = null;
    function update() {
      var n = area.value.trim().length;
      var over = n > limit;
      count.textContent = over
        ? fmt(n) + " characters: " + fmt(n - limit) + " over the limit of " + fmt(limit) + ". Shorten it before you send it."
        : fmt(n) + " of " + fmt(limit) + " characters";
      count.classList.toggle("over", over);
      if (alert && wasOver !== null && over !== wasOver) {
        alert.textContent = over
          ? "Too long: " + fmt(n - limit) + " characters over the limit of " + fmt(limit) + "."
          : "Now within the limit of " + fmt(limit) + " characters.";
      }
      wasOver = over;
    }
    area.addEventListener("input", update);
    update();
  });
}());
