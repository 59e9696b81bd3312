"""Mixed load: launches, teachers reading the grid and teachers overriding, on gunicorn in
production mode, PostgreSQL and SQLite in one run.

    .venv/bin/python benchmarks/load.py                 # what `make bench-load` runs
    .venv/bin/python benchmarks/load.py --duration 15   # shorter windows (a smoke run)
    .venv/bin/python benchmarks/load.py --soak 600 --databases postgresql  # table sizes, pruning on
    .venv/bin/python benchmarks/load.py --help

For each database (PostgreSQL at 127.0.0.1:5432 in a private schema of ``test``, then SQLite in
a temp dir) the tool runs under gunicorn with ``config/gunicorn.conf.py`` defaults (2 x cores
workers, 4 threads) and ``APP_ENV=production``, on the course of benchmarks/grid.py (35
students x 40 targets, 8,000 results, 120 demonstrations, 40 overrides). Then:

1. **closed loop**: 12 clients back to back for ``--duration`` seconds: 4 new-browser launches
   (login POST -> 302, the platform signs an RS256 id_token, launch POST -> 200 page), 5
   teachers alternating the class grid and a drill-down, 3 teachers posting overrides with
   their session's CSRF token and Origin (-> 303, the redirect is not followed);
2. **with write-back**: the closed loop again, with the write-back worker scoring rounds of
   demonstrations in a Canvas sandbox course on the same database and delivering them to the
   sandbox throughout (``--no-writeback`` skips it);
3. **open loop**: the same mix arriving at a fixed rate (``--open-rate`` requests/s, split as
   4:5:3), each request timed from its scheduled start, so a slow server shows as latency
   instead of fewer requests.

Printed per kind: requests/s, p50/p95/p99 ms, and errors by status, with the machine's load
average beside each run (a shared 2-core machine: the figures are noisy). PostgreSQL's peak
connections (all / active) come from pg_stat_activity, sampled every 0.25 s. After each run the
database is checked: every successful launch made one session, every login of a successful
launch was consumed and no other login was, and every 303 from an override stored one
override. Teachers use launch sessions made directly (as benchmarks/grid.py does) and send
the session secret in X-Launch-Token, as a cookie-less browser inside Canvas does.

Every loop is bounded in time; an alarm ends the run (and gunicorn) after ``--duration`` x 10
+ 240 s. Results also go to benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import logging
import multiprocessing as mp
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import grid as course_data
from _platform import (
    BenchError,
    HttpBrowser,
    JwksServer,
    PlatformSpec,
    SigningPlatform,
    new_private_key_pem,
)
from _report import write_result
from launch import cores, free_port, gunicorn, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load.json"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PUBLIC_BASE = "https://tool.load.example"
COURSE = "101"  # the FakePlatform launch's $Canvas.course.id: launches land on the course
MIX = {"launch": 4, "grid": 5, "override": 3}
KINDS = ("launch_rt", "login", "launch", "grid", "drilldown", "override")
APP_NAME = "mp-load"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LEVELS = ("1", "1.5", "2", "2.5", "3", "3.5", "4")


# -- clients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Teacher:
    handle: str
    secret: str
    csrf: str


@dataclass(frozen=True)
class ClientSpec:
    kind: str  # launch | grid | override
    port: int
    platform: PlatformSpec
    teachers: tuple[Teacher, ...]
    students: tuple[str, ...]
    targets: tuple[str, ...]
    threads: int
    start: float  # wall clock
    until: float
    rate: float = 0.0  # open loop: requests/s for this kind (0: closed loop)
    timeout: float = 20.0


# (kind, status, seconds, scheduled-or-sent wall time); status 0 = no answer
Sample = tuple[str, int, float, float]


@dataclass
class ClientReport:
    samples: list[Sample] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    unsent: int = 0  # open loop: slots whose time came but no thread was free before the end


class Teaching:
    """One teacher's keep-alive connection: GETs and the override POST."""

    def __init__(self, spec: ClientSpec, teacher: Teacher, rng: random.Random) -> None:
        self.spec, self.teacher, self.rng = spec, teacher, rng
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: str = "") -> tuple[int, bytes]:
        headers = {"X-Launch-Token": self.teacher.secret}
        if method == "POST":
            headers |= {**FORM, "Origin": PUBLIC_BASE}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.spec.port, timeout=self.spec.timeout
                )
            try:
                self.conn.request(method, path, body=body or None, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a kept-alive connection the server closed: send once more
                if attempt == 1:
                    continue
                raise
            if response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def pair(self) -> tuple[str, str]:
        return self.rng.choice(self.spec.students), self.rng.choice(self.spec.targets)


def _one(spec: ClientSpec, state: dict[str, Any], report: ClientReport) -> list[Sample]:
    """One request (grid/drill-down alternate per teacher), or one launch round trip."""
    kind = spec.kind
    now = time.time
    if kind == "launch":
        browser: HttpBrowser = state["browser"]
        t0 = now()
        try:
            rt = browser.round_trip()
        except BenchError as exc:
            browser.close()
            status = int(str(exc).split(" answered ", 1)[1].split(":", 1)[0])
            which = "login" if str(exc).startswith("login") else "launch"
            _note(report, f"{which} {exc}")
            return [(which, status, now() - t0, t0)]
        return [
            ("launch_rt", 200, rt.total, t0),
            ("login", 302, rt.login, t0),
            ("launch", 200, rt.launch, t0),
        ]
    teaching: Teaching = state["teaching"]
    uid, oid = teaching.pair()
    base = f"/s/{teaching.teacher.handle}/grid"
    if kind == "grid":
        state["n"] = state.get("n", 0) + 1
        which, path = ("grid", base) if state["n"] % 2 else ("drilldown", f"{base}/{uid}/{oid}")
        t0 = now()
        status, body = teaching.request("GET", path)
        ok = status == 200
    else:
        which, path = "override", f"{base}/{uid}/{oid}/override"
        form = {
            "csrf_token": teaching.teacher.csrf,
            "action": "set",
            "level": teaching.rng.choice(LEVELS),
            "reason": "Load test conference",
        }
        t0 = now()
        status, body = teaching.request("POST", path, urlencode(form))
        ok = status == 303
    elapsed = now() - t0
    if not ok:
        _note(report, f"{which} {status}: {body[:160]!r}")
    return [(which, status, elapsed, t0)]


def _note(report: ClientReport, text: str) -> None:
    if len(report.first_errors) < 5:
        report.first_errors.append(text[:300])


def _new_state(spec: ClientSpec, index: int) -> dict[str, Any]:
    rng = random.Random(f"{spec.kind}-{index}")
    if spec.kind == "launch":
        platform = SigningPlatform(spec.platform)
        browser = HttpBrowser("127.0.0.1", spec.port, platform, PUBLIC_BASE, timeout=spec.timeout)
        return {"browser": browser}
    teacher = spec.teachers[index % len(spec.teachers)]
    return {"teaching": Teaching(spec, teacher, rng)}


def _close(state: dict[str, Any]) -> None:
    for value in state.values():
        if hasattr(value, "close"):
            value.close()


def _closed_loop(spec: ClientSpec, index: int, report: ClientReport, lock: threading.Lock) -> None:
    state = _new_state(spec, index)
    out: list[Sample] = []
    try:
        while time.time() < spec.until:
            try:
                out += _one(spec, state, report)
            except (OSError, http.client.HTTPException) as exc:
                _close(state)
                out.append((spec.kind, 0, 0.0, time.time()))
                _note(report, f"{spec.kind} {type(exc).__name__}: {exc}")
                time.sleep(0.05)
    finally:
        _close(state)
        with lock:
            report.samples += out


def _open_loop(
    spec: ClientSpec, index: int, report: ClientReport, lock: threading.Lock, ticket: Iterator[int]
) -> None:
    """Take the next scheduled slot, wait for its time, run it; latency counts from the slot
    (a request that starts late because every thread was busy carries its wait)."""
    state = _new_state(spec, index)
    out: list[Sample] = []
    try:
        while True:
            with lock:
                i = next(ticket)
            at = spec.start + i / spec.rate
            if at >= spec.until:
                break
            if time.time() >= spec.until:  # overloaded: this slot was never started
                with lock:
                    report.unsent += 1
                continue
            time.sleep(max(0.0, at - time.time()))
            try:
                samples = _one(spec, state, report)
            except (OSError, http.client.HTTPException) as exc:
                _close(state)
                out.append((spec.kind, 0, time.time() - at, at))
                _note(report, f"{spec.kind} {type(exc).__name__}: {exc}")
                continue
            done = time.time()
            # The headline figure of each kind counts from the slot, not from sending.
            out += [
                (k, s, done - at if k in ("launch_rt", "grid", "drilldown", "override") else t, at)
                for k, s, t, _ in samples
            ]
    finally:
        _close(state)
        with lock:
            report.samples += out


def client_main(spec: ClientSpec, ready: Any, results: Any) -> None:
    if spec.kind == "launch":
        SigningPlatform(spec.platform).id_token("warm-up", PUBLIC_BASE)  # key and JWT code loaded
    ready.put(os.getpid())
    time.sleep(max(0.0, spec.start - time.time()))
    report = ClientReport()
    lock = threading.Lock()
    tickets = iter(range(10**9))
    if spec.rate:
        threads = [
            threading.Thread(target=_open_loop, args=(spec, i, report, lock, tickets), daemon=True)
            for i in range(spec.threads)
        ]
    else:
        threads = [
            threading.Thread(target=_closed_loop, args=(spec, i, report, lock), daemon=True)
            for i in range(spec.threads)
        ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, spec.until - time.time()) + spec.timeout * 2 + 5)
    results.put(report)


