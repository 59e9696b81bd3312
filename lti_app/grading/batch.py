"""Current levels for many (student, target) groups at once, with numpy: the batch path of the
mastery engine for district-sized reads (the dashboard's aggregates, the benchmark).

Same answers as the pure engine (``mastery.calculation.compute_many``), property-tested:

* rows are put in Canvas order by one stable sort on ``group << 32 | whole second``, exactly
  as the pure path orders them (docs/canvas.md §1.3 via ``calculation.ordered``);
* every formula does the pure engine's float operations in the same order, and the Ruby
  rounding is ``calculation.ruby_round2`` vectorised with the same operations;
* the pure engine sums with ``math.fsum``; numpy's sums are the same whenever every score is a
  multiple of 1/1024 (scale points are: their sums are exact). Otherwise, and for the power
  law's logarithms, a group whose value lies within float noise of a rounding boundary is
  recomputed with the pure engine, so noise never decides a level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lti_app.mastery.calculation import Method, compute_many

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# A value this close (in cents) to a half cent may round either way under float noise.
_NOISE_CENTS = 1e-6
_DYADIC = 1024.0  # scores that are multiples of 1/1024 sum exactly in any order


@dataclass(frozen=True)
class Grouped:
    """Rows sorted per group, each group in Canvas order; ``keys[g]`` is group g's key."""

    keys: Ints
    scores: Floats
    starts: Ints
    sizes: Ints
    gid: Ints  # group of each sorted row
    pos: Ints  # position of each sorted row in its group (0 = oldest)
    exact_sums: bool

    @property
    def ends(self) -> Ints:
        return self.starts + self.sizes - 1


def group(
    keys: Sequence[int] | Ints, at: Sequence[float] | Floats, scores: Sequence[float] | Floats
) -> Grouped:
    """Group rows by an integer key (>= 0, < 2**31) and order each group as Canvas does:
    whole epoch second ascending, ties in the given row order."""
    key = np.asarray(keys, dtype=np.int64)
    seconds = np.floor(np.asarray(at, dtype=np.float64)).astype(np.int64)
    values = np.asarray(scores, dtype=np.float64)
    order = np.argsort((key << 32) | (seconds & 0xFFFFFFFF), kind="stable")
    key, values = key[order], values[order]
    boundary = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate(([0], boundary)).astype(np.int64) if len(key) else np.zeros(0, np.int64)
    sizes = np.diff(np.concatenate((starts, [len(key)]))).astype(np.int64)
    gid = np.repeat(np.arange(len(starts), dtype=np.int64), sizes)
    pos = np.arange(len(key), dtype=np.int64) - starts[gid]
    scaled = values * _DYADIC
    exact = bool(np.all(scaled == np.round(scaled)) and np.all(np.abs(values) < 2.0**30))
    return Grouped(key[starts], values, starts, sizes, gid, pos, exact)


def ruby_round2_np(x: Floats) -> Floats:
    """``calculation.ruby_round2`` with the same float operations; NaN stays NaN."""
    xs = x * 100.0
    t = np.trunc(xs)
    frac = xs - t
    f = t + np.where(frac >= 0.5, 1.0, np.where(frac <= -0.5, -1.0, 0.0))
    f = np.where((x > 0) & ((f + 0.5) / 100.0 <= x), f + 1.0, f)
    f = np.where((x < 0) & ((f - 0.5) / 100.0 >= x), f - 1.0, f)
    return f / 100.0


def _sums(g: Grouped, values: Floats) -> Floats:
    out: Floats = np.add.reduceat(values, g.starts) if len(g.starts) else np.zeros(0)
    return out


def _settle(
    g: Grouped, method: Method, raw: Floats, exact: bool, args: tuple[float, ...]
) -> Floats:
    """Round; groups whose unrounded value sits within noise of a half cent go to the pure
    engine unless the arithmetic was exact."""
    out = ruby_round2_np(raw)
    if exact:
        return out
    cents = raw * 100.0
    near = np.flatnonzero(np.abs(np.abs(cents - np.trunc(cents)) - 0.5) < _NOISE_CENTS)
    if len(near):
        parameter = None if math.isnan(args[0]) else int(args[0])
        series = [g.scores[g.starts[i] : g.starts[i] + g.sizes[i]].tolist() for i in near]
        redo = compute_many(method, series, parameter, args[1], args[2], args[3])
        out[near] = [np.nan if v is None else v for v in redo]
    return out


