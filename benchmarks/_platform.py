"""The benchmark's fake Canvas: one RSA key, its JWKS over loopback HTTP, and a browser.

Claims and login parameters come from tests/lti_platform.py (the same Canvas-shaped launch the
test suite uses); this module adds what the benchmark needs on top of it:

- a platform whose private key can be handed to client processes (PEM), so every process signs
  with the key the JWKS server publishes;
- `JwksServer`: a threaded http.server on 127.0.0.1 (random port) serving that JWKS and
  counting fetches;
- `HttpBrowser`: one simulated browser doing login -> (platform signs) -> launch over a
  keep-alive `http.client` connection, forwarding the login's cookies explicitly.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lti_platform import FakePlatform, login_params  # noqa: E402
from tests.lti_platform import auth_query as auth_query  # noqa: E402  (re-exported)

LAUNCH_PATH = "/lti/launch"
TARGET_QUERY = "?placement=course"
COURSE_TITLE = "Algebra I \u2013 Period 3"  # the context title in FakePlatform.claims()


class BenchError(RuntimeError):
    """A round trip did not end in a successful launch."""


def new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class PlatformSpec:
    """Everything a client process needs to act as the platform (picklable)."""

    private_key_pem: bytes
    jwks_url: str
    kid: str = "2026-11-01T00:00:00Z"


class SigningPlatform:
    """FakePlatform's claims and login parameters, signed with an explicit key."""

    def __init__(self, spec: PlatformSpec) -> None:
        self.spec = spec
        self.fake = FakePlatform(jwks_url=spec.jwks_url, kid=spec.kid)
        key = serialization.load_pem_private_key(spec.private_key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key = key

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**jwk, "kid": self.spec.kid, "alg": "RS256", "use": "sig"}]}

    def cli_args(self) -> list[str]:
        return self.fake.cli_args()

    def login_form(self, target_link_uri: str) -> dict[str, str]:
        return login_params(self.fake, target_link_uri=target_link_uri)

    def id_token(self, nonce: str, target_link_uri: str) -> str:
        """A fresh Canvas-shaped id_token for this nonce, signed RS256 now."""
        claims = self.fake.claims(nonce, target_link_uri=target_link_uri)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.spec.kid})


class JwksServer:
    """The platform's JWKS at http://127.0.0.1:<random port>/jwks, in a daemon thread."""

    def __init__(self, jwks: dict[str, Any] | None = None) -> None:
        self.body = json.dumps(jwks or {"keys": []}).encode()
        self.hits = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                with server._lock:
                    server.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the benchmark prints its own summary."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/jwks"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def publish(self, jwks: dict[str, Any]) -> None:
        self.body = json.dumps(jwks).encode()

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def cookie_header(set_cookies: list[str]) -> str:
    """What a browser sends back: name=value of every cookie the response set.

    Over plain http://127.0.0.1 a cookie jar would drop the `Secure` (and `__Host-`) cookies
    both apps set; behind TLS a browser returns them, so they are forwarded explicitly.
    """
    pairs = [c.split(";", 1)[0].strip() for c in set_cookies]
    return "; ".join(p for p in pairs if "=" in p)


@dataclass
class RoundTrip:
    """One login + launch, times in seconds; `end` is wall-clock (time.time())."""

    end: float
    total: float
    login: float
    sign: float
    launch: float


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class HttpBrowser:
    """One browser: login -> 302 (state, nonce, cookies) -> signed id_token -> launch POST."""

    host: str
    port: int
    platform: SigningPlatform
    base_url: str
    expect: str = COURSE_TITLE
    timeout: float = 10.0
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)
    _used: bool = field(default=False, repr=False)

    @property
    def target(self) -> str:
        return self.base_url + LAUNCH_PATH + TARGET_QUERY

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._used = False

    def _request(
        self, path: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        body = urlencode(form)
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self._used
            try:
                self._conn.request("POST", path, body=body, headers={**FORM, **headers})
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed (worker recycled, idle timeout):
                # the request never reached the app, so it is safe to send once more.
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            self._used = True
            if response.will_close:
                self.close()
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def round_trip(self) -> RoundTrip:
        target = self.target
        t0 = time.perf_counter()
        status, headers, body = self._request("/lti/login", self.platform.login_form(target), {})
        if status != 302:
            raise BenchError(f"login answered {status}: {body[:200]!r}")
        auth = auth_query(headers.get("Location", ""))
        cookies = cookie_header(headers.get_all("Set-Cookie") or [])
        t1 = time.perf_counter()
        token = self.platform.id_token(auth["nonce"], target)
        t2 = time.perf_counter()
        status, _headers, body = self._request(
            LAUNCH_PATH, {"id_token": token, "state": auth["state"]}, {"Cookie": cookies}
        )
        t3 = time.perf_counter()
        if status != 200 or self.expect.encode() not in body:
            raise BenchError(f"launch answered {status}: {body[:300]!r}")
        return RoundTrip(
            end=time.time(), total=t3 - t0, login=t1 - t0, sign=t2 - t1, launch=t3 - t2
        )
