"""Mastery benchmark: current levels for a whole district, our pure engine vs pandas.

    .venv/bin/python benchmarks/mastery.py           # what `make bench` runs (~3 minutes)
    .venv/bin/python benchmarks/mastery.py --quick   # 100,000 rows, a few seconds
    .venv/bin/python benchmarks/mastery.py --profile # + cProfile of one pass of our engine

1,000,000 evidence rows (30,000 students x ~33 rows over 10 targets, scores on the Marzano
0-4 half-point scale, timestamps in no particular order) are generated deterministically from
a seeded ``random.Random`` into plain lists (not timed). Then, in this one process:

1. **ours**: lti_app.mastery.calculation: rows grouped per (student, target) and put in
   Canvas order by one stable sort on ``group << 32 | whole second`` + ``itertools.groupby``,
   then ``compute_many(method, ...)`` over all groups for every method in ``Method``;
2. **pandas, hand-vectorised**: the same computation written with pandas/numpy by someone
   who vectorises every method (stable sort on the whole second, ``groupby`` aggregations,
   vectorised formulas, the same Ruby rounding);
3. **pandas groupby-apply**: the same computation as pandas users usually write it (sort,
   ``groupby``, ``apply`` a function per group; one pass, skip with ``--no-apply``);

4. **ours, numpy batch** (``lti_app.grading.batch``): the same rows as numpy arrays (built
   untimed, like the DataFrame), grouped and ordered by one stable argsort, every method with
   ``reduceat``/``bincount``; it must beat the hand-vectorised pandas in this same run;

and checks that all give the same levels (to 2 decimals) for every group and method. See
benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import platform as pyplatform
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from _report import write_result

from lti_app.mastery.calculation import METHOD_PARAMETERS, Method, compute_many
from lti_app.mastery.scales import load_preset

if TYPE_CHECKING:  # pandas is imported lazily, after our engine ran (see peak memory)
    import numpy as np
    import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "mastery.json"
SCALE = "marzano_0_4_half"
CANVAS = (
    Method.HIGHEST,
    Method.LATEST,
    Method.AVERAGE,
    Method.DECAYING_AVERAGE,
    Method.STANDARD_DECAYING_AVERAGE,
    Method.N_MASTERY,
)
METHODS = tuple(Method)  # the six Canvas methods + power_law, mode, recent_mean
TARGET_CANVAS_S = 3.0
TARGET_ALL_S = 6.0
TARGET_MEMORY_MB = 1024.0
TARGET_RATIO = 1.0  # ours / pandas time must be below this
HARD_LIMIT_SECONDS = 400

Levels = list[float | None]


# -- data ------------------------------------------------------------------------------------


@dataclass
class Rows:
    """Evidence rows as parallel plain lists, in "database" order (not time order)."""

    student: list[int]
    target: list[int]
    at: list[float]  # POSIX seconds with a fraction; Canvas orders on the whole second
    score: list[float]

    def __len__(self) -> int:
        return len(self.score)


def generate(rows: int, students: int, targets: int, values: Sequence[float], seed: int) -> Rows:
    """Deterministic district evidence.

    Each student gets ``rows / students`` rows on average (17-49 rows drawn per student, the
    total then made exact), spread over ``targets`` targets with uneven weights (some targets
    are assessed much more often). Times fall in a school year and are shuffled; one row in 20
    repeats an earlier time of its student in the same whole second (a Canvas tie). Scores
    drift upwards with attempts, as learning does, with noise, on the scale's values.
    """
    rng = random.Random(seed)
    mean = rows / students
    counts = [rng.randint(max(1, round(mean / 2)), round(mean * 1.5)) for _ in range(students)]
    diff = rows - sum(counts)
    i = 0
    while diff:  # spread the rounding difference one row at a time
        step = 1 if diff > 0 else -1
        if counts[i % students] + step >= 1:
            counts[i % students] += step
            diff -= step
        i += 1
    weights = [1.0 + (t * 7) % targets for t in range(targets)]
    start = 1_755_000_000.0  # August 2025
    year = 300 * 86_400.0
    top = len(values) - 1
    out = Rows([], [], [], [])
    for student, count in enumerate(counts):
        ability = rng.uniform(0.2, 0.9)
        tgts = rng.choices(range(targets), weights, k=count)
        times = sorted(start + rng.random() * year for _ in range(count))
        seen: dict[int, int] = {}
        for t, at in zip(tgts, times, strict=True):
            n = seen.get(t, 0)
            seen[t] = n + 1
            level = ability * top + 0.4 * n + rng.gauss(0.0, 1.2)
            out.student.append(student)
            out.target.append(t)
            out.at.append(at)
            out.score.append(values[min(top, max(0, round(level)))])
        # ties: a row takes the whole second of an earlier row on the same target
        first = len(out.at) - count
        for _ in range(count // 20):
            b = rng.randrange(first, len(out.at))
            same = [a for a in range(first, b) if out.target[a] == out.target[b]]
            if same:
                out.at[b] = math.floor(out.at[rng.choice(same)]) + rng.random()
        # "database order": rows of a student arrive in a shuffled order
        idx = list(range(len(out.at) - count, len(out.at)))
        perm = idx[:]
        rng.shuffle(perm)
        for name in ("target", "at", "score"):
            col: list[Any] = getattr(out, name)
            col[idx[0] :] = [col[j] for j in perm]
    return out


# -- ours ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    threshold: float
    low: float
    high: float


def parameter(method: Method) -> int | None:
    spec = METHOD_PARAMETERS[method]
    return None if spec is None else spec.default


def ours_group(rows: Rows, targets: int) -> tuple[list[tuple[int, int]], list[list[float]]]:
    """Group rows per (student, target), sorted by key, each group's scores in Canvas order.

    One stable sort of the row numbers on one integer per row, ``group key << 32 | whole
    second``: groups come out together and, inside each, in Canvas order (whole second
    ascending, ties in row order, as the sort is stable), so no group is sorted again. Then
    ``itertools.groupby`` on the group key. Few long-lived containers: the cyclic GC stays quiet.
    """
    floor = math.floor
    sort_key = [
        ((s * targets + t) << 32) | floor(at)
        for s, t, at in zip(rows.student, rows.target, rows.at, strict=True)
    ]
    order = sorted(range(len(sort_key)), key=sort_key.__getitem__)
    score = rows.score
    keys: list[tuple[int, int]] = []
    series: list[list[float]] = []
    for k, group in groupby(order, lambda i: sort_key[i] >> 32):
        series.append([score[i] for i in group])
        keys.append(divmod(k, targets))
    return keys, series


def ours_method(method: Method, series: list[list[float]], p: Params) -> Levels:
    return compute_many(method, series, parameter(method), p.threshold, p.low, p.high)


@dataclass
class Run:
    """One timed pass: preparation (group + order) and each method, in seconds."""

    prep: float
    methods: dict[str, float]

    @property
    def canvas(self) -> float:
        return self.prep + sum(self.methods[m.value] for m in CANVAS)

    @property
    def total(self) -> float:
        return self.prep + sum(self.methods.values())


def run_ours(
    rows: Rows, targets: int, p: Params
) -> tuple[Run, list[tuple[int, int]], dict[Method, Levels]]:
    t0 = time.perf_counter()
    keys, series = ours_group(rows, targets)
    prep = time.perf_counter() - t0
    times: dict[str, float] = {}
    levels: dict[Method, Levels] = {}
    for method in METHODS:
        t0 = time.perf_counter()
        levels[method] = ours_method(method, series, p)
        times[method.value] = time.perf_counter() - t0
    return Run(prep, times), keys, levels


# -- pandas ----------------------------------------------------------------------------------


def ruby_round2_np(x: np.ndarray) -> np.ndarray:
    """calculation.ruby_round2, vectorised with the same float operations (NaN stays NaN)."""
    import numpy as np

    xs = x * 100.0
    t = np.trunc(xs)
    frac = xs - t
    f = t + np.where(frac >= 0.5, 1.0, np.where(frac <= -0.5, -1.0, 0.0))
    f = np.where((x > 0) & ((f + 0.5) / 100.0 <= x), f + 1.0, f)
    f = np.where((x < 0) & ((f - 0.5) / 100.0 >= x), f - 1.0, f)
    return f / 100.0


@dataclass
class Sorted:
    """The frame in Canvas order with what several methods share."""

    df: pd.DataFrame  # columns student, target, score; sorted per group in time order
    by: list[str]
    g: Any  # the DataFrameGroupBy
    pos: np.ndarray  # position of the row in its group (0 = oldest)
    gid: np.ndarray  # group number of the row (0..groups-1, in key order)
    size: np.ndarray  # per group: number of rows
    index: pd.MultiIndex  # per group: (student, target)


def pandas_prep(df: pd.DataFrame) -> Sorted:
    import numpy as np

    by = ["student", "target"]
    # Canvas order: whole epoch second ascending, ties keep the given (row) order
    work = df.assign(sec=np.floor(df["at"].to_numpy()), row=np.arange(len(df)))
    work = work.sort_values([*by, "sec", "row"], ignore_index=True)[[*by, "score"]]
    g = work.groupby(by, sort=True)
    size = g.size()
    return Sorted(
        df=work,
        by=by,
        g=g,
        pos=g.cumcount().to_numpy(),
        gid=g.ngroup().to_numpy(),
        size=size.to_numpy(),
        index=size.index,
    )


def pd_highest(s: Sorted, p: Params) -> np.ndarray:
    return cast("np.ndarray", s.g["score"].max().to_numpy())


def pd_latest(s: Sorted, p: Params) -> np.ndarray:
    return cast("np.ndarray", s.g["score"].last().to_numpy())


def pd_average(s: Sorted, p: Params) -> np.ndarray:
    return cast("np.ndarray", s.g["score"].mean().to_numpy())


def pd_decaying_average(s: Sorted, p: Params) -> np.ndarray:
    import numpy as np

    c = parameter(Method.DECAYING_AVERAGE)
    assert c is not None
    last: np.ndarray = s.g["score"].last().to_numpy()
    older = s.df[s.pos < s.size[s.gid] - 1]
    older_mean: np.ndarray = older.groupby(s.by)["score"].mean().reindex(s.index).to_numpy()
    weighted = last * (0.01 * c) + older_mean * (0.01 * (100 - c))
    return np.where(s.size == 1, last, weighted)


def pd_standard_decaying_average(s: Sorted, p: Params) -> np.ndarray:
    # d_k = keep * d_(k-1) + w * s_k: a recurrence, run for all groups at once per position
    c = parameter(Method.STANDARD_DECAYING_AVERAGE)
    assert c is not None
    w, keep = 0.01 * c, 0.01 * (100 - c)
    score: np.ndarray = s.df["score"].to_numpy()
    d: np.ndarray = score[s.pos == 0].copy()  # one first row per group, in group order
    for k in range(1, int(s.size.max())):
        at = s.pos == k
        gid = s.gid[at]
        d[gid] = keep * d[gid] + w * score[at]
    return d


def pd_n_mastery(s: Sorted, p: Params) -> np.ndarray:
    import numpy as np

    n = parameter(Method.N_MASTERY)
    assert n is not None
    score = s.df["score"]
    kept = score >= p.threshold
    agg = (
        s.df.assign(kept=kept, kept_score=score.where(kept, 0.0))
        .groupby(s.by)[["kept", "kept_score"]]
        .sum()
    )
    count: np.ndarray = agg["kept"].to_numpy()
    kept_sum: np.ndarray = agg["kept_score"].to_numpy()
    mean = kept_sum / np.maximum(count, 1)
    return np.where((s.size < n) | (count < n) | (count == 0), np.nan, mean)


def pd_power_law(s: Sorted, p: Params) -> np.ndarray:
    import numpy as np

    score: np.ndarray = s.df["score"].to_numpy()
    k = s.size.astype(float)
    low: np.ndarray = s.g["score"].min().to_numpy()
    shift = np.where(low > 0, 0.0, 1.0 - np.minimum(p.low, low))
    x = np.log(s.pos + 1.0)
    y = np.log(score + shift[s.gid])
    sums: np.ndarray = (
        s.df[s.by]
        .assign(x=x, xx=x * x, y=y, xy=x * y)
        .groupby(s.by)[["x", "xx", "y", "xy"]]
        .sum()
        .to_numpy()
    )
    sx, sxx, sy, sxy = sums.T
    with np.errstate(divide="ignore", invalid="ignore"):  # k == 1 is handled below
        b = (k * sxy - sx * sy) / (k * sxx - sx * sx)
        ln_a = (sy - b * sx) / k
        predicted = np.exp(ln_a + b * np.log(k)) - shift
    first: np.ndarray = s.g["score"].first().to_numpy()
    return np.clip(np.where(s.size == 1, first, predicted), p.low, p.high)


def pd_mode(s: Sorted, p: Params) -> np.ndarray:
    # most frequent score, ties to the higher one (scores compared at 6 decimals)
    counts = (
        s.df.assign(score=s.df["score"].round(6))
        .groupby([*s.by, "score"], sort=False)
        .size()
        .reset_index(name="n")
        .sort_values([*s.by, "n", "score"])
    )
    return cast("np.ndarray", counts.groupby(s.by)["score"].last().to_numpy())


def pd_recent_mean(s: Sorted, p: Params) -> np.ndarray:
    n = parameter(Method.RECENT_MEAN)
    assert n is not None
    recent = s.df[s.pos >= s.size[s.gid] - n]
    return cast("np.ndarray", recent.groupby(s.by)["score"].mean().to_numpy())


PANDAS: dict[Method, Callable[[Sorted, Params], np.ndarray]] = {
    Method.HIGHEST: pd_highest,
    Method.LATEST: pd_latest,
    Method.AVERAGE: pd_average,
    Method.DECAYING_AVERAGE: pd_decaying_average,
    Method.STANDARD_DECAYING_AVERAGE: pd_standard_decaying_average,
    Method.N_MASTERY: pd_n_mastery,
    Method.POWER_LAW: pd_power_law,
    Method.MODE: pd_mode,
    Method.RECENT_MEAN: pd_recent_mean,
}


def _group_levels(s: np.ndarray, p: Params, methods: Sequence[Method]) -> tuple[float, ...]:
    """Every method on one group's scores (Canvas order), written as pandas users usually do:
    numpy on the group's array, a Python loop for the recurrence, np.polyfit for the trend."""
    import numpy as np

    out: list[float] = []
    for m in methods:
        c = parameter(m)
        if m is Method.HIGHEST:
            out.append(s.max())
        elif m is Method.LATEST:
            out.append(s[-1])
        elif m is Method.AVERAGE:
            out.append(s.mean())
        elif m is Method.DECAYING_AVERAGE:
            assert c is not None
            older = s[:-1].mean() if len(s) > 1 else 0.0
            out.append(s[-1] if len(s) == 1 else s[-1] * (0.01 * c) + older * (0.01 * (100 - c)))
        elif m is Method.STANDARD_DECAYING_AVERAGE:
            assert c is not None
            d = s[0]
            for x in s[1:]:
                d = 0.01 * (100 - c) * d + 0.01 * c * x
            out.append(d)
        elif m is Method.N_MASTERY:
            assert c is not None
            kept = s[s >= p.threshold]
            out.append(np.nan if len(s) < c or len(kept) < c else kept.mean())
        elif m is Method.POWER_LAW:
            if len(s) == 1:
                out.append(min(max(s[0], p.low), p.high))
                continue
            low = s.min()
            shift = 0.0 if low > 0 else 1.0 - min(p.low, low)
            b, ln_a = np.polyfit(np.log(np.arange(1, len(s) + 1)), np.log(s + shift), 1)
            out.append(min(max(np.exp(ln_a + b * np.log(len(s))) - shift, p.low), p.high))
        elif m is Method.MODE:
            values, counts = np.unique(np.round(s, 6), return_counts=True)
            out.append(values[counts == counts.max()].max())
        else:  # recent_mean
            assert c is not None
            out.append(s[-c:].mean())
    return tuple(out)


