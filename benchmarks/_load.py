"""Concurrent clients for the gunicorn runs: a few processes, each with a few browser threads.

Processes are started with the "spawn" method and report "ready" once the key is loaded, so
start-up costs fall outside the run. The orchestrator then publishes one schedule (start,
measure-from, measure-until, in wall-clock seconds): every thread runs round trips from
`start`, and only those that *complete* inside [measure-from, measure-until] are counted, so
the warm-up (first JWKS fetch, connection set-up, template compilation) is excluded. Each
thread stops at measure-until or after `max_round_trips`, whichever comes first.

CPU time of clients and server workers is read from /proc at both ends of the window.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from _platform import BenchError, HttpBrowser, PlatformSpec, SigningPlatform

CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_ERRORS_PER_THREAD = 20


@dataclass(frozen=True)
class LoadSpec:
    port: int
    base_url: str
    platform: PlatformSpec
    threads: int
    max_round_trips: int  # per thread
    timeout: float = 10.0


@dataclass
class ClientReport:
    pid: int
    samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    completed: int = 0  # all successful round trips, warm-up included
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)


def _thread_loop(
    spec: LoadSpec,
    platform: SigningPlatform,
    window: tuple[float, float],
    report: ClientReport,
    lock: threading.Lock,
) -> None:
    measure_from, measure_until = window
    browser = HttpBrowser("127.0.0.1", spec.port, platform, spec.base_url, timeout=spec.timeout)
    done = errors = 0
    samples: list[tuple[float, float, float, float]] = []
    try:
        while done < spec.max_round_trips and time.time() < measure_until:
            try:
                rt = browser.round_trip()
            except (BenchError, OSError, http.client.HTTPException, KeyError) as exc:
                browser.close()
                errors += 1
                with lock:
                    report.errors += 1
                    if len(report.first_errors) < 5:
                        report.first_errors.append(f"{type(exc).__name__}: {exc}"[:300])
                if errors >= MAX_ERRORS_PER_THREAD:
                    break
                continue
            done += 1
            if measure_from <= rt.end <= measure_until:
                samples.append((rt.total, rt.login, rt.sign, rt.launch))
    finally:
        browser.close()
        with lock:
            report.completed += done
            report.samples.extend(samples)


def client_main(
    spec: LoadSpec,
    ready: mp.Queue[int],
    go: Event,
    schedule: SynchronizedArray[Any],
    results: mp.Queue[ClientReport],
) -> None:
    """Entry point of one client process."""
    platform = SigningPlatform(spec.platform)
    platform.id_token("warm-up", spec.base_url)  # load the key and the JWT code paths
    report = ClientReport(pid=os.getpid())
    ready.put(report.pid)
    if not go.wait(60):
        report.first_errors.append("no start signal")
        results.put(report)
        return
    start, measure_from, measure_until = schedule[:]
    time.sleep(max(0.0, start - time.time()))
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_thread_loop,
            args=(spec, platform, (measure_from, measure_until), report, lock),
            daemon=True,
        )
        for _ in range(spec.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, measure_until - time.time()) + spec.timeout * 2 + 5)
    results.put(report)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads) from /proc; 0 if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found


def machine_busy() -> float:
    """CPU seconds all CPUs spent busy since boot (not idle, not waiting on I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class LoadResult:
    window: float
    samples: list[tuple[float, float, float, float]]
    completed: int
    errors: int
    first_errors: list[str]
    server_cpu: float  # CPU seconds inside the window
    client_cpu: float
    machine_cpu: float  # all CPUs, every process on the machine
    processes: int
    threads: int

    @property
    def other_cpu(self) -> float:
        """CPU seconds used by processes that are neither server nor client."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu)


def merge(results: Sequence[LoadResult]) -> LoadResult:
    """Several measurement windows of the same server as one."""
    first = results[0]
    return LoadResult(
        window=sum(r.window for r in results),
        samples=[s for r in results for s in r.samples],
        completed=sum(r.completed for r in results),
        errors=sum(r.errors for r in results),
        first_errors=[e for r in results for e in r.first_errors][:5],
        server_cpu=sum(r.server_cpu for r in results),
        client_cpu=sum(r.client_cpu for r in results),
        machine_cpu=sum(r.machine_cpu for r in results),
        processes=first.processes,
        threads=first.threads,
    )


def run_load(
    spec: LoadSpec,
    processes: int,
    warmup: float,
    duration: float,
    server_pids: Callable[[], Sequence[int]],
) -> LoadResult:
    """Run `processes` x `spec.threads` browsers; measure `duration` s after `warmup` s."""
    ctx = mp.get_context("spawn")
    ready: mp.Queue[int] = ctx.Queue()
    results: mp.Queue[ClientReport] = ctx.Queue()
    go = ctx.Event()
    schedule = ctx.Array("d", 3)
    procs = [
        ctx.Process(target=client_main, args=(spec, ready, go, schedule, results), daemon=True)
        for _ in range(processes)
    ]
    reports: list[ClientReport] = []
    try:
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=60)
        start = time.time() + 0.2
        schedule[:] = [start, start + warmup, start + warmup + duration]
        go.set()

        time.sleep(max(0.0, start + warmup - time.time()))
        servers = list(server_pids())
        s0 = sum(cpu_seconds(p) for p in servers)
        c0 = sum(cpu_seconds(p.pid or 0) for p in procs)
        m0 = machine_busy()
        time.sleep(max(0.0, start + warmup + duration - time.time()))
        s1 = sum(cpu_seconds(p) for p in servers)
        c1 = sum(cpu_seconds(p.pid or 0) for p in procs)
        m1 = machine_busy()

        deadline = time.time() + spec.timeout * 2 + 15
        while len(reports) < len(procs) and time.time() < deadline:
            try:
                reports.append(results.get(timeout=max(0.1, deadline - time.time())))
            except queue.Empty:
                break
    finally:
        go.set()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    if len(reports) < len(procs):
        raise RuntimeError(f"only {len(reports)} of {len(procs)} client processes reported")
    return LoadResult(
        window=duration,
        samples=[s for r in reports for s in r.samples],
        completed=sum(r.completed for r in reports),
        errors=sum(r.errors for r in reports),
        first_errors=[e for r in reports for e in r.first_errors][:5],
        server_cpu=s1 - s0,
        client_cpu=c1 - c0,
        machine_cpu=m1 - m0,
        processes=processes,
        threads=spec.threads,
    )
