// Live character count under text areas that have a limit (data-limit). The limit is not a
// maxlength: a browser silently cuts a longer paste, so the whole text is kept, the count shows
// how far over it is, and the server refuses it with a message. Screen readers hear the count
// only when the text goes over the limit or back under it, not on every key.
(function () {
  "use strict";
  // The page's language writes the numbers; its words come from the page (data-* attributes
  // the server translated: {n}, {over}, {limit} are filled in here), English if absent.
  var lang = document.documentElement.lang || "en";
  var fmt = function (n) { return n.toLocaleString(lang === "en" ? "en-US" : lang); };
  var say = function (text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return fmt(values[key]); });
  };
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-limit]"), function (area) {
    var limit = parseInt(area.dataset.limit, 10);
    var count = document.getElementById(area.id + "-count");
    var alert = document.getElementById(area.id + "-over");
    if (!count || !limit) { return; }
    var wasOver = null;
    function update() {
      var n = area.value.trim().length;
      var over = n > limit;
      var values = { n: n, over: n - limit, limit: limit };
      count.textContent = over
        ? say(count.dataset.over || "{n} characters: {over} over the limit of {limit}. Shorten it before you send it.", values)
        : say(count.dataset.of || "{n} of {limit} characters", values);
      count.classList.toggle("over", over);
      if (alert && wasOver !== null && over !== wasOver) {
        alert.textContent = over
          ? say(alert.dataset.tooLong || "Too long: {over} characters over the limit of {limit}.", values)
          : say(alert.dataset.within || "Now within the limit of {limit} characters.", values);
      }
      wasOver = over;
    }
    area.addEventListener("input", update);
    update();
  });
}());