def run_pandas_apply(
    df: pd.DataFrame, p: Params, methods: Sequence[Method]
) -> tuple[float, pd.MultiIndex, dict[Method, np.ndarray]]:
    """The same computation as usually written with pandas: sort, groupby, apply a function
    per group. One pass (it takes tens of seconds at 1,000,000 rows)."""
    import numpy as np

    t0 = time.perf_counter()
    work = df.assign(sec=np.floor(df["at"].to_numpy()), row=np.arange(len(df)))
    work = work.sort_values(["student", "target", "sec", "row"], ignore_index=True)
    per_group = work.groupby(["student", "target"], sort=True)["score"].apply(
        lambda g: _group_levels(g.to_numpy(), p, methods)
    )
    table = ruby_round2_np(np.array(per_group.tolist(), dtype=np.float64))
    seconds = time.perf_counter() - t0
    levels = {m: table[:, i] for i, m in enumerate(methods)}
    return seconds, per_group.index, levels


def run_pandas(df: pd.DataFrame, p: Params) -> tuple[Run, pd.MultiIndex, dict[Method, Any]]:
    t0 = time.perf_counter()
    s = pandas_prep(df)
    prep = time.perf_counter() - t0
    times: dict[str, float] = {}
    levels: dict[Method, Any] = {}
    for method in METHODS:
        t0 = time.perf_counter()
        levels[method] = ruby_round2_np(PANDAS[method](s, p))
        times[method.value] = time.perf_counter() - t0
    return Run(prep, times), s.index, levels


