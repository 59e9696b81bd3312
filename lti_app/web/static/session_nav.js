// Cookie-less navigation inside Canvas's iframe. Browsers that refuse the tool's cookies
// (Safari, strict third-party blocking) still get the launch's secret once, in a
// <meta name="mp-launch"> tag; the server accepts it from the X-Launch-Token header or a
// launch_token form field. This script carries it on every same-origin navigation of the
// session: links and GET forms are fetched with the header and the page is swapped in place,
// POST forms get the hidden field, downloads are fetched and handed over as a Blob. With
// cookies working there is no meta tag and nothing here runs.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="mp-launch"]');
  if (!meta) { return; }
  var token = meta.content, field = meta.dataset.field || "launch_token";
  var base = meta.dataset.base;  // "/s/<handle>/": only this session's pages get the secret
  if (!base) { return; }

  function ours(url) {
    return url.origin === location.origin && url.pathname.indexOf(base) === 0;
  }

  function swap(html, url, push, redirected) {
    if (push) { history.pushState({ mp: true }, "", url); }
    // After a POST answered with a redirect the address is the page shown, as with a native
    // form submission (a reload then shows that page instead of re-posting).
    else if (redirected && url !== location.href) { history.replaceState({ mp: true }, "", url); }
    document.open();
    document.write(html);
    document.close();
  }

  function go(url, init, push) {
    init = init || {};
    init.headers = Object.assign({ "X-Launch-Token": token }, init.headers || {});
    init.credentials = "same-origin";
    return fetch(url, init).then(function (res) {
      var type = res.headers.get("Content-Type") || "";
      var disposition = res.headers.get("Content-Disposition") || "";
      if (disposition.indexOf("attachment") === 0 || type.indexOf("text/html") !== 0) {
        return res.blob().then(function (blob) {
          var name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || "download";
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = name;
          document.body.appendChild(a);
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
        });
      }
      return res.text().then(function (html) { swap(html, res.url || url, push, res.redirected); });
    }).catch(function () {
      window.alert(meta.dataset.unreachable ||
        "Mastery Pathways could not reach the server. Check your connection and try again.");
    });
  }

  document.addEventListener("click", function (event) {
    var a = event.target.closest && event.target.closest("a[href]");
    if (!a || a.target === "_blank" || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
    var url = new URL(a.href, location.href);
    if (!ours(url) || (url.hash && url.pathname === location.pathname)) { return; }
    event.preventDefault();
    go(url.href, { method: "GET" }, true);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // getAttribute: a control named "action" or "method" shadows form.action / form.method
    var url = new URL(form.getAttribute("action") || location.href, location.href);
    var method = (form.getAttribute("method") || "get").toLowerCase();
    if (!ours(url) || form.getAttribute("target") === "_blank") {
      if (method === "post" && !form.querySelector('input[name="' + field + '"]')) { addToken(form); }
      return;
    }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) {
      data.append(event.submitter.name, event.submitter.value);
    }
    if (method === "get") {
      url.search = new URLSearchParams(data).toString();
      go(url.href, { method: "GET" }, true);
    } else {
      // A file upload goes as multipart (the browser sets the boundary); the rest as a form.
      var multipart = (form.getAttribute("enctype") || "").toLowerCase() === "multipart/form-data";
      go(url.href, { method: "POST", body: multipart ? data : new URLSearchParams(data) }, false);
    }
  });

  // For other scripts (e.g. reloading a page when a sync ends): navigate the same way.
  window.mpNavigate = function (url) { return go(new URL(url, location.href).href, { method: "GET" }, false); };

  function addToken(form) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = field; input.value = token;
    form.appendChild(input);
  }

  // document.open() drops the document's listeners (this script adds them again on the new
  // page) but keeps the window's: register the history handler once per window.
  if (!window.mpHistoryBound) {
    window.mpHistoryBound = true;
    window.addEventListener("popstate", function () {
      var again = document.querySelector('meta[name="mp-launch"]');
      if (again) { token = again.content; }
      go(location.href, { method: "GET" }, false);
    });
  }
})();
