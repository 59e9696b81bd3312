"""One pacing budget per Canvas token across processes (docs/canvas.md §11.2).

In-process, every client built from one token source already shares a lane (the client's
semaphore and its view of ``X-Rate-Limit-Remaining``). Celery workers are separate processes,
often on separate machines, so with Celery the lane's state lives in Redis: the latest
remaining/cost as a hash, the requests in flight as leases in a sorted set (a worker killed
mid-request frees its slot when the lease expires). Keys are named by a hash of the token,
never the token.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from typing import Any

import redis

LEASE_SECONDS = 120.0  # longer than any single Canvas request (read timeout + retries' wait)
STATE_TTL = 3600
SLOT_WAIT = 0.02

_ENTER = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('EXPIRE', KEYS[1], 600)
  return 1
end
return 0
"""


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class RedisBudget:
    """``SharedBudget`` (canvas.client) in Redis, for one token."""

    def __init__(
        self,
        connection: redis.Redis,
        token: str,
        *,
        clock: Any = time.time,
        sleep: Any = time.sleep,
    ) -> None:
        key = token_key(token)
        self._redis = connection
        self._state = f"mp:canvas-budget:{key}"
        self._slots = f"mp:canvas-budget:{key}:slots"
        self._enter = connection.register_script(_ENTER)
        self._clock = clock
        self._sleep = sleep
        self._held = threading.local()

    def enter(self, limit: int, deadline: float) -> None:
        member = uuid.uuid4().hex
        while True:
            now = self._clock()
            if self._enter(keys=[self._slots], args=[now, now + LEASE_SECONDS, limit, member]):
                self._held.member = member
                return
            if time.monotonic() >= deadline:
                # Better one request more than a sync that never ends: pacing still applies.
                self._held.member = None
                return
            self._sleep(SLOT_WAIT)

    def leave(self) -> None:
        member = getattr(self._held, "member", None)
        if member is not None:
            self._redis.zrem(self._slots, member)
            self._held.member = None

    def note(self, remaining: float, cost: float) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._state, mapping={"remaining": remaining, "at": self._clock(), "cost": cost})
        pipe.expire(self._state, STATE_TTL)
        pipe.execute()

    def view(self) -> tuple[float | None, float, float, int]:
        now = self._clock()
        pipe = self._redis.pipeline()
        pipe.hmget(self._state, ["remaining", "at", "cost"])
        pipe.zcount(self._slots, now, "+inf")
        (remaining, at, cost), in_flight = pipe.execute()
        if remaining is None or at is None:
            return None, 0.0, 0.0, int(in_flight)
        return float(remaining), max(0.0, now - float(at)), float(cost or 0), int(in_flight)


def redis_for(broker_url: str) -> redis.Redis | None:
    """The broker's Redis when the broker is Redis (else None: each process paces alone)."""
    if not broker_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=3)