def run_batch(
    arrays: tuple[Any, Any, Any], p: Params
) -> tuple[Run, list[tuple[int, int]], dict[Method, Any], int]:
    """ours, the numpy batch path (lti_app.grading.batch): group + Canvas order, then every
    method; also how many levels differ from the pure engine's (must be 0)."""
    from lti_app.grading import batch

    key, at, score = arrays
    t0 = time.perf_counter()
    g = batch.group(key, at, score)
    prep = time.perf_counter() - t0
    times: dict[str, float] = {}
    levels: dict[Method, Any] = {}
    for method in METHODS:
        t0 = time.perf_counter()
        levels[method] = batch.levels(g, method, parameter(method), p.threshold, p.low, p.high)
        times[method.value] = time.perf_counter() - t0
    return Run(prep, times), g.keys.tolist(), levels, 0


def to_frame(rows: Rows) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            "student": np.asarray(rows.student, dtype=np.int64),
            "target": np.asarray(rows.target, dtype=np.int64),
            "at": np.asarray(rows.at, dtype=np.float64),
            "score": np.asarray(rows.score, dtype=np.float64),
        }
    )


# -- comparison, memory, profile -------------------------------------------------------------


def mismatches(
    keys: list[tuple[int, int]],
    ours: dict[Method, Levels],
    index: pd.MultiIndex,
    theirs: dict[Method, Any],
) -> dict[str, int]:
    """Per method: groups whose levels differ at 2 decimals (or where one side has none)."""
    import numpy as np

    if list(index) != keys:
        raise SystemExit("ours and pandas disagree on the groups themselves")
    out: dict[str, int] = {}
    for method in METHODS:
        a = np.array([np.nan if v is None else v for v in ours[method]], dtype=np.float64)
        b = np.asarray(theirs[method], dtype=np.float64)
        na, nb = np.isnan(a), np.isnan(b)
        cents_differ = np.rint(np.nan_to_num(a) * 100) != np.rint(np.nan_to_num(b) * 100)
        out[method.value] = int(np.count_nonzero((na != nb) | (~na & cents_differ)))
    return out


