"""Launch benchmark: LTI 1.3 login + launch round trips, hardened app vs plain pylti1p3.

    .venv/bin/python benchmarks/launch.py            # what `make bench` runs (~1.5 minutes)
    .venv/bin/python benchmarks/launch.py --quick    # a short smoke run
    .venv/bin/python benchmarks/launch.py --profile  # + cProfile of the in-process hardened launch

Two measurements, each for the hardened app (lti_app.create_app, SQLite in a temp dir) and
for a minimal plain-pylti1p3 app (benchmarks/plain_app.py) in the same run:

1. in-process, Flask test client, one thread: the tool's time per round trip (the platform's
   signing excluded);
2. gunicorn (config/gunicorn.conf.py) under concurrent clients over loopback HTTP: round trips/s
   and p50/p95 latency of a round trip (login, platform signs, launch).

A round trip is what a browser does inside Canvas: POST /lti/login -> 302 with state and
nonce (+ the state cookie) -> the platform signs an RS256 id_token for that nonce -> POST
/lti/launch with the cookie -> 200 page with the course title. The platform's JWKS is served
over real loopback HTTP. See benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform as pyplatform
import pstats
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import plain_app
from _load import LoadResult, LoadSpec, children, machine_busy, merge, run_load
from _platform import (
    COURSE_TITLE,
    LAUNCH_PATH,
    ROOT,
    TARGET_QUERY,
    BenchError,
    JwksServer,
    PlatformSpec,
    SigningPlatform,
    auth_query,
    cookie_header,
    new_private_key_pem,
)
from _report import write_result
from flask import Flask
from flask.testing import FlaskClient
from grid import postgres_schema

RESULTS = ROOT / "benchmarks" / "results" / "launch.json"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
TARGET_RATIO = 0.8
TARGET_RATE = 200.0
HARD_LIMIT_SECONDS = 300  # the whole run is aborted (and gunicorn killed) past this


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of unsorted values; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


# -- the two apps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    tmp: Path
    platform: SigningPlatform
    redis_url: str  # "" when no Redis on 127.0.0.1:6379
    cache_prefix: str
    secret_key: str
    postgres_url: str = ""  # a private schema; "" when PostgreSQL is not reachable


def hardened_settings(
    setup: Setup, name: str, base_url: str, database_url: str = ""
) -> dict[str, str]:
    """SQLite in a temp dir unless ``database_url`` names another database (PostgreSQL)."""
    instance = setup.tmp / f"hardened-{name}"
    return {
        "app_env": "testing",
        "database_url": database_url or f"sqlite:///{instance / 'bench.sqlite3'}",
        "public_base_url": base_url,
        "secret_key": setup.secret_key,
        "instance_path": str(instance),
        "log_level": "WARNING",
    }


def make_hardened(setup: Setup, settings: dict[str, str]) -> Flask:
    """create_app on a fresh SQLite file, schema created, the platform registered by the CLI."""
    from lti_app import create_app
    from lti_app.db import Base

    app = create_app(dict(settings))
    Base.metadata.create_all(app.extensions["db_engine"])
    result = app.test_cli_runner().invoke(args=setup.platform.cli_args())
    if result.exit_code != 0:
        raise RuntimeError(f"platform add failed: {result.output}")
    return app


def plain_config(setup: Setup, phase: str) -> plain_app.PlainConfig:
    fake = setup.platform.fake
    return plain_app.PlainConfig(
        issuer=fake.issuer,
        client_id=fake.client_id,
        deployment_id=fake.deployment_id,
        auth_url=fake.auth_url,
        token_url=fake.token_url,
        jwks_url=fake.jwks_url,
        redis_url=setup.redis_url,
        cache_prefix=f"{setup.cache_prefix}{phase}:",  # each phase starts with a cold cache
        secret_key=setup.secret_key,
    )


def plain_env(setup: Setup, phase: str) -> dict[str, str]:
    conf = plain_config(setup, phase)
    return {
        "PLAIN_ISSUER": conf.issuer,
        "PLAIN_CLIENT_ID": conf.client_id,
        "PLAIN_DEPLOYMENT_ID": conf.deployment_id,
        "PLAIN_AUTH_URL": conf.auth_url,
        "PLAIN_TOKEN_URL": conf.token_url,
        "PLAIN_JWKS_URL": conf.jwks_url,
        "PLAIN_REDIS_URL": conf.redis_url,
        "PLAIN_CACHE_PREFIX": conf.cache_prefix,
        "SECRET_KEY": conf.secret_key,
    }


# -- in-process -----------------------------------------------------------------------------


@dataclass
class InProcessResult:
    round_trips: int
    tool_seconds: float  # wall time inside the two requests, summed
    tool_cpu_seconds: float  # this thread's CPU time inside them
    rate: float
    cpu_rate: float  # round trips per CPU-second: insensitive to other load on the machine
    p50_ms: float
    p95_ms: float
    login_p50_ms: float
    launch_p50_ms: float
    other_cpu_pct: float = float("nan")  # other processes' CPU during the in-process runs


@dataclass
class _Timings:
    logins: list[float] = field(default_factory=list)
    launches: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def result(self) -> InProcessResult:
        totals = [a + b for a, b in zip(self.logins, self.launches, strict=True)]
        spent = sum(totals)
        return InProcessResult(
            round_trips=len(totals),
            tool_seconds=spent,
            tool_cpu_seconds=self.cpu,
            rate=len(totals) / spent if spent else 0.0,
            cpu_rate=len(totals) / self.cpu if self.cpu else 0.0,
            p50_ms=percentile(totals, 50) * 1000,
            p95_ms=percentile(totals, 95) * 1000,
            login_p50_ms=percentile(self.logins, 50) * 1000,
            launch_p50_ms=percentile(self.launches, 50) * 1000,
        )


def inprocess_round_trip(
    client: FlaskClient, platform: SigningPlatform, base_url: str, timings: _Timings | None = None
) -> None:
    """One login + launch through the test client; records the tool's time, signing excluded."""
    target = base_url + LAUNCH_PATH + TARGET_QUERY
    c0, t0 = time.thread_time(), time.perf_counter()
    login = client.post("/lti/login", data=platform.login_form(target), base_url=base_url)
    t1, c1 = time.perf_counter(), time.thread_time()
    if login.status_code != 302:
        raise BenchError(f"login answered {login.status_code}: {login.get_data()[:200]!r}")
    auth = auth_query(login.headers["Location"])
    cookies = cookie_header(login.headers.getlist("Set-Cookie"))
    token = platform.id_token(auth["nonce"], target)
    c2, t2 = time.thread_time(), time.perf_counter()
    launch = client.post(
        LAUNCH_PATH,
        data={"id_token": token, "state": auth["state"]},
        headers={"Cookie": cookies},
        base_url=base_url,
    )
    t3, c3 = time.perf_counter(), time.thread_time()
    body = launch.get_data(as_text=True)
    if launch.status_code != 200 or COURSE_TITLE not in body:
        raise BenchError(f"launch answered {launch.status_code}: {body[:300]!r}")
    if timings is not None:
        timings.logins.append(t1 - t0)
        timings.launches.append(t3 - t2)
        timings.cpu += (c1 - c0) + (c3 - c2)


