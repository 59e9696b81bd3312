"""Canvas's request throttle (docs/canvas.md §4.1, §4.7): a leaky bucket per access token.

Every request reserves an up-front cost, refunded when it finishes and replaced by its real
cost (a fixed part plus a part per row returned, so big pages cost more). The bucket leaks at
``outflow`` units per second; at ``high_water`` the request is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from canvas_sandbox.config import SandboxConfig

THROTTLED_BODY = "403 Forbidden (Rate Limit Exceeded)\n"


@dataclass
class _Bucket:
    count: float = 0.0
    updated: float = 0.0


class Throttle:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _leak(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
        bucket.count = max(0.0, bucket.count - (now - bucket.updated) * self.config.bucket_outflow)
        bucket.updated = now
        return bucket

    def start(self, key: str) -> bool:
        """Reserve the up-front cost; False when the bucket is full (throttle this request)."""
        with self._lock:
            bucket = self._leak(key)
            if bucket.count >= self.config.bucket_high_water:
                return False
            bucket.count += self.config.upfront_cost
            return True

    def finish(self, key: str, rows: int) -> tuple[float, float]:
        """Refund the reservation, charge the real cost; return (cost, remaining)."""
        cost = self.config.request_cost + self.config.row_cost * rows
        with self._lock:
            bucket = self._leak(key)
            bucket.count = max(0.0, bucket.count - self.config.upfront_cost + cost)
            remaining = self.config.bucket_high_water - bucket.count
        return cost, remaining

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
