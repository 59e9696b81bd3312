"""The app's long-lived collaborators, built once in create_app and found via current_app."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from flask import Flask, current_app

from lti_app.crypto import KeyRing
from lti_app.lti.platform_keys import PlatformKeyCache
from lti_app.lti.tool_conf import PlatformCache
from lti_app.settings import Settings

USER_AGENT = "MasteryPathways/0.1 (+LTI 1.3 tool)"


@dataclass(frozen=True)
class Services:
    settings: Settings
    keyring: KeyRing
    platform_keys: PlatformKeyCache
    platforms: PlatformCache
    http: requests.Session


def build(settings: Settings) -> Services:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    return Services(
        settings=settings,
        keyring=KeyRing(settings.encryption_keys),
        platform_keys=PlatformKeyCache(
            timeout=settings.http_timeout,
            max_age=settings.jwks_cache_seconds,
            refetch_min_interval=settings.jwks_refetch_min_interval,
            http=http,
        ),
        platforms=PlatformCache(ttl=settings.platform_cache_seconds),
        http=http,
    )


def install(app: Flask, services: Services) -> None:
    app.extensions["mp_services"] = services


def services() -> Services:
    found: Services = current_app.extensions["mp_services"]
    return found