def run_inprocess(
    apps: dict[str, Flask],
    platform: SigningPlatform,
    base_url: str,
    max_round_trips: int,
    max_seconds: float,
    block: int = 50,
) -> dict[str, InProcessResult]:
    """Alternate blocks of round trips between the apps, so drift hits them alike."""
    clients = {name: app.test_client(use_cookies=False) for name, app in apps.items()}
    for client in clients.values():  # warm-up: JWKS fetch, templates, SQL statement caches
        for _ in range(20):
            inprocess_round_trip(client, platform, base_url)
    gc.collect()
    timings = {name: _Timings() for name in apps}
    started, machine0, own0 = time.monotonic(), machine_busy(), time.process_time()
    deadline = started + max_seconds * len(apps)
    while time.monotonic() < deadline:
        if all(len(t.logins) >= max_round_trips for t in timings.values()):
            break
        for name, client in clients.items():
            for _ in range(min(block, max_round_trips - len(timings[name].logins))):
                inprocess_round_trip(client, platform, base_url, timings[name])
    elapsed = time.monotonic() - started
    other = machine_busy() - machine0 - (time.process_time() - own0)
    other_pct = max(0.0, other) / max(elapsed, 1e-9) / cores() * 100
    return {name: replace(t.result(), other_cpu_pct=other_pct) for name, t in timings.items()}


