"""A tiny fake Canvas for the browser tests (test-only; see README.md beside this file).

It plays the parts of Canvas a real browser touches during an LTI 1.3 launch:

* ``/courses/<id>``: a course page that iframes the tool's login URL (named
  ``tool_content``) next to a hidden sibling frame named ``post_message_forwarding``;
* ``/post_message_forwarding``: that frame, answering the 1EdTech Platform Storage messages
  ``lti.capabilities`` / ``lti.put_data`` / ``lti.get_data`` from its own localStorage, and
  able to misbehave on ``lti.get_data`` (answer with a wrong ``message_id``, from a wrong
  origin, or not at all) so the tool's checks can be tested;
* ``/api/lti/authorize_redirect``: the OIDC authorization endpoint, which checks the tool's
  request, mints an RS256 id_token and auto-submits it (form_post) to the tool;
* ``/api/lti/security/jwks``: the platform's signing keys.

The course page takes ``?storage=ok|missing|wrong_message_id|wrong_origin|silent``,
``?role=teacher|student|admin`` and ``?relay=forged`` (the authorize page then claims
``lti_storage_verified=1`` itself, as a cross-site attacker would). Everything the
authorize endpoint saw is kept on ``FakeCanvas`` for the tests to assert on.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, jsonify, render_template_string, request

from tests.lti_platform import (
    ADMIN,
    INSTITUTION_INSTRUCTOR,
    INSTRUCTOR,
    LEARNER,
    SYSTEM_USER,
    FakePlatform,
)

STORAGE_MODES = ("ok", "missing", "wrong_message_id", "wrong_origin", "silent")
STORAGE_TARGET = "post_message_forwarding"
TOOL_FRAME = "tool_content"
PROBE_COOKIE = "e2e_third_party_probe"
LOGIN_HINT = "535fa085f22b4655f48cd5a36a9215f64c062838"
ROLES = {
    "teacher": [INSTRUCTOR, INSTITUTION_INSTRUCTOR],
    "student": [LEARNER],
    "admin": [ADMIN, SYSTEM_USER],
}

COURSE_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Algebra I – Period 3: Mastery Pathways</title>
<style>
  body { margin: 0; font-family: sans-serif }
  iframe.tool { display: block; width: 100%; height: 90vh; border: 0 }
</style>
</head>
<body>
<iframe id="post_message_forwarding" name="post_message_forwarding" title="Canvas storage"
        style="display:none" data-src="{{ forwarding_src }}"></iframe>
<iframe id="tool_content" name="tool_content" class="tool" title="Mastery Pathways"
        data-src="{{ login_url }}"></iframe>
<script>
  // Load the storage frame first and the tool only once it listens (no start-up race).
  var storage = document.getElementById("post_message_forwarding");
  var tool = document.getElementById("tool_content");
  storage.addEventListener("load", function () { tool.src = tool.dataset.src; }, { once: true });
  storage.src = storage.dataset.src;
</script>
</body>
</html>
"""