def run_clients(specs: Sequence[ClientSpec]) -> ClientReport:
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=client_main, args=(s, ready, results), daemon=True) for s in specs]
    merged = ClientReport()
    try:
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=60)
        deadline = max(s.until for s in specs) + 60
        for _ in procs:
            report: ClientReport = results.get(timeout=max(1.0, deadline - time.time()))
            merged.samples += report.samples
            merged.first_errors += report.first_errors
            merged.unsent += report.unsent
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    return merged


# -- the server and its database --------------------------------------------------------------


@contextmanager
def postgres_schema() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    schema = "load_" + secrets.token_hex(5)
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?application_name={APP_NAME}&options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@dataclass(frozen=True)
class Seeded:
    teachers: tuple[Teacher, ...]
    students: tuple[str, ...]
    targets: tuple[str, ...]


def seed(url: str, settings: dict[str, str], platform: SigningPlatform, n: int) -> Seeded:
    """Schema, platform, the grid benchmark's course, and ``n`` teacher sessions."""
    from sqlalchemy import select

    from lti_app import create_app
    from lti_app.db import Base, session_scope
    from lti_app.lti import launch_session
    from lti_app.models.canvas import CanvasCourse, CourseOutcome, CourseStudent
    from lti_app.models.launch import LaunchSession
    from lti_app.models.tenancy import Deployment

    # Seeded in testing mode: production refuses the JWKS address on loopback http.
    app = create_app({**settings, "app_env": "testing", "database_url": url})
    Base.metadata.create_all(app.extensions["db_engine"])
    course_data.seed(app, platform.cli_args(), COURSE)
    claims = {
        "sub": "load-teacher",
        "name": "Load Teacher",
        course_data.ROLES: [course_data.LIS + "membership#Instructor"],
        course_data.CLAIM + "context": {"id": "ctx-load", "title": "Algebra I"},
        course_data.CLAIM + "custom": {"canvas_course_id": COURSE, "canvas_user_id": "1"},
    }
    teachers = []
    with session_scope(app) as db:
        deployment = db.scalars(select(Deployment)).one()
        for _ in range(n):
            new = launch_session.create(db, deployment, claims, ttl=7200)
            row = db.get(LaunchSession, new.session.id)
            assert row is not None
            teachers.append(Teacher(new.session.id, new.secret, row.csrf_token))
        course = db.scalars(select(CanvasCourse)).one()
        students = tuple(
            db.scalars(
                select(CourseStudent.canvas_user_id).where(CourseStudent.course_pk == course.id)
            )
        )
        targets = tuple(
            db.scalars(
                select(CourseOutcome.canvas_outcome_id).where(CourseOutcome.course_pk == course.id)
            )
        )
    app.extensions["db_engine"].dispose()
    return Seeded(tuple(teachers), students, targets)