def profile_hardened(app: Flask, platform: SigningPlatform, base_url: str, n: int) -> str:
    """cProfile n in-process round trips; the lti_app functions by cumulative time."""
    client = app.test_client(use_cookies=False)
    inprocess_round_trip(client, platform, base_url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        inprocess_round_trip(client, platform, base_url)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(getattr(stats, "total_tt", 0.0), 1e-9)
    rows = []
    for (filename, line, func), (_cc, calls, _tt, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/lti_app/" in filename:
            rel = filename.split("/lti_app/", 1)[1]
            rows.append((cum, calls, f"lti_app/{rel}:{line} {func}"))
    rows.sort(reverse=True)
    out = io.StringIO()
    out.write(
        f"cProfile of {n} hardened in-process round trips ({total:.2f}s profiled; "
        "cProfile inflates many-small-call code such as SQLAlchemy)\n"
    )
    out.write(f"{'cum s':>7} {'% of all':>8} {'calls/rt':>8}  function\n")
    for cum, calls, name in rows[:25]:
        out.write(f"{cum:7.3f} {cum / total * 100:7.1f}% {calls / n:8.1f}  {name}\n")
    out.write("\nTop own-time functions (all code):\n")
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(15)
    return out.getvalue()


# -- gunicorn -------------------------------------------------------------------------------


@dataclass
class GunicornResult:
    workers: int
    threads: int
    clients: str
    rate: float
    p50_ms: float
    p95_ms: float
    login_p50_ms: float
    sign_p50_ms: float
    launch_p50_ms: float
    launch_p95_ms: float
    measured: int
    completed: int
    errors: int
    first_errors: list[str]
    server_cpu_ms_per_rt: float
    client_cpu_ms_per_rt: float
    machine_busy_pct: float
    other_cpu_pct: float  # CPU used by processes outside this benchmark (noise)
    jwks_fetches: int


class Gunicorn:
    """One gunicorn master in its own session; stop() ends it (and only it) for sure."""

    def __init__(self, app_path: str, env: dict[str, str], log: Path, extra: Sequence[str] = ()):
        self.log = log
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), "-c", str(GUNICORN_CONF), *extra, app_path]
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers are ended with it
        )

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f}s:\n{self.tail()}")

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def tail(self, lines: int = 30) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers); SIGKILL its group if it hangs."""
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                # The master is still alive, so its process group is still ours to end.
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log_file.close()


RUNNING: list[Gunicorn] = []
HARDENED = ("hardened", "hardened_pg")  # the tool on SQLite, and on PostgreSQL


@contextmanager
def gunicorn(
    app_path: str, env: dict[str, str], log: Path, extra: Sequence[str] = ()
) -> Iterator[Gunicorn]:
    server = Gunicorn(app_path, env, log, extra)
    RUNNING.append(server)
    try:
        yield server
    finally:
        server.stop()
        RUNNING.remove(server)


def summarize_load(
    load: LoadResult, workers: int, threads: int, jwks_fetches: int
) -> GunicornResult:
    totals = [s[0] for s in load.samples]
    n = len(totals)

    def per_rt(seconds: float) -> float:
        return seconds / n * 1000 if n else float("nan")

    return GunicornResult(
        workers=workers,
        threads=threads,
        clients=f"{load.processes} processes x {load.threads} threads",
        rate=n / load.window,
        p50_ms=percentile(totals, 50) * 1000,
        p95_ms=percentile(totals, 95) * 1000,
        login_p50_ms=percentile([s[1] for s in load.samples], 50) * 1000,
        sign_p50_ms=percentile([s[2] for s in load.samples], 50) * 1000,
        launch_p50_ms=percentile([s[3] for s in load.samples], 50) * 1000,
        launch_p95_ms=percentile([s[3] for s in load.samples], 95) * 1000,
        measured=n,
        completed=load.completed,
        errors=load.errors,
        first_errors=load.first_errors,
        server_cpu_ms_per_rt=per_rt(load.server_cpu),
        client_cpu_ms_per_rt=per_rt(load.client_cpu),
        machine_busy_pct=load.machine_cpu / load.window / cores() * 100,
        other_cpu_pct=load.other_cpu / load.window / cores() * 100,
        jwks_fetches=jwks_fetches,
    )


@dataclass(frozen=True)
class LoadPlan:
    workers: int
    threads: int
    processes: int
    client_threads: int
    warmup: float
    duration: float  # measured seconds per app, split over the rounds
    rounds: int  # windows per app, in ABBA order
    max_round_trips: int


@dataclass
class Server:
    kind: str
    spec: LoadSpec
    process: Gunicorn
    extra_pids: list[int]  # other processes doing this app's work (Redis)

    def pids(self) -> list[int]:
        return [self.process.proc.pid, *self.process.workers(), *self.extra_pids]


def start_server(
    stack: ExitStack, kind: str, setup: Setup, plan: LoadPlan, base_env: dict[str, str]
) -> Server:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **base_env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(plan.workers),
        "GUNICORN_THREADS": str(plan.threads),
        "GUNICORN_ACCESS_LOG": str(setup.tmp / f"access-{kind}.log"),
        "GUNICORN_LOG_LEVEL": "warning",
    }
    extra_pids: list[int] = []
    extra: tuple[str, ...] = ()
    if kind in HARDENED:
        pg = setup.postgres_url if kind == "hardened_pg" else ""
        settings = hardened_settings(setup, f"gunicorn-{kind}", base_url, pg)
        make_hardened(setup, settings).extensions["db_engine"].dispose()
        env.update({k.upper(): v for k, v in settings.items()})
        app_path, ready_path = "lti_app:create_app()", "/lti/config.json"
    else:
        env.update(plain_env(setup, "gunicorn"))
        app_path = "plain_app:create_app()"
        extra, ready_path = ("--pythonpath", str(ROOT / "benchmarks")), "/health"
        extra_pids = [p for p in [redis_pid(setup.redis_url)] if p]
    server = stack.enter_context(gunicorn(app_path, env, setup.tmp / f"gunicorn-{kind}.log", extra))
    server.wait_ready(base_url + ready_path)
    spec = LoadSpec(
        port=port,
        base_url=base_url,
        platform=setup.platform.spec,
        threads=plan.client_threads,
        max_round_trips=plan.max_round_trips,
    )
    return Server(kind, spec, server, extra_pids)


def run_gunicorn(
    setup: Setup, plan: LoadPlan, jwks: JwksServer, base_env: dict[str, str]
) -> dict[str, GunicornResult]:
    """Every app up at once; load windows alternate A, B, C, C, B, A, ... so drift in the
    machine's load hits them alike."""
    kinds = [*(["hardened", "hardened_pg"] if setup.postgres_url else ["hardened"]), "plain"]
    order = (kinds + kinds[::-1]) * plan.rounds
    order = order[: len(kinds) * plan.rounds]
    window = plan.duration / plan.rounds
    with ExitStack() as stack:
        servers = {k: start_server(stack, k, setup, plan, base_env) for k in kinds}
        loads: dict[str, list[LoadResult]] = {k: [] for k in servers}
        fetches = dict.fromkeys(servers, 0)
        for kind in order:
            server = servers[kind]
            warmup = plan.warmup if not loads[kind] else min(plan.warmup, 1.0)
            print(f"  gunicorn {kind}: {warmup:.1f}s warm-up + {window:.1f}s", flush=True)
            before = jwks.hits
            load = run_load(server.spec, plan.processes, warmup, window, server.pids)
            fetches[kind] += jwks.hits - before
            if load.errors and not load.samples:
                raise RuntimeError(
                    f"{kind}: every round trip failed: {load.first_errors}\n{server.process.tail()}"
                )
            loads[kind].append(load)
    return {
        kind: summarize_load(merge(results), plan.workers, plan.threads, fetches[kind])
        for kind, results in loads.items()
    }