FORWARDING_FRAME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>post_message_forwarding</title></head>
<body>
<iframe id="elsewhere" title="another origin" src="{{ evil_src }}"></iframe>
<script>
(function () {
  "use strict";
  var mode = {{ mode|tojson }};
  var evilOrigin = {{ evil_origin|tojson }};
  var seen = window.seenMessages = [];
  var memory = new Map();  // only if localStorage is unavailable
  function slot(origin, key) { return "lti-storage|" + origin + "|" + key; }
  function put(origin, key, value) {
    try {
      if (value === null) { localStorage.removeItem(slot(origin, key)); }
      else { localStorage.setItem(slot(origin, key), String(value)); }
    } catch (e) {
      if (value === null) { memory.delete(slot(origin, key)); }
      else { memory.set(slot(origin, key), String(value)); }
    }
  }
  function get(origin, key) {
    try { return localStorage.getItem(slot(origin, key)); }
    catch (e) { return memory.has(slot(origin, key)) ? memory.get(slot(origin, key)) : null; }
  }
  window.addEventListener("message", function (event) {
    var d = event.data;
    if (!d || typeof d !== "object" || typeof d.subject !== "string") { return; }
    seen.push({ subject: d.subject, key: d.key === undefined ? null : d.key,
                message_id: d.message_id === undefined ? null : d.message_id,
                origin: event.origin });
    var reply = { subject: d.subject + ".response", message_id: d.message_id };
    if (d.subject === "lti.capabilities") {
      reply.supported_messages = [{ subject: "lti.put_data" }, { subject: "lti.get_data" }];
    } else if (d.subject === "lti.put_data") {
      put(event.origin, d.key, d.value === undefined ? null : d.value);
      reply.key = d.key; reply.value = d.value;
    } else if (d.subject === "lti.get_data") {
      reply.key = d.key; reply.value = get(event.origin, d.key);
      if (mode === "missing") { reply.value = null; }  // as if the storage had been cleared
      if (mode === "silent") { return; }
      if (mode === "wrong_message_id") { reply.message_id = "not-" + d.message_id; }
      if (mode === "wrong_origin") {
        // The right answer, but delivered by a frame on another origin.
        var elsewhere = document.getElementById("elsewhere").contentWindow;
        elsewhere.postMessage({ forward: reply }, evilOrigin);
        return;
      }
    } else {
      reply.error = { code: "unsupported_subject", message: "Unsupported subject" };
    }
    event.source.postMessage(reply, event.origin);
  });
}());
</script>
</body></html>
"""

ELSEWHERE_FRAME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>elsewhere</title></head><body>
<script>
  window.forwarded = [];
  window.addEventListener("message", function (event) {
    if (!event.data || !event.data.forward) { return; }
    window.forwarded.push(event.data.forward);
    window.top.frames[{{ tool_frame|tojson }}].postMessage(event.data.forward, "*");
  });
</script>
</body></html>
"""