def counts(url: str, since: datetime) -> dict[str, int]:
    """Rows the run made (created at or after ``since``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    queries = {
        "sessions": "select count(*) from launch_session where created_at >= :t",
        "logins": "select count(*) from oidc_login where created_at >= :t",
        "logins_consumed": (
            "select count(*) from oidc_login where created_at >= :t and consumed_at is not null"
        ),
        "overrides": "select count(*) from mastery_override where created_at >= :t",
        "oidc_login_rows": "select count(*) from oidc_login",
        "launch_session_rows": "select count(*) from launch_session",
        # Every benchmark launch is a new LTI user (FakePlatform's sub is a fresh uuid), and
        # users are never pruned: this counts the launches so far.
        "lti_user_rows": "select count(*) from lti_user",
    }
    with engine.connect() as conn:
        out = {k: int(conn.execute(text(q), {"t": since}).scalar_one()) for k, q in queries.items()}
    engine.dispose()
    return out


class WritebackWorker:
    """The write-back worker beside the mix, on the same database: a Canvas sandbox (over
    loopback HTTP) whose ELA course the tool synced and whose teacher connected (the world of
    tests/writeback/harness.py), a round of demonstrations scored (every student, two
    targets), then delivered to the sandbox by ``deliver_course`` as a worker does, again
    and again until the run ends."""

    def __init__(self, url: str) -> None:
        from tests.writeback import harness

        self._world_cm = harness.world(url, log_level="WARNING")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the sandbox's access log
        self.scored = self.delivered = self.passes = 0
        self.first_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WritebackWorker:
        self.world = self._world_cm.__enter__()
        return self

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._world_cm.__exit__(None, None, None)

    def _run(self) -> None:
        w = self.world
        rounds = 0
        while not self._stop.is_set():
            level = LEVELS[rounds % len(LEVELS)]
            rounds += 1
            try:
                for student in w.students:
                    for outcome in w.outcomes[:2]:
                        if self._stop.is_set():
                            return
                        w.score(student, outcome, level)
                        self.scored += 1
                for _ in range(20):  # passes until this round is delivered (bounded)
                    if self._stop.is_set():
                        return
                    report = w.deliver()
                    self.passes += 1
                    self.delivered += report.delivered
                    if not any(item.status == "pending" for item in w.items()):
                        break
            except Exception as exc:  # report it, keep the mix running
                self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:300]
                time.sleep(1.0)


class ConnectionWatch:
    """Peak PostgreSQL connections of the app (by application_name), all and active."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.peak_all = self.peak_active = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionWatch:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(POSTGRES_URL, pool_size=1)
        query = text(
            "select count(*), count(*) filter (where state = 'active') "
            "from pg_stat_activity where application_name = :app"
        )
        with engine.connect() as conn:
            while not self._stop.wait(0.25):
                total, active = conn.execute(query, {"app": APP_NAME}).one()
                conn.commit()
                self.peak_all = max(self.peak_all, int(total))
                self.peak_active = max(self.peak_active, int(active))
        engine.dispose()


