"""Platform signing keys (Canvas's JWKS), cached per kid, refetched once on an unknown kid.

Canvas rotates monthly and publishes the next key ahead of use, so an unknown kid usually
means "refresh"; the refetch is rate-limited per JWKS URL so random kids cannot turn the tool
into a request amplifier. Every fetch has a connect and read timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from lti_app.lti.errors import LaunchError

log = logging.getLogger(__name__)


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


@dataclass
class PlatformKeyCache:
    timeout: tuple[float, float]
    max_age: float = 3600.0
    refetch_min_interval: float = 5.0
    http: requests.Session = field(default_factory=requests.Session)
    _sets: dict[str, _KeySet] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, jwks_url: str, kid: str) -> jwt.PyJWK:
        """The RS256 key `kid` from `jwks_url`; raises LaunchError kid_unknown/jwks_unavailable."""
        now = time.monotonic()
        cached = self._sets.get(jwks_url)
        if cached is not None and now - cached.fetched_at < self.max_age and kid in cached.keys:
            return cached.keys[kid]
        with self._lock:
            cached = self._sets.get(jwks_url)
            fresh = cached is not None and now - cached.fetched_at < self.max_age
            if cached is not None and fresh and kid in cached.keys:
                return cached.keys[kid]
            recently = cached is not None and now - cached.fetched_at < self.refetch_min_interval
            if cached is None or not fresh or not recently:
                cached = _KeySet(keys=self._fetch(jwks_url), fetched_at=time.monotonic())
                self._sets[jwks_url] = cached
        if kid not in cached.keys:
            raise LaunchError("kid_unknown", f"kid {kid!r} not in platform JWKS")
        return cached.keys[kid]

    def _fetch(self, jwks_url: str) -> dict[str, jwt.PyJWK]:
        try:
            response = self.http.get(jwks_url, timeout=self.timeout, allow_redirects=False)
            response.raise_for_status()
            document: Any = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise LaunchError("jwks_unavailable", f"{type(exc).__name__} from JWKS") from exc
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
                continue
            if entry.get("alg", "RS256") != "RS256" or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK({**entry, "alg": "RS256"})
            except jwt.PyJWTError:
                log.warning("jwks_key_unreadable kid=%s", entry.get("kid"))
        log.info("jwks_fetched url=%s keys=%d", jwks_url, len(keys))
        return keys