def levels(
    g: Grouped,
    method: Method,
    parameter: int | None,
    mastery_threshold: float,
    scale_min: float,
    scale_max: float,
) -> Floats:
    """One level per group (NaN where the pure engine gives None), rounded like Canvas."""
    method = Method(method)
    n = len(g.starts)
    if n == 0:
        return np.zeros(0)
    s, sizes = g.scores, g.sizes
    args = (
        math.nan if parameter is None else float(parameter),
        mastery_threshold,
        scale_min,
        scale_max,
    )
    if method is Method.HIGHEST:
        return ruby_round2_np(np.maximum.reduceat(s, g.starts))
    if method is Method.LATEST:
        return ruby_round2_np(s[g.ends])
    if method is Method.AVERAGE:
        return _settle(g, method, _sums(g, s) / sizes, g.exact_sums, args)
    if method is Method.DECAYING_AVERAGE:
        c = 65 if parameter is None else parameter
        w, keep = 0.01 * c, 0.01 * (100 - c)
        last = s[g.ends]
        older = (_sums(g, s) - last) / np.maximum(sizes - 1, 1)
        raw = np.where(sizes == 1, last, last * w + older * keep)
        return _settle(g, method, raw, g.exact_sums, args)
    if method is Method.STANDARD_DECAYING_AVERAGE:
        c = 65 if parameter is None else parameter
        w, keep = 0.01 * c, 0.01 * (100 - c)
        d = s[g.starts].copy()
        by_pos = np.argsort(g.pos, kind="stable")
        cuts = np.searchsorted(g.pos[by_pos], np.arange(1, int(sizes.max()) + 1))
        for k in range(1, int(sizes.max())):
            rows = by_pos[cuts[k - 1] : cuts[k]]
            at = g.gid[rows]
            d[at] = keep * d[at] + w * s[rows]
        return ruby_round2_np(d)  # the recurrence's own operations: no sum to differ
    if method is Method.N_MASTERY:
        need = 5 if parameter is None else parameter
        kept = s >= mastery_threshold
        count = np.add.reduceat(kept.astype(np.float64), g.starts)
        total = _sums(g, np.where(kept, s, 0.0))
        raw = np.where(
            (sizes < need) | (count < need) | (count == 0), np.nan, total / np.maximum(count, 1)
        )
        return _settle(g, method, raw, g.exact_sums, args)
    if method is Method.RECENT_MEAN:
        recent = 3 if parameter is None else parameter
        mask = g.pos >= sizes[g.gid] - recent
        recent_sum = np.bincount(g.gid[mask], weights=s[mask], minlength=n).astype(np.float64)
        return _settle(g, method, recent_sum / np.minimum(sizes, recent), g.exact_sums, args)
    if method is Method.MODE:
        return ruby_round2_np(_mode(g))
    if method is Method.POWER_LAW:
        return _power_law(g, method, args)
    raise ValueError(f"unknown calculation method {method!r}")


def _mode(g: Grouped) -> Floats:
    """Most frequent score per group (rounded to 6 decimals by Python, as the pure engine
    does), ties to the higher one."""
    distinct, inverse = np.unique(g.scores, return_inverse=True)
    rounded = np.array([round(float(v), 6) for v in distinct], dtype=np.float64)
    values, code_of = np.unique(rounded, return_inverse=True)
    codes = code_of[inverse].astype(np.int64)
    width = np.int64(len(values))
    pairs, counts = np.unique(g.gid * width + codes, return_counts=True)
    owner = pairs // width
    firsts = np.concatenate(([0], np.flatnonzero(np.diff(owner)) + 1))
    best = np.maximum.reduceat(counts.astype(np.int64) * width + pairs % width, firsts)
    out: Floats = values[best % width]
    return out


def _power_law(g: Grouped, method: Method, args: tuple[float, ...]) -> Floats:
    scale_min, scale_max = args[2], args[3]
    s, sizes = g.scores, g.sizes
    k = sizes.astype(np.float64)
    low = np.minimum.reduceat(s, g.starts)
    shift = np.where(low > 0, 0.0, 1.0 - np.minimum(scale_min, low))
    x = np.log(g.pos + 1.0)
    y = np.log(s + shift[g.gid])
    sx, sxx, sy, sxy = (_sums(g, v) for v in (x, x * x, y, x * y))
    with np.errstate(divide="ignore", invalid="ignore"):  # k == 1 is taken from the first score
        slope = (k * sxy - sx * sy) / (k * sxx - sx * sx)
        ln_a = (sy - slope * sx) / k
        predicted = np.exp(ln_a + slope * np.log(k)) - shift
    raw = np.clip(np.where(sizes == 1, s[g.starts], predicted), scale_min, scale_max)
    return _settle(g, method, raw, False, args)


__all__ = ["Grouped", "group", "levels", "ruby_round2_np"]
