// Class mastery grid: arrow-key navigation between the cells' links (one tab stop for the whole
// table, a "roving" tabindex), Home/End within a row, Ctrl+Home/Ctrl+End for the corners.
// Without this script every cell link is simply in the tab order.
(function () {
  "use strict";
  var table = document.getElementById("grid");
  if (!table || !table.tBodies.length) { return; }
  var rows = Array.prototype.map.call(table.tBodies[0].rows, function (tr) {
    return Array.prototype.slice.call(tr.querySelectorAll("td > a"));
  }).filter(function (links) { return links.length > 0; });
  if (!rows.length) { return; }
  var current = rows[0][0];
  rows.forEach(function (links) {
    links.forEach(function (a) { a.tabIndex = -1; });
  });
  current.tabIndex = 0;

  function position(a) {
    for (var r = 0; r < rows.length; r++) {
      var c = rows[r].indexOf(a);
      if (c >= 0) { return [r, c]; }
    }
    return null;
  }

  function moveTo(a) {
    current.tabIndex = -1;
    a.tabIndex = 0;
    current = a;
    a.focus();
  }

  table.addEventListener("focusin", function (event) {
    var a = event.target;
    if (a.tagName === "A" && position(a)) {
      current.tabIndex = -1; a.tabIndex = 0; current = a;
    }
  });

  table.addEventListener("keydown", function (event) {
    var at = position(event.target);
    if (!at || event.altKey || event.metaKey || event.shiftKey) { return; }
    var r = at[0], c = at[1], last = rows.length - 1;
    switch (event.key) {
      case "ArrowRight": c = Math.min(c + 1, rows[r].length - 1); break;
      case "ArrowLeft": c = Math.max(c - 1, 0); break;
      case "ArrowDown": r = Math.min(r + 1, last); break;
      case "ArrowUp": r = Math.max(r - 1, 0); break;
      case "PageDown": r = Math.min(r + 5, last); break;
      case "PageUp": r = Math.max(r - 5, 0); break;
      case "Home": if (event.ctrlKey) { r = 0; } c = 0; break;
      case "End": if (event.ctrlKey) { r = last; } c = rows[r].length - 1; break;
      default: return;
    }
    event.preventDefault();
    moveTo(rows[r][Math.min(c, rows[r].length - 1)]);
  });
})();