def maxrss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def traced_peak_mb(fn: Callable[[], object]) -> float:
    """Peak of Python + numpy allocations (tracemalloc) while ``fn`` runs, above its start."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return (peak - base) / 2**20


def profile_ours(rows: Rows, targets: int, p: Params) -> str:
    prof = cProfile.Profile()
    prof.enable()
    run_ours(rows, targets, p)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


# -- report ----------------------------------------------------------------------------------


def best(runs: list[Run]) -> dict[str, Any]:
    """Fastest pass for each figure (timeit's rule: the minimum is the least disturbed)."""
    return {
        "canvas": min(r.canvas for r in runs),
        "total": min(r.total for r in runs),
        "prep": min(r.prep for r in runs),
        "methods": {m.value: min(r.methods[m.value] for r in runs) for m in METHODS},
        "passes": [
            {"prep": r.prep, "methods": r.methods, "canvas": r.canvas, "total": r.total}
            for r in runs
        ],
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def render_table(result: dict[str, Any]) -> str:
    o, q = result["ours"], result["pandas"]
    bad = result["mismatches"]
    rows: list[tuple[str, str, str, str, str]] = []

    def row(label: str, a: float, b: float, target: str = "", digits: int = 3) -> None:
        rows.append((label, f"{a:,.{digits}f}", f"{b:,.{digits}f}", _ratio(a, b), target))

    row(
        "Canvas methods, all six (s)",
        o["canvas"],
        q["canvas"],
        f"<= {TARGET_CANVAS_S:.0f} s, faster than pandas",
    )
    row(
        "all nine methods, with power law (s)",
        o["total"],
        q["total"],
        f"<= {TARGET_ALL_S:.0f} s, faster than pandas",
    )
    a = result.get("pandas_apply")
    if a is not None:
        row("  vs pandas groupby-apply: Canvas (s)", o["canvas"], a["canvas"])
        row("  vs pandas groupby-apply: all nine (s)", o["total"], a["total"])
    nb = result.get("numpy_batch")
    if nb is not None:
        row("ours, numpy batch path: Canvas (s)", nb["canvas"], q["canvas"])
        row("ours, numpy batch path: all nine (s)", nb["total"], q["total"])
    g = result["ours_gc_paused"]
    row("  ours with the cyclic GC paused: Canvas (s)", g["canvas"], q["canvas"])
    row("  ours with the cyclic GC paused: all nine (s)", g["total"], q["total"])
    row("  group + Canvas order (s)", o["prep"], q["prep"])
    for m in METHODS:
        row(f"  {m.value} (s)", o["methods"][m.value], q["methods"][m.value])
    rows.append(
        (
            "peak RSS after the run (MB, ru_maxrss)",
            f"{result['memory']['ours_maxrss_mb']:,.0f}",
            f"{result['memory']['pandas_maxrss_mb']:,.0f}",
            "",
            f"<= {TARGET_MEMORY_MB:,.0f} MB (ours)",
        )
    )
    if "ours_traced_mb" in result["memory"]:
        row(
            "  tracemalloc peak of the computation (MB)",
            result["memory"]["ours_traced_mb"],
            result["memory"]["pandas_traced_mb"],
            digits=0,
        )
    rows.append(
        (
            "mismatching levels (2 decimals)",
            f"{sum(bad.values()):,}",
            "",
            "",
            f"0 over {result['groups']:,} groups x {len(METHODS)} methods",
        )
    )
    width = max(len(r[0]) for r in rows) + 2
    header = f"{'':<{width}}{'ours':>10}{'pandas':>10}{'ratio':>8}   target"
    # "pandas" is the hand-vectorised version unless the row says groupby-apply
    lines = [header, "-" * (len(header) + 36)]
    lines += [f"{r[0]:<{width}}{r[1]:>10}{r[2]:>10}{r[3]:>8}   {r[4]}".rstrip() for r in rows]
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    o, q, mem = result["ours"], result["pandas"], result["memory"]
    wrong = sum(result["mismatches"].values())
    checks = [
        (
            f"Canvas methods <= {TARGET_CANVAS_S:.0f} s: {o['canvas']:.2f} s",
            o["canvas"] <= TARGET_CANVAS_S,
        ),
        (f"all methods <= {TARGET_ALL_S:.0f} s: {o['total']:.2f} s", o["total"] <= TARGET_ALL_S),
        (
            f"peak memory <= {TARGET_MEMORY_MB:,.0f} MB (ru_maxrss): "
            f"{mem['ours_maxrss_mb']:,.0f} MB",
            mem["ours_maxrss_mb"] <= TARGET_MEMORY_MB,
        ),
    ]
    a = result.get("pandas_apply")
    if a is not None:
        wrong_apply = sum(a["mismatches"].values())
        checks += [
            (
                "faster than pandas as usually written (groupby-apply), Canvas methods: "
                f"{_ratio(o['canvas'], a['canvas'])} its time",
                o["canvas"] < a["canvas"] * TARGET_RATIO,
            ),
            (
                "faster than pandas as usually written (groupby-apply), all methods: "
                f"{_ratio(o['total'], a['total'])} its time",
                o["total"] < a["total"] * TARGET_RATIO,
            ),
            (f"same levels as pandas groupby-apply: {wrong_apply} mismatches", wrong_apply == 0),
        ]
    checks += [
        (
            "faster than hand-vectorised pandas, Canvas methods: "
            f"{_ratio(o['canvas'], q['canvas'])} its time",
            o["canvas"] < q["canvas"] * TARGET_RATIO,
        ),
        (
            "faster than hand-vectorised pandas, all methods: "
            f"{_ratio(o['total'], q['total'])} its time",
            o["total"] < q["total"] * TARGET_RATIO,
        ),
        (f"same levels as hand-vectorised pandas: {wrong} mismatches", wrong == 0),
    ]
    nb = result.get("numpy_batch")
    if nb is not None:
        wrong_np = sum(nb["mismatches"].values())
        checks += [
            (
                "numpy batch path faster than hand-vectorised pandas, Canvas methods: "
                f"{nb['canvas']:.2f} s vs {q['canvas']:.2f} s "
                f"({_ratio(nb['canvas'], q['canvas'])})",
                nb["canvas"] < q["canvas"],
            ),
            (
                "numpy batch path faster than hand-vectorised pandas, all methods: "
                f"{nb['total']:.2f} s vs {q['total']:.2f} s ({_ratio(nb['total'], q['total'])})",
                nb["total"] < q["total"],
            ),
            (
                f"numpy batch path gives the pure engine's levels: {wrong_np} mismatches",
                wrong_np == 0,
            ),
        ]
    return checks


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 1 pass each")
    ap.add_argument("--rows", type=int, default=1_000_000, help="evidence rows (1,000,000)")
    ap.add_argument("--students", type=int, default=30_000, help="students (30,000)")
    ap.add_argument("--targets", type=int, default=10, help="targets (10)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes each, best kept (3)")
    ap.add_argument("--seed", type=int, default=20251123, help="random seed")
    ap.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the (slow) tracemalloc passes"
    )
    ap.add_argument("--profile", action="store_true", help="also cProfile one pass of ours")
    ap.add_argument(
        "--no-apply", action="store_true", help="skip the (slow) pandas groupby-apply baseline"
    )
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.students, args.passes = 100_000, 3_000, 1
    if min(args.rows, args.students, args.targets, args.passes) <= 0:
        ap.error("counts must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    args = parse_args(argv)
    started = time.monotonic()
    signal.alarm(HARD_LIMIT_SECONDS)  # SIGALRM's default action ends the run

    scale = load_preset(SCALE)
    p = Params(scale.mastery_threshold, scale.min_value, scale.max_value)
    print(
        f"Mastery benchmark: Python {pyplatform.python_version()}; {args.rows:,} rows, "
        f"{args.students:,} students, {args.targets} targets, scale {SCALE}",
        flush=True,
    )
    t0 = time.perf_counter()
    rows = generate(args.rows, args.students, args.targets, scale.values, args.seed)
    print(f"  generated in {time.perf_counter() - t0:.1f} s (not timed)", flush=True)

    # 1. ours first, before pandas and numpy are imported, so ru_maxrss is ours alone
    ours_runs: list[Run] = []
    for _ in range(args.passes):
        run, keys, ours_levels = run_ours(rows, args.targets, p)
        ours_runs.append(run)
        print(f"  ours:   {run.canvas:.2f} s Canvas, {run.total:.2f} s all", flush=True)
    # the same with the cyclic GC paused: shows what the collector costs (not the headline)
    gc.collect()
    gc.disable()
    try:
        nogc, _, _ = run_ours(rows, args.targets, p)
    finally:
        gc.enable()
    print(f"  ours, GC paused: {nogc.canvas:.2f} s Canvas, {nogc.total:.2f} s all", flush=True)
    ours_rss = maxrss_mb()

    # 2. pandas, from a DataFrame of the same rows (building it is not timed)
    import pandas as pd

    df = to_frame(rows)
    pd_runs: list[Run] = []
    for _ in range(args.passes):
        prun, index, pd_levels = run_pandas(df, p)
        pd_runs.append(prun)
        print(f"  pandas: {prun.canvas:.2f} s Canvas, {prun.total:.2f} s all", flush=True)
    pd_rss = maxrss_mb()

    # 3. ours again, the numpy batch path, on arrays of the same rows (building them: untimed)
    import numpy as np

    arrays = (
        np.asarray(rows.student, dtype=np.int64) * args.targets
        + np.asarray(rows.target, dtype=np.int64),
        np.asarray(rows.at, dtype=np.float64),
        np.asarray(rows.score, dtype=np.float64),
    )
    np_runs: list[Run] = []
    for _ in range(args.passes):
        nrun, np_keys, np_levels, _ = run_batch(arrays, p)
        np_runs.append(nrun)
        print(
            f"  ours, numpy batch: {nrun.canvas:.2f} s Canvas, {nrun.total:.2f} s all", flush=True
        )
    np_index = [divmod(k, args.targets) for k in np_keys]
    if np_index != keys:
        raise SystemExit("the numpy batch path and the pure engine disagree on the groups")
    np_bad = mismatches(keys, ours_levels, pd.MultiIndex.from_tuples(np_index), np_levels)

    apply_result: dict[str, Any] | None = None
    if not args.no_apply:
        canvas_s, _, _ = run_pandas_apply(df, p, CANVAS)
        print(f"  pandas groupby-apply: {canvas_s:.2f} s Canvas", flush=True)
        total_s, apply_index, apply_levels = run_pandas_apply(df, p, METHODS)
        print(f"  pandas groupby-apply: {total_s:.2f} s all", flush=True)
        apply_result = {
            "canvas": canvas_s,
            "total": total_s,
            "mismatches": mismatches(keys, ours_levels, apply_index, apply_levels),
        }

    bad = mismatches(keys, ours_levels, index, pd_levels)
    memory: dict[str, Any] = {"ours_maxrss_mb": ours_rss, "pandas_maxrss_mb": pd_rss}
    if not args.no_tracemalloc:
        print("  tracemalloc passes (not timed)", flush=True)
        memory["ours_traced_mb"] = traced_peak_mb(lambda: run_ours(rows, args.targets, p))
        memory["pandas_traced_mb"] = traced_peak_mb(lambda: run_pandas(df, p))
    result: dict[str, Any] = {
        "benchmark": "current levels for a district: lti_app.mastery engine vs pandas",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": pyplatform.python_version(), "platform": pyplatform.platform()},
        "versions": {"pandas": pd.__version__, "numpy": __import__("numpy").__version__},
        "rows": len(rows),
        "students": args.students,
        "targets": args.targets,
        "groups": len(keys),
        "passes": args.passes,
        "seed": args.seed,
        "ours": best(ours_runs),
        "ours_gc_paused": best([nogc]),
        "pandas": best(pd_runs),
        "pandas_apply": apply_result,
        "numpy_batch": {**best(np_runs), "mismatches": np_bad},
        "mismatches": bad,
        "memory": memory,
        "goals": {
            "canvas_s": TARGET_CANVAS_S,
            "all_s": TARGET_ALL_S,
            "memory_mb": TARGET_MEMORY_MB,
        },
    }
    checks = verdicts(result)
    result["verdicts"] = dict(checks)
    profile = profile_ours(rows, args.targets, p) if args.profile else ""
    signal.alarm(0)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)

    print()
    print(render_table(result))
    print()
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    if any(bad.values()):
        print("  mismatches per method: " + ", ".join(f"{k} {v}" for k, v in bad.items() if v))
    write_result(args.output, result, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