# -- Redis ----------------------------------------------------------------------------------


def redis_url_if_available() -> str:
    try:
        import redis
    except ImportError:
        return ""
    try:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError:
        return ""
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def redis_pid(url: str) -> int | None:
    """The Redis server's pid (its CPU is part of the plain app's cost), if it says."""
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        pid = client.info("server").get("process_id")
        client.close()
    except redis.RedisError:
        return None
    return int(pid) if pid else None


def redis_cleanup(url: str, prefix: str) -> int:
    if not url:
        return 0
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            removed += int(client.delete(*batch))
            batch.clear()
    if batch:
        removed += int(client.delete(*batch))
    client.close()
    return removed


# -- report ---------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"  # nan -> "-"


def _ratio(a: float, b: float) -> str:
    return "-" if not b or a != a or b != b else f"{a / b:.2f}x"


def _per_second(ms: float) -> float:
    return 1000 / ms if ms and ms == ms else float("nan")


def render_table(result: dict[str, Any]) -> str:
    """hardened (SQLite) beside plain with their ratio; the tool on PostgreSQL in a column of
    its own with its ratio to SQLite."""
    ip, gu = result["in_process"], result["gunicorn"]
    ip_h, ip_p, ip_g = ip["hardened"], ip["plain"], ip.get("hardened_pg")
    gu_h, gu_p, gu_g = gu["hardened"], gu["plain"], gu.get("hardened_pg")
    rows: list[tuple[str, ...]] = []

    def section(title: str) -> None:
        rows.append((title,))

    def row(
        label: str, key: str, src: str, target: str = "", digits: int = 1, ratio: bool = True
    ) -> None:
        h, p, g = (ip_h, ip_p, ip_g) if src == "ip" else (gu_h, gu_p, gu_g)
        hv, pv = float(h[key]), float(p[key])
        gv = float(g[key]) if g is not None else float("nan")
        if key.endswith("cpu_ms_per_rt") and label.startswith("  round trips per"):
            hv, pv, gv = _per_second(hv), _per_second(pv), _per_second(gv)
        rows.append(
            (
                label,
                _fmt(hv, digits),
                _fmt(pv, digits),
                _ratio(hv, pv) if ratio else "",
                _fmt(gv, digits),
                _ratio(gv, hv) if ratio else "",
                target,
            )
        )

    target = f">= {TARGET_RATIO}x plain and >= {TARGET_RATE:.0f}/s"
    section(
        f"GUNICORN  {gu_h['workers']} workers x {gu_h['threads']} threads (gthread); "
        f"clients: {gu_h['clients']} over loopback HTTP"
    )
    row("  round trips/s", "rate", "gu", target)
    row("  round trip p50 (ms)", "p50_ms", "gu", digits=2)
    row("  round trip p95 (ms)", "p95_ms", "gu", digits=2)
    row("    login p50 (ms)", "login_p50_ms", "gu", digits=2)
    row("    platform signs p50 (ms)", "sign_p50_ms", "gu", digits=2)
    row("    launch p50 (ms)", "launch_p50_ms", "gu", digits=2)
    row("    launch p95 (ms)", "launch_p95_ms", "gu", digits=2)
    row("  server CPU per round trip (ms)", "server_cpu_ms_per_rt", "gu", digits=2)
    row("  client CPU per round trip (ms)", "client_cpu_ms_per_rt", "gu", digits=2)
    row("  round trips per server CPU-second", "server_cpu_ms_per_rt", "gu")
    row("  machine CPU busy (%)", "machine_busy_pct", "gu", ratio=False)
    row("  of which other processes (%)", "other_cpu_pct", "gu", ratio=False)
    errors = " / ".join(str(x["errors"]) for x in (gu_h, gu_p, gu_g) if x is not None)
    row("  round trips measured", "measured", "gu", f"errors: {errors}", digits=0, ratio=False)
    row("  JWKS fetches", "jwks_fetches", "gu", digits=0, ratio=False)
    section("IN-PROCESS  Flask test client, 1 thread; the tool's time (platform signing excluded)")
    row("  round trips/s", "rate", "ip")
    row("  round trips per CPU-second", "cpu_rate", "ip")
    row("  round trip p50 (ms)", "p50_ms", "ip", digits=2)
    row("  round trip p95 (ms)", "p95_ms", "ip", digits=2)
    row("    login p50 (ms)", "login_p50_ms", "ip", digits=2)
    row("    launch p50 (ms)", "launch_p50_ms", "ip", digits=2)
    row("  round trips measured", "round_trips", "ip", digits=0, ratio=False)
    row("  other processes' CPU (%)", "other_cpu_pct", "ip", ratio=False)

    width = max(len(r[0]) for r in rows if len(r) > 1) + 2
    header = (
        f"{'':<{width}}{'hardened':>10}{'plain':>10}{'ratio':>8}"
        f"{'on PG':>10}{'PG/SQLite':>10}   target"
    )
    lines = [header, "-" * max(len(header) + 30, max(len(r[0]) for r in rows))]
    for r in rows:
        if len(r) == 1:
            lines.append(r[0])
            continue
        label, h, p, hp, g, gh, tgt = r
        lines.append(f"{label:<{width}}{h:>10}{p:>10}{hp:>8}{g:>10}{gh:>10}   {tgt}".rstrip())
    lines.append("(hardened = the tool on SQLite; on PG = the same tool on PostgreSQL)")
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    h = result["gunicorn"]["hardened"]["rate"]
    p = result["gunicorn"]["plain"]["rate"]
    ratio = h / p if p else 0.0
    return [
        (
            f"hardened >= {TARGET_RATIO}x plain throughput (gunicorn): {ratio:.2f}x",
            ratio >= TARGET_RATIO,
        ),
        (f"hardened >= {TARGET_RATE:.0f} launches/s (gunicorn): {h:.0f}/s", h >= TARGET_RATE),
    ]