# -- one database --------------------------------------------------------------------------


def summarize(
    samples: list[Sample], window: float, since: float, until: float
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [s for s in samples if s[0] == kind and since <= s[3] <= until]
        ok = [s[2] for s in mine if s[1] in (200, 302, 303)]
        errors = Counter(s[1] for s in mine if s[1] not in (200, 302, 303))
        if not mine:
            continue
        out[kind] = {
            "requests": len(ok),
            "rate": round(len(ok) / window, 1),
            "p50_ms": round(percentile(ok, 50) * 1000, 1),
            "p95_ms": round(percentile(ok, 95) * 1000, 1),
            "p99_ms": round(percentile(ok, 99) * 1000, 1),
            "errors": {str(k): v for k, v in sorted(errors.items())},
        }
    return out


def checks(before: dict[str, int], after: dict[str, int], samples: list[Sample]) -> dict[str, Any]:
    """The database against what the clients saw (the whole run, warm-up included)."""
    seen = Counter((s[0], s[1]) for s in samples)
    launched = seen[("launch_rt", 200)]
    failed_launches = sum(v for (k, s), v in seen.items() if k == "launch" and s != 200)
    logins = seen[("login", 302)] + failed_launches
    made = {k: after[k] - before[k] for k in ("sessions", "logins", "logins_consumed", "overrides")}
    result = {
        "sessions == successful launches": (made["sessions"], launched),
        "logins == login 302s": (made["logins"], logins),
        "consumed logins == successful launches": (made["logins_consumed"], launched),
        "overrides == override 303s": (made["overrides"], seen[("override", 303)]),
    }
    return {name: {"db": a, "clients": b, "ok": a == b} for name, (a, b) in result.items()}


def run_database(
    name: str, url: str, args: argparse.Namespace, tmp: Path, platform: SigningPlatform
) -> dict[str, Any]:
    settings = {
        "secret_key": secrets.token_urlsafe(48),
        "encryption_keys": "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "public_base_url": PUBLIC_BASE,
        "instance_path": str(tmp / f"instance-{name}"),
        "log_level": "WARNING",
    }
    t = time.perf_counter()
    seeded = seed(url, settings, platform, MIX["grid"] + MIX["override"])
    print(f"  {name}: seeded in {time.perf_counter() - t:.1f} s (not timed)", flush=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.pop("WEB_CONCURRENCY", None)
    env |= {k.upper(): v for k, v in settings.items()}
    env |= {
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(tmp / f"access-{name}.log"),
        "GUNICORN_LOG_LEVEL": "warning",
    }
    if args.soak:
        # Short lifetimes and a frequent prune, so a few minutes show whether tables level off.
        env |= {"PRUNE_SECONDS": "15", "OIDC_STATE_TTL": "30", "LAUNCH_SESSION_TTL": "60"}
    runs: dict[str, Any] = {}
    with gunicorn("lti_app:create_app()", env, tmp / f"gunicorn-{name}.log") as server:
        server.wait_ready(f"http://127.0.0.1:{port}/lti/config.json")
        if args.soak:
            runs["soak"] = soak(url, port, platform, seeded, args)
            return runs
        plan = [("closed", 0.0, False), ("closed_writeback", 0.0, True)]
        plan += [("open", args.open_rate, False)]
        for run, rate, writeback in plan:
            if writeback and args.no_writeback:
                continue
            runs[run] = one_run(name, url, port, platform, seeded, args, rate, writeback)
            show = runs[run]
            print(
                f"  {name} {run}: "
                + ", ".join(
                    f"{k} {v['rate']}/s p50 {v['p50_ms']}"
                    for k, v in show["kinds"].items()
                    if k in ("launch_rt", "grid", "override")
                )
                + f" (load {show['loadavg']})",
                flush=True,
            )
    return runs


def one_run(
    name: str,
    url: str,
    port: int,
    platform: SigningPlatform,
    seeded: Seeded,
    args: argparse.Namespace,
    rate: float,
    writeback: bool = False,
) -> dict[str, Any]:
    with ExitStack() as stack:
        worker = stack.enter_context(WritebackWorker(url)) if writeback else None
        out = _measured_run(name, url, port, platform, seeded, args, rate, worker)
    return out


def _measured_run(
    name: str,
    url: str,
    port: int,
    platform: SigningPlatform,
    seeded: Seeded,
    args: argparse.Namespace,
    rate: float,
    worker: WritebackWorker | None,
) -> dict[str, Any]:
    since = datetime.now(UTC)
    before = counts(url, since)
    start = time.time() + 0.5
    measure_from = start + args.warmup
    until = measure_from + args.duration
    total = sum(MIX.values())
    specs = [
        ClientSpec(
            kind=kind,
            port=port,
            platform=platform.spec,
            teachers=seeded.teachers[: MIX["grid"]]
            if kind == "grid"
            else seeded.teachers[MIX["grid"] :],
            students=seeded.students,
            targets=seeded.targets,
            threads=threads if not rate else max(threads * 2, 4),
            start=start,
            until=until,
            rate=rate * threads / total,
        )
        for kind, threads in MIX.items()
    ]
    with ConnectionWatch(name == "postgresql") as watch:
        if worker is not None:
            worker.start()
        try:
            report = run_clients(specs)
        finally:
            if worker is not None:
                worker.stop()
    load = Path("/proc/loadavg").read_text().split()[:3]
    after = counts(url, since)
    loop = f"open, {rate:g} requests/s" if rate else "closed, 12 clients"
    if worker is not None:
        loop += (
            f", write-back worker beside it (scored {worker.scored}, delivered "
            f"{worker.delivered} in {worker.passes} passes"
            + (f"; error: {worker.first_error}" if worker.first_error else "")
            + ")"
        )
    return {
        "loop": loop,
        "window_s": args.duration,
        "loadavg": " ".join(load),
        "kinds": summarize(report.samples, args.duration, measure_from, until),
        "peak_connections": f"{watch.peak_all} / {watch.peak_active} active"
        if watch.enabled
        else "n/a",
        "checks": checks(before, after, report.samples),
        "table_rows": {k: after[k] for k in ("oidc_login_rows", "launch_session_rows")},
        "first_errors": report.first_errors[:5],
        "unsent": report.unsent,
    }


def soak(
    url: str, port: int, platform: SigningPlatform, seeded: Seeded, args: argparse.Namespace
) -> dict[str, Any]:
    """The closed-loop mix for ``--soak`` seconds with pruning every 15 s: table sizes every
    30 s (logins live 30 s, sessions 60 s)."""
    start = time.time() + 0.5
    until = start + args.soak
    specs = [
        ClientSpec(
            kind=kind,
            port=port,
            platform=platform.spec,
            teachers=seeded.teachers[: MIX["grid"]]
            if kind == "grid"
            else seeded.teachers[MIX["grid"] :],
            students=seeded.students,
            targets=seeded.targets,
            threads=threads,
            start=start,
            until=until,
        )
        for kind, threads in MIX.items()
    ]
    sizes: list[dict[str, Any]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(30.0):
            rows = counts(url, datetime.now(UTC))
            sizes.append(
                {
                    "t_s": round(time.time() - start),
                    "oidc_login": rows["oidc_login_rows"],
                    "launch_session": rows["launch_session_rows"],
                    "launches_so_far": rows["lti_user_rows"],
                    "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
                }
            )
            print(f"    soak {sizes[-1]}", flush=True)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        report = run_clients(specs)
    finally:
        stop.set()
        sampler.join(timeout=60)
    launches = sum(1 for s in report.samples if s[0] == "launch_rt" and s[1] == 200)
    if sizes:
        half = sizes[len(sizes) // 2 :]
        print(
            f"    soak: {launches} launches; rows at most {max(x['oidc_login'] for x in sizes)} "
            f"oidc_login / {max(x['launch_session'] for x in sizes)} launch_session (second "
            f"half: at most {max(x['oidc_login'] for x in half)} / "
            f"{max(x['launch_session'] for x in half)}); without pruning both would be "
            f"{launches}",
            flush=True,
        )
    return {"seconds": args.soak, "launches": launches, "sizes": sizes}


# -- report --------------------------------------------------------------------------------


def render(result: dict[str, Any]) -> str:
    lines: list[str] = []
    dbs = [d for d in ("postgresql", "sqlite") if d in result["databases"]]
    for run in ("closed", "closed_writeback", "open"):
        if run not in result["databases"][dbs[0]]:
            continue
        lines.append("")
        for d in dbs:
            r = result["databases"][d][run]
            lines.append(f"{d}: {r['loop']} ({r['window_s']} s measured)")
        header = f"{'kind':<11}" + "".join(f"{d + ' req/s  p50 / p95 / p99 ms':>44}" for d in dbs)
        lines.append(header)
        for kind in KINDS:
            cells = []
            for d in dbs:
                k = result["databases"][d][run]["kinds"].get(kind)
                figures = (
                    f"{k['p50_ms']:>7.1f} / {k['p95_ms']:>7.1f} / {k['p99_ms']:>7.1f}" if k else ""
                )
                cells.append(f"{k['rate']:>8.1f}  {figures}" if k else "-")
            lines.append(f"{kind:<11}" + "".join(f"{c:>44}" for c in cells))
        for label, key in (
            ("errors", None),
            ("peak conn", "peak_connections"),
            ("load avg", "loadavg"),
        ):
            cells = []
            for d in dbs:
                r = result["databases"][d][run]
                if key is None:
                    errs: Counter[str] = Counter()
                    for k in r["kinds"].values():
                        errs.update(k["errors"])
                    if r.get("unsent"):
                        errs["not sent before the end (overload)"] = r["unsent"]
                    cells.append(", ".join(f"{s}: {n}" for s, n in errs.items()) or "0")
                else:
                    cells.append(str(r[key]))
            lines.append(f"{label:<11}" + "".join(f"{c:>44}" for c in cells))
        for d in dbs:
            r = result["databases"][d][run]
            bad = [n for n, c in r["checks"].items() if not c["ok"]]
            verdict = (
                "all pass"
                if not bad
                else "FAILED: "
                + "; ".join(
                    f"{n} (db {r['checks'][n]['db']}, clients {r['checks'][n]['clients']})"
                    for n in bad
                )
            )
            lines.append(f"  {d} database checks: {verdict}; rows now {r['table_rows']}")
            for e in r["first_errors"]:
                lines.append(f"    {d} error: {e}")
    closed = {d: result["databases"][d]["closed"]["kinds"] for d in dbs}
    if len(dbs) == 2 and all("launch_rt" in closed[d] for d in dbs):
        pg, lite = closed["postgresql"]["launch_rt"]["rate"], closed["sqlite"]["launch_rt"]["rate"]
        lines.append(
            f"\nTargets (closed loop): PostgreSQL launches >= SQLite: {pg} vs {lite} "
            f"({pg / lite if lite else float('nan'):.2f}x) {'met' if pg >= lite else 'NOT met'}"
        )
    if "postgresql" in closed and "grid" in closed["postgresql"]:
        g = closed["postgresql"]["grid"]
        met = g["p50_ms"] <= 100 and g["p95_ms"] <= 250
        lines.append(
            f"PostgreSQL grid p50 <= 100 ms and p95 <= 250 ms: {g['p50_ms']} / {g['p95_ms']} "
            f"{'met' if met else 'NOT met'}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds per run (60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first (5)")
    ap.add_argument(
        "--open-rate", type=float, default=30.0, help="open loop: requests/s, all kinds (30)"
    )
    ap.add_argument(
        "--databases", default="postgresql,sqlite", help="comma-separated: postgresql,sqlite"
    )
    ap.add_argument(
        "--no-writeback", action="store_true", help="skip the run with the write-back worker"
    )
    ap.add_argument(
        "--soak",
        type=float,
        default=0.0,
        help="instead: the closed-loop mix this many seconds with pruning every 15 s (logins "
        "live 30 s, sessions 60 s), printing table sizes every 30 s",
    )
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    limit = int(args.duration * 10 + 240 + args.soak * 2)

    def _abort(_signum: int, _frame: Any) -> None:
        raise SystemExit(f"load benchmark aborted: over {limit} s")

    signal.signal(signal.SIGALRM, _abort)
    signal.alarm(limit)
    started = time.monotonic()
    jwks = JwksServer().start()
    platform = SigningPlatform(PlatformSpec(new_private_key_pem(), jwks.url))
    jwks.publish(platform.jwks())
    result: dict[str, Any] = {
        "machine": {"cores": cores(), "loadavg_start": Path("/proc/loadavg").read_text().strip()},
        "mix": MIX,
        "databases": {},
    }
    print(
        f"Mixed load: {cores()} cores, gunicorn defaults, APP_ENV=production; "
        f"load average {result['machine']['loadavg_start']}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="mp-load-") as tmp_name:
            tmp = Path(tmp_name)
            for name in args.databases.split(","):
                if name == "postgresql":
                    try:
                        with postgres_schema() as url:
                            result["databases"][name] = run_database(name, url, args, tmp, platform)
                    except OSError as exc:
                        print(f"  postgresql: skipped ({exc})")
                elif name == "sqlite":
                    url = f"sqlite:///{tmp / 'load.sqlite3'}"
                    result["databases"][name] = run_database(name, url, args, tmp, platform)
    finally:
        signal.alarm(0)
        with suppress(Exception):
            jwks.stop()
    if not args.soak:
        print(render(result))
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    write_result(args.output, result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
