"""The sandbox's knobs: read from ``SANDBOX_*`` environment variables, changeable at runtime.

Knobs exist so tests, the demo and the benchmarks can make the sandbox behave like a slow,
flaky or busy Canvas. ``POST /_sandbox/knobs`` updates them on a running sandbox.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_RESULT_DELAY_MS = 250


@dataclass
class SandboxConfig:
    base_url: str = "http://localhost:8100"
    seed: int = 7
    # Faults and slowness (only /api/v1 is affected).
    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered 500
    timeout_rate: float = 0.0  # share of requests that stall timeout_sleep_s...
    timeout_sleep_s: float = 5.0
    timeout_mode: str = "504"  # ...then answer 504 ("504"), or answer normally ("hang")
    fault_seed: int = 1
    # Throttling (docs/canvas.md §4.1, §4.7): leaky bucket per access token.
    throttle_enabled: bool = True
    bucket_high_water: float = 600.0
    bucket_outflow: float = 10.0  # units per second
    upfront_cost: float = 50.0
    request_cost: float = 1.0
    row_cost: float = 0.05
    throttle_status: int = 403  # 403 (what Canvas sends) or 429 (what its docs now say)
    # Outcome results appear this long after an assessment: Canvas never writes them in the
    # request (RubricAssessment#track_outcomes queues update_outcomes_for_assessment). 0 turns
    # the job into an immediate write.
    result_delay_ms: int = DEFAULT_RESULT_DELAY_MS
    # Access tokens minted by the OAuth flow.
    token_ttl_s: int = 3600
    # The seeded API developer key's redirect URI (the tool's OAuth callback).
    api_redirect_uri: str = "http://127.0.0.1:5000/canvas/oauth/callback"

    def update(self, changes: Mapping[str, Any]) -> list[str]:
        """Apply known knobs (coerced to their field type); return the unknown names."""
        known = {f.name: f for f in fields(self)}
        unknown = [k for k in changes if k not in known]
        for name, value in changes.items():
            if name in known:
                setattr(self, name, _coerce(getattr(self, name), value))
        if self.throttle_status not in (403, 429):
            self.throttle_status = 403
        if self.timeout_mode not in ("504", "hang"):
            self.timeout_mode = "504"
        return unknown

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        env = os.environ if environ is None else environ
        config = cls()
        config.update(
            {
                f.name: env[f"SANDBOX_{f.name.upper()}"]
                for f in fields(cls)
                if f"SANDBOX_{f.name.upper()}" in env
            }
        )
        return config


def _coerce(current: object, value: object) -> object:
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(current, int):
        return int(float(str(value)))
    if isinstance(current, float):
        return float(str(value))
    return str(value)
