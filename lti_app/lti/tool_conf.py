"""pylti1p3 tool configuration backed by the platform and deployment tables."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.models.tenancy import Deployment, Platform

LAST_LAUNCH_RESOLUTION = timedelta(hours=1)


@dataclass(frozen=True)
class PlatformInfo:
    """What a login or launch needs of a platform row, safe to keep between requests."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    canvas_url: str
    auto_register_deployments: bool

    @classmethod
    def of(cls, row: Platform) -> PlatformInfo:
        # Every field is the platform column of the same name.
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


class PlatformCache:
    """Registered platforms per process for a short while: every login and launch needs one,
    and they change only when an admin installs or edits a platform. Misses are not cached,
    so a newly added platform works at once; an edit reaches every process within `ttl`."""

    def __init__(self, ttl: float = 30.0) -> None:
        self._ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, PlatformInfo]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> PlatformInfo | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple[str, str], info: PlatformInfo) -> None:
        with self._lock:
            if len(self._entries) > 10_000:  # bounded: keys come from validated rows only
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self._ttl, info)


class DbToolConf(ToolConfAbstract):  # type: ignore[misc]
    """Many clients per issuer, always: hosted Canvas instances share one issuer."""

    def __init__(self, session: Session, cache: PlatformCache | None = None) -> None:
        super().__init__()
        self._session = session
        self._cache = cache or PlatformCache(ttl=0)
        self._platforms: dict[tuple[str, str], PlatformInfo | None] = {}
        self._deployments: dict[tuple[str, str, str], Deployment | None] = {}

    # pylti1p3 keeps a class-level mode table; answer for ourselves instead.
    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str, client_id: str) -> PlatformInfo | None:
        key = (iss, client_id)
        if key not in self._platforms:
            info = self._cache.get(key)
            if info is None:
                row = self._session.scalar(
                    select(Platform).where(Platform.issuer == iss, Platform.client_id == client_id)
                )
                info = PlatformInfo.of(row) if row is not None else None
                if info is not None:
                    self._cache.put(key, info)
            self._platforms[key] = info
        return self._platforms[key]

    def issuer_client_count(self, iss: str) -> int:
        return (
            self._session.scalar(
                select(func.count()).select_from(Platform).where(Platform.issuer == iss)
            )
            or 0
        )

    def only_client_id(self, iss: str) -> str | None:
        rows = self._session.scalars(
            select(Platform.client_id).where(Platform.issuer == iss).limit(2)
        ).all()
        return rows[0] if len(rows) == 1 else None

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> None:
        return None

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Registration | None:
        if not client_id:
            return None
        platform = self.platform(iss, client_id)
        if platform is None:
            return None
        return (
            Registration()
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
            .set_key_set_url(platform.jwks_url)
        )

    def find_deployment(self, iss: str, deployment_id: str) -> None:
        return None

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        row = self.deployment(iss, client_id or "", deployment_id)
        return LtiDeployment().set_deployment_id(row.deployment_id) if row else None

    def deployment(self, iss: str, client_id: str, deployment_id: str) -> Deployment | None:
        """The deployment row; created for platforms that auto-register (Dynamic Registration)."""
        key = (iss, client_id, deployment_id)
        if key not in self._deployments:
            self._deployments[key] = self._load_deployment(iss, client_id, deployment_id)
        return self._deployments[key]

    def _learn_deployment(self, platform_id: int, deployment_id: str) -> Deployment | None:
        """Record a deployment at its first launch; two first launches at once both find the
        one row (the unique constraint decides, inside a savepoint)."""
        row = Deployment(platform_id=platform_id, deployment_id=deployment_id, auto_registered=True)
        try:
            with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            return self._session.scalar(
                select(Deployment).where(
                    Deployment.platform_id == platform_id,
                    Deployment.deployment_id == deployment_id,
                    Deployment.removed_at.is_(None),
                )
            )
        return row

    def _load_deployment(self, iss: str, client_id: str, deployment_id: str) -> Deployment | None:
        platform = self.platform(iss, client_id)
        if platform is None or not deployment_id or len(deployment_id) > 255:
            return None
        row = self._session.scalar(
            select(Deployment).where(
                Deployment.platform_id == platform.id,
                Deployment.deployment_id == deployment_id,
            )
        )
        if row is not None and row.removed_at is not None:
            return None
        if row is None and platform.auto_register_deployments:
            row = self._learn_deployment(platform.id, deployment_id)
        now = datetime.now(UTC)
        # Hourly resolution is enough for the admin page and keeps launches from all writing
        # the same row (a hot spot under concurrent launches).
        if row is not None and (
            row.last_launch_at is None or now - row.last_launch_at > LAST_LAUNCH_RESOLUTION
        ):
            row.last_launch_at = now
        return row