# -- main -----------------------------------------------------------------------------------


def gunicorn_defaults() -> dict[str, Any]:
    """workers and threads as config/gunicorn.conf.py sets them in this environment."""
    values = runpy.run_path(str(GUNICORN_CONF))
    return {"workers": int(values["workers"]), "threads": int(values["threads"])}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    n = cores()
    conf = gunicorn_defaults()
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a short smoke run (~30 s)")
    ap.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help="gunicorn: measured seconds per app, split over the rounds (30)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="gunicorn: measurement windows per app, in ABBA order (4)",
    )
    ap.add_argument("--warmup", type=float, default=3.0, help="gunicorn: first warm-up, s (3)")
    ap.add_argument(
        "--inprocess-seconds", type=float, default=10.0, help="in-process: max seconds per app (10)"
    )
    ap.add_argument(
        "--inprocess-max", type=int, default=4000, help="in-process: max round trips per app (4000)"
    )
    ap.add_argument(
        "--max-round-trips",
        type=int,
        default=20000,
        help="gunicorn: max round trips per client thread and window (20000)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=conf["workers"],
        help=f"gunicorn workers (config/gunicorn.conf.py says {conf['workers']})",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=conf["threads"],
        help=f"gunicorn threads per worker (config says {conf['threads']})",
    )
    ap.add_argument(
        "--client-processes", type=int, default=n, help=f"client processes (cores = {n})"
    )
    ap.add_argument(
        "--client-threads", type=int, default=4, help="browser threads per client process (4)"
    )
    ap.add_argument(
        "--profile", action="store_true", help="also cProfile 500 in-process hardened round trips"
    )
    ap.add_argument(
        "--sqlite-only",
        action="store_true",
        help="skip the tool on PostgreSQL (127.0.0.1:5432, database test)",
    )
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup = 6.0, 1, 1.5
        args.inprocess_seconds, args.inprocess_max = 3.0, 1000
    if (
        min(
            args.duration,
            args.rounds,
            args.workers,
            args.threads,
            args.client_processes,
            args.client_threads,
        )
        <= 0
    ):
        ap.error("durations and counts must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def _abort(signum: int, _frame: Any) -> None:
        raise SystemExit(f"benchmark stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _abort)
    signal.signal(signal.SIGALRM, _abort)
    signal.alarm(HARD_LIMIT_SECONDS)

    tmp_dir = tempfile.TemporaryDirectory(prefix="mp-bench-")
    schemas = ExitStack()
    postgres_url = "" if args.sqlite_only else (schemas.enter_context(postgres_schema()) or "")
    jwks = JwksServer().start()
    redis_url = redis_url_if_available()
    setup = Setup(
        postgres_url=postgres_url,
        tmp=Path(tmp_dir.name),
        platform=SigningPlatform(PlatformSpec(new_private_key_pem(), jwks.url)),
        redis_url=redis_url,
        cache_prefix=f"mp-bench-{secrets.token_hex(6)}:",
        secret_key=secrets.token_urlsafe(32),
    )
    jwks.publish(setup.platform.jwks())
    notes: list[str] = []
    if not redis_url:
        notes.append(
            f"No Redis on {REDIS_HOST}:{REDIS_PORT}: the plain app's cache is per process, so "
            "both gunicorn runs use 1 worker."
        )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "PLAIN_"))}
    base_env.pop("WEB_CONCURRENCY", None)
    plan = LoadPlan(
        workers=args.workers if redis_url else 1,
        threads=args.threads,
        processes=args.client_processes,
        client_threads=args.client_threads,
        warmup=args.warmup,
        duration=args.duration,
        rounds=args.rounds,
        max_round_trips=args.max_round_trips,
    )
    result: dict[str, Any] = {}
    profile = ""
    try:
        print(
            f"Launch benchmark: {cores()} cores, Python {pyplatform.python_version()}; plain app "
            f"cache: {'Redis ' + redis_url if redis_url else 'in-process dict'}",
            flush=True,
        )
        # 1. In-process: the tool's own time per round trip, one thread, no HTTP.
        base = "https://tool.bench"
        hardened = make_hardened(setup, hardened_settings(setup, "inprocess", base))
        apps: dict[str, Flask] = {"hardened": hardened}
        if postgres_url:
            on_pg = hardened_settings(setup, "inprocess-pg", base, postgres_url)
            apps["hardened_pg"] = make_hardened(setup, on_pg)
        plain = plain_app.create_app(plain_config(setup, "inprocess"))
        apps["plain"] = plain
        print(f"  in-process: {', '.join(apps)}, alternating blocks of 50", flush=True)
        inproc = run_inprocess(
            apps,
            setup.platform,
            base,
            args.inprocess_max,
            args.inprocess_seconds,
        )
        if args.profile:
            profile = profile_hardened(hardened, setup.platform, base, 500)
        for name in HARDENED:
            if name in apps:
                apps[name].extensions["db_engine"].dispose()
        del hardened, plain, apps
        gc.collect()

        # 2. gunicorn under concurrent clients over loopback HTTP.
        gun = run_gunicorn(setup, plan, jwks, base_env)

        result = {
            "benchmark": "LTI 1.3 login + launch round trips: hardened app vs plain pylti1p3",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cores": cores(),
                "python": pyplatform.python_version(),
                "platform": pyplatform.platform(),
            },
            "plain_cache": "redis" if redis_url else "in-process dict",
            "plan": asdict(plan),
            "gunicorn": {k: asdict(v) for k, v in gun.items()},
            "in_process": {k: asdict(v) for k, v in inproc.items()},
            "targets": {"ratio": TARGET_RATIO, "rate": TARGET_RATE},
            "notes": notes,
        }
        checks = verdicts(result)
        result["verdicts"] = dict(checks)
        noisy = [
            name
            for name, pct in (
                ("gunicorn", max(gun["hardened"].other_cpu_pct, gun["plain"].other_cpu_pct)),
                ("in-process", inproc["hardened"].other_cpu_pct),
            )
            if pct > 10
        ]
        if noisy:
            notes.append(
                f"Other processes used over 10% of the CPU during the {' and '.join(noisy)} "
                "runs: those figures are low and noisy; compare ratios, or rerun on a quiet "
                "machine."
            )
        result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    finally:
        for server in list(RUNNING):
            server.stop()
        signal.alarm(0)
        jwks.stop()
        with suppress(Exception):
            redis_cleanup(redis_url, setup.cache_prefix)
        schemas.close()
        tmp_dir.cleanup()

    print()
    print(render_table(result))
    print()
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    gu = result["gunicorn"]
    efficiency = _ratio(
        _per_second(gu["hardened"]["server_cpu_ms_per_rt"]),
        _per_second(gu["plain"]["server_cpu_ms_per_rt"]),
    )
    print(f"  [info] hardened vs plain round trips per server CPU-second: {efficiency}")
    for note in notes:
        print(f"  note: {note}")
    write_result(args.output, result, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
