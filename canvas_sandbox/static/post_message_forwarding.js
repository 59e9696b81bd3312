// Canvas's Platform Storage frame (1EdTech client-side postMessages, docs/canvas.md §7.8).
// Tools in the sibling frame send lti.capabilities / lti.put_data / lti.get_data here; values
// live in this origin's localStorage, partitioned per tool origin, and expire after a while.
// Replies go to event.source with targetOrigin = event.origin and echo message_id.
(function () {
  "use strict";
  var TTL_MS = 10 * 60 * 1000;
  var memory = {};  // when localStorage is unavailable
  var seen = window.seenMessages = [];

  function slot(origin, key) { return "lti-storage|" + origin + "|" + key; }
  function write(name, value) {
    try {
      if (value === null) { localStorage.removeItem(name); } else { localStorage.setItem(name, value); }
    } catch (e) {
      if (value === null) { delete memory[name]; } else { memory[name] = value; }
    }
  }
  function read(name) {
    try { return localStorage.getItem(name); } catch (e) { return memory[name] === undefined ? null : memory[name]; }
  }
  function put(origin, key, value) {
    write(slot(origin, key), value === null ? null : JSON.stringify({ v: String(value), t: Date.now() }));
  }
  function get(origin, key) {
    var raw = read(slot(origin, key));
    if (raw === null) { return null; }
    try {
      var item = JSON.parse(raw);
      if (Date.now() - item.t > TTL_MS) { write(slot(origin, key), null); return null; }
      return item.v;
    } catch (e) { return null; }
  }

  window.addEventListener("message", function (event) {
    var d = event.data;
    if (!d || typeof d !== "object" || typeof d.subject !== "string" || !event.source) { return; }
    seen.push({ subject: d.subject, key: d.key === undefined ? null : d.key,
                message_id: d.message_id === undefined ? null : d.message_id, origin: event.origin });
    var reply = { subject: d.subject + ".response", message_id: d.message_id };
    if (d.subject === "lti.capabilities") {
      reply.supported_messages = [{ subject: "lti.put_data" }, { subject: "lti.get_data" }];
    } else if (d.subject === "lti.put_data") {
      if (typeof d.key !== "string" || !d.key) {
        reply.error = { code: "bad_request", message: "key is required" };
      } else {
        put(event.origin, d.key, d.value === undefined ? null : d.value);
        reply.key = d.key; reply.value = d.value === undefined ? null : d.value;
      }
    } else if (d.subject === "lti.get_data") {
      if (typeof d.key !== "string" || !d.key) {
        reply.error = { code: "bad_request", message: "key is required" };
      } else {
        reply.key = d.key; reply.value = get(event.origin, d.key);
      }
    } else if (/\.response$/.test(d.subject)) {
      return;  // never answer an answer
    } else {
      reply.error = { code: "unsupported_subject", message: "Unsupported subject" };
    }
    event.source.postMessage(reply, event.origin);
  });
}());