AUTO_POST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launching…</title></head><body>
<form id="launch" method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("launch").submit();</script>
</body></html>
"""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class PendingLaunch:
    """What Canvas remembers between login initiation and authorization (the message hint)."""

    login_hint: str
    target_link_uri: str
    roles: list[str]
    storage_target: str | None
    forge_verified: bool = False


@dataclass
class FakeCanvas:
    """Fake Canvas state; ``app()`` serves it. ``base``: this Canvas's origin as the browser
    sees it; ``elsewhere_base``: another origin served by the same server (the wrong-origin
    responder)."""

    base: str
    elsewhere_base: str
    tool_base: str
    client_id: str = "10000000000042"
    deployment_id: str = "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
    pending: dict[str, PendingLaunch] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[dict[str, str]] = field(default_factory=list)  # state, nonce of minted tokens
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def platform(self) -> FakePlatform:
        return FakePlatform(
            issuer=self.base,
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            canvas_url=self.base,
            auth_url=self.base + "/api/lti/authorize_redirect",
            token_url=self.base + "/login/oauth2/token",
            jwks_url=self.base + "/api/lti/security/jwks",
        )

    @property
    def launch_url(self) -> str:
        return self.tool_base + "/lti/launch"

    def course_url(
        self, course_id: int = 101, storage: str = "ok", role: str = "teacher", relay: str = ""
    ) -> str:
        query = {"storage": storage, "role": role, **({"relay": relay} if relay else {})}
        return f"{self.base}/courses/{course_id}?" + urlencode(query)

    def reset(self) -> None:
        with self._lock:
            self.pending.clear()
            self.authorize_requests.clear()
            self.issued.clear()
            self.errors.clear()

    def _fail(self, message: str) -> Response:
        with self._lock:
            self.errors.append(message)
        return Response(f"fake Canvas refused the authorization request: {message}", 400)

    # -- the views ------------------------------------------------------------------------
    def app(self) -> Flask:
        app = Flask("fake_canvas")
        platform = self.platform

        @app.get("/courses/<int:course_id>")
        def course(course_id: int) -> str:
            mode = request.args.get("storage", "ok")
            role = request.args.get("role", "teacher")
            forge = request.args.get("relay", "") == "forged"
            if mode not in STORAGE_MODES or role not in ROLES:
                abort(400)
            hint = secrets.token_urlsafe(16)
            target = self.tool_base + "/lti/launch?placement=course"
            with self._lock:
                self.pending[hint] = PendingLaunch(
                    LOGIN_HINT, target, ROLES[role], STORAGE_TARGET, forge_verified=forge
                )
            login_url = (
                self.tool_base
                + "/lti/login?"
                + urlencode(
                    {
                        "iss": platform.issuer,
                        "login_hint": LOGIN_HINT,
                        "client_id": platform.client_id,
                        "lti_deployment_id": platform.deployment_id,
                        "target_link_uri": target,
                        "lti_message_hint": hint,
                        "canvas_environment": "prod",
                        "canvas_region": "not_configured",
                        "lti_storage_target": STORAGE_TARGET,
                    }
                )
            )
            return render_template_string(
                COURSE_PAGE,
                login_url=login_url,
                forwarding_src="/post_message_forwarding?" + urlencode({"mode": mode}),
            )

        @app.get("/post_message_forwarding")
        def forwarding() -> str:
            mode = request.args.get("mode", "ok")
            if mode not in STORAGE_MODES:
                abort(400)
            return render_template_string(
                FORWARDING_FRAME,
                mode=mode,
                evil_src=self.elsewhere_base + "/elsewhere",
                evil_origin=self.elsewhere_base,
            )

        @app.get("/elsewhere")
        def elsewhere() -> Response:
            response = Response(render_template_string(ELSEWHERE_FRAME, tool_frame=TOOL_FRAME))
            # An ordinary (unpartitioned) third-party cookie: whether the browser keeps it
            # shows whether third-party cookies are blocked.
            response.set_cookie(PROBE_COOKIE, "1", secure=True, samesite="None", path="/")
            return response

        @app.get("/api/lti/authorize_redirect")
        def authorize() -> Response:
            q = request.args.to_dict()
            with self._lock:
                self.authorize_requests.append(q)
            expected = {
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "client_id": platform.client_id,
                "redirect_uri": self.launch_url,
            }
            for name, value in expected.items():
                if q.get(name) != value:
                    return self._fail(f"{name}={q.get(name)!r}, expected {value!r}")
            for name in ("state", "nonce"):
                if len(q.get(name, "")) < 16:
                    return self._fail(f"{name} missing or too short")
            with self._lock:
                pending = self.pending.pop(q.get("lti_message_hint", ""), None)
            if pending is None:
                return self._fail("unknown or reused lti_message_hint")
            if q.get("login_hint") != pending.login_hint:
                return self._fail("login_hint differs from the one sent at login")
            claims = platform.claims(
                q["nonce"], roles=pending.roles, target_link_uri=pending.target_link_uri
            )
            fields = {"id_token": platform.sign(claims), "state": q["state"]}
            if pending.forge_verified:
                fields["lti_storage_verified"] = "1"
            elif pending.storage_target:
                fields["lti_storage_target"] = pending.storage_target
            with self._lock:
                self.issued.append({"state": q["state"], "nonce": q["nonce"]})
            html = render_template_string(AUTO_POST, action=q["redirect_uri"], fields=fields)
            return Response(html, mimetype="text/html")

        @app.get("/api/lti/security/jwks")
        def jwks() -> Any:
            return jsonify(platform.jwks())

        @app.post("/login/oauth2/token")
        def token() -> Response:
            return Response('{"error":"unsupported_grant_type"}', 400, mimetype="application/json")

        return app
