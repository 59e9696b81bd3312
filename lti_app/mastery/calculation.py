"""Calculation methods: from a student's evidence on one target to a current level.

Pure domain code (standard library only). Scores are on the district scale; bounds and the
mastery threshold are plain floats so this module does not depend on ``scales``.

Canvas compatibility (reference: canvas-api.md section 3.6, ``RollupScore`` and
``RollupScoreAggregatorHelper``):

* **Order.** Results are ordered by ``submitted_at || assessed_at`` ascending, compared as whole
  epoch seconds (Canvas sorts by ``Time#to_i``); ties keep the order in which they were given
  (the "DB order"). :func:`order_scores` and :func:`ordered` implement exactly that; ``latest``
  is the last result in that order.
* **Rounding.** Every Canvas method rounds to 2 decimals the way Ruby's ``Float#round(2)`` does
  (half away from zero, with Ruby's correction for representation error), see
  :func:`ruby_round2`. So ``4.125`` becomes ``4.13`` (Python's ``round`` would give ``4.12``).
* **Sums** use :func:`math.fsum` (correctly rounded), the closest standard-library match for
  Ruby's compensated ``Array#sum``.
* **Weights** are computed as Canvas does: ``w = 0.01 * calculation_int`` and
  ``1 - w = 0.01 * (100 - calculation_int)``.

Methods beyond Canvas (``power_law``, ``mode``, ``recent_mean``) are rounded the same way so that
every level the tool shows has at most 2 decimals.

Performance: the per-method functions take plain sequences of floats already in time order, so
a caller with a million rows can skip building :class:`Evidence` objects and call
:func:`compute` directly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

__all__ = [
    "METHOD_PARAMETERS",
    "Basis",
    "Evidence",
    "Method",
    "OverrideReasonRequiredError",
    "OverrideRule",
    "Policy",
    "PolicyError",
    "Result",
    "SourceKind",
    "average",
    "compute",
    "compute_many",
    "current_level",
    "decaying_average",
    "highest",
    "latest",
    "method_from_canvas",
    "mode",
    "n_mastery",
    "order_scores",
    "ordered",
    "power_law",
    "recent_mean",
    "ruby_round2",
    "standard_decaying_average",
]


# --------------------------------------------------------------------------------------------
# Rounding and small helpers
# --------------------------------------------------------------------------------------------


def ruby_round2(x: float) -> float:
    """Round to 2 decimals exactly like Ruby's ``Float#round(2)`` (``round_half_up``).

    Ruby computes ``f = round(x * 100)`` (C ``round``: half away from zero) and then bumps ``f``
    by one when ``(f ± 0.5) / 100`` already reaches ``x``, which repairs ``x * 100`` landing just
    below a half because of representation error.
    """
    xs = x * 100.0
    t = math.trunc(xs)
    frac = xs - t  # exact for doubles
    f = float(t + (1 if frac >= 0.5 else -1 if frac <= -0.5 else 0))
    if x > 0:
        if (f + 0.5) / 100.0 <= x:
            f += 1
    elif x < 0 and (f - 0.5) / 100.0 >= x:
        f -= 1
    return f / 100.0


_TIMES = "\u00d7"  # the multiplication sign in explanations


def _fmt(x: float) -> str:
    """A score for explanations: 2 decimals at most, at least one (``3.0``, ``2.25``)."""
    text = f"{x:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _weighing(percent: int, latest: float, earlier: float) -> str:
    """The decaying averages' weighted sum written out, the latest score weighing ``percent`` %."""
    return (
        f"{_fmt(percent / 100)} {_TIMES} {_fmt(latest)} + "
        f"{_fmt((100 - percent) / 100)} {_TIMES} {_fmt(earlier)}"
    )


def _mean(scores: Sequence[float]) -> float:
    return math.fsum(scores) / len(scores)


# --------------------------------------------------------------------------------------------
# Evidence and ordering
# --------------------------------------------------------------------------------------------


class SourceKind(StrEnum):
    """Where a piece of evidence came from."""

    CANVAS = "canvas"
    """An outcome result synced from Canvas."""
    DEMONSTRATION = "demonstration"
    """A demonstration of learning recorded in this tool."""
    OBSERVATION = "observation"
    """A level the teacher observed outside any submission (quick evidence)."""
    OVERRIDE = "override"
    """A teacher override; requires a reason, which is shown to the student."""


class OverrideReasonRequiredError(ValueError):
    """A teacher override was given without a (non-blank) reason."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One score on the district scale at one moment.

    ``at`` is ``submitted_at || assessed_at`` for Canvas results (section 3.6) and must be
    timezone-aware. An override must carry a non-empty ``reason``.
    """

    score: float
    at: datetime
    kind: SourceKind = SourceKind.CANVAS
    reason: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.score):
            raise ValueError(f"evidence score must be a finite number, got {self.score!r}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("evidence time must be timezone-aware (got a naive datetime)")
        if self.kind is SourceKind.OVERRIDE and (self.reason is None or not self.reason.strip()):
            raise OverrideReasonRequiredError(
                "a teacher override needs a reason; it is shown to the student"
            )


def _sort_key_seconds(at: datetime) -> int:
    # Canvas compares Time#to_i: whole seconds since the epoch, truncated toward -infinity.
    return math.floor(at.timestamp())


def ordered(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Evidence in Canvas's order: by whole epoch second ascending, ties keep the given order."""
    return sorted(evidence, key=lambda e: _sort_key_seconds(e.at))  # sorted() is stable


def order_scores(scores: Sequence[float], timestamps: Sequence[float]) -> list[float]:
    """Fast path: scores ordered by POSIX timestamps (seconds), Canvas rules as :func:`ordered`.

    ``timestamps[i]`` belongs to ``scores[i]``; ties (same whole second) keep the given order.
    """
    if len(scores) != len(timestamps):
        raise ValueError("scores and timestamps must have the same length")
    floor = math.floor
    idx = sorted(range(len(scores)), key=lambda i: floor(timestamps[i]))
    return [scores[i] for i in idx]


# --------------------------------------------------------------------------------------------
# Methods and policy
# --------------------------------------------------------------------------------------------


class Method(StrEnum):
    """Calculation methods. The first six are Canvas's stored names (section 3.3/3.4)."""

    HIGHEST = "highest"
    LATEST = "latest"
    AVERAGE = "average"
    DECAYING_AVERAGE = "decaying_average"
    """Canvas's legacy *weighted* formula (also stored for ``weighted_average``)."""
    STANDARD_DECAYING_AVERAGE = "standard_decaying_average"
    """True exponential decay (Canvas with ``outcomes_new_decaying_average_calculation``)."""
    N_MASTERY = "n_mastery"
    POWER_LAW = "power_law"
    MODE = "mode"
    RECENT_MEAN = "recent_mean"


@dataclass(frozen=True, slots=True)
class _ParamSpec:
    low: int
    high: int
    default: int


METHOD_PARAMETERS: dict[Method, _ParamSpec | None] = {
    Method.HIGHEST: None,
    Method.LATEST: None,
    Method.AVERAGE: None,
    Method.DECAYING_AVERAGE: _ParamSpec(1, 99, 65),
    Method.STANDARD_DECAYING_AVERAGE: _ParamSpec(50, 99, 65),
    Method.N_MASTERY: _ParamSpec(1, 10, 5),
    Method.POWER_LAW: None,
    Method.MODE: None,
    Method.RECENT_MEAN: _ParamSpec(1, 100, 3),
}
"""Allowed parameter per method (Canvas ranges from section 3.3; ``None`` = no parameter)."""


def method_from_canvas(stored: str | None, new_decaying_average_ff: bool) -> Method:
    """The formula Canvas actually runs for a stored method name (section 3.4).

    ``None`` (very old outcomes) is ``highest``; ``weighted_average`` is the legacy weighted
    formula; ``standard_decaying_average`` only runs as such with the
    ``outcomes_new_decaying_average_calculation`` flag on, otherwise it is the legacy formula.
    """
    if stored is None:
        return Method.HIGHEST
    if stored in ("decaying_average", "weighted_average"):
        return Method.DECAYING_AVERAGE
    if stored == "standard_decaying_average":
        return (
            Method.STANDARD_DECAYING_AVERAGE if new_decaying_average_ff else Method.DECAYING_AVERAGE
        )
    if stored in ("highest", "latest", "average", "n_mastery"):
        return Method(stored)
    raise PolicyError(f"unknown Canvas calculation method {stored!r}")


class PolicyError(ValueError):
    """An invalid policy (unknown method, parameter out of range, bad minimum)."""


class Basis(StrEnum):
    """What a method aggregates (the district or course policy chooses)."""

    CANVAS = "canvas"
    """As Canvas computes it: every piece of evidence as points on the Canvas scale,
    aggregated as Canvas's Learning Mastery Gradebook does, and only the aggregate mapped onto
    the district scale (``lti_app.mastery.canvas_basis``)."""
    DISTRICT_LEVEL = "district_level"
    """District level per piece of evidence (standards-based grading practice): each result is
    mapped to a level first, then the levels are aggregated."""


class OverrideRule(StrEnum):
    """When does newer evidence supersede a teacher override?

    Only the most recent override (in Canvas order) matters; earlier overrides are ordinary
    history.
    """

    RESUME_AFTER_NEWER_EVIDENCE = "resume_after_newer_evidence"
    """Option A. The override is the level until any evidence newer than it arrives. Then
    calculation resumes with the policy's method over the override (it counts as a score) and
    everything after it; evidence before the override is no longer used for the level."""

    STANDS_UNTIL_CLEARED = "stands_until_cleared"
    """Option B. The override is the level regardless of newer evidence, until the teacher
    clears it (the caller stops passing that override evidence in)."""


_E = TypeVar("_E", bound=StrEnum)


def _member(kind: type[_E], value: str, what: str) -> _E:
    """``value`` as a member of ``kind`` (a plain string from the database is accepted), or
    a :class:`PolicyError` naming the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise PolicyError(f"{what} must be one of {allowed}; got {value!r}") from None


@dataclass(frozen=True, slots=True)
class Policy:
    """How a current level is computed.

    ``parameter`` is ``calculation_int`` for the decaying averages, ``n`` for ``n_mastery`` and
    ``N`` for ``recent_mean``; ``None`` means the method's default. ``minimum_evidence`` is the
    number of evidence rows needed before a computed level is shown (a deciding teacher
    override is always shown).
    """

    method: Method = Method.DECAYING_AVERAGE
    parameter: int | None = None
    minimum_evidence: int = 1
    override_rule: OverrideRule = OverrideRule.RESUME_AFTER_NEWER_EVIDENCE
    basis: Basis = Basis.CANVAS

    def __post_init__(self) -> None:
        method = _member(Method, self.method, "calculation method")
        spec = METHOD_PARAMETERS[method]
        if spec is None:
            if self.parameter is not None:
                raise PolicyError(f"a calculation value is not used with the {method.value} method")
        elif self.parameter is not None and not (spec.low <= self.parameter <= spec.high):
            raise PolicyError(
                f"{self.parameter!r} is not a valid value for {method.value}: "
                f"the value must be between {spec.low} and {spec.high}"
            )
        if self.minimum_evidence < 0:
            raise PolicyError("minimum evidence must be 0 or more")
        rule = _member(OverrideRule, self.override_rule, "override rule")
        basis = _member(Basis, self.basis, "basis")
        # accept plain strings (e.g. from the database) but store the enums
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "override_rule", rule)
        object.__setattr__(self, "basis", basis)

    @property
    def effective_parameter(self) -> int | None:
        """The parameter in force: the given one, else the method's default."""
        spec = METHOD_PARAMETERS[self.method]
        if spec is None:
            return None
        return spec.default if self.parameter is None else self.parameter


# --------------------------------------------------------------------------------------------
# The methods, on scores already in time order (oldest first)
# --------------------------------------------------------------------------------------------


def highest(scores: Sequence[float]) -> float | None:
    """Canvas ``highest``: ``max(s_i)`` rounded to 2 decimals; ``None`` when empty."""
    return ruby_round2(max(scores)) if scores else None


def latest(scores: Sequence[float]) -> float | None:
    """Canvas ``latest``: the last score in time order, rounded; ``None`` when empty."""
    return ruby_round2(scores[-1]) if scores else None


def average(scores: Sequence[float]) -> float | None:
    """Canvas ``average``: ``mean(s_i)`` rounded; ``None`` when empty."""
    return ruby_round2(_mean(scores)) if scores else None


def decaying_average(scores: Sequence[float], calculation_int: int = 65) -> float | None:
    """Canvas legacy weighted ``decaying_average`` (int 1..99, default 65).

    One result: that result. Otherwise ``w * latest + (1 - w) * mean(older)`` with
    ``w = calculation_int / 100``, computed in Canvas's order of operations.
    """
    if not scores:
        return None
    last = scores[-1]
    if len(scores) == 1:
        return ruby_round2(last)
    older = scores[:-1]
    weighted = last * (0.01 * calculation_int) + (math.fsum(older) / len(older)) * (
        0.01 * (100 - calculation_int)
    )
    return ruby_round2(weighted)


def standard_decaying_average(scores: Sequence[float], calculation_int: int = 65) -> float | None:
    """Canvas ``standard_decaying_average`` (int 50..99, default 65).

    ``d_1 = s_1``, ``d_k = (1 - w) * d_(k-1) + w * s_k``; one result gives ``s_1``.
    """
    if not scores:
        return None
    w = 0.01 * calculation_int
    keep = 0.01 * (100 - calculation_int)
    d = scores[0]
    for s in scores[1:]:
        d = keep * d + w * s
    return ruby_round2(d)


def n_mastery(scores: Sequence[float], n: int, mastery_threshold: float) -> float | None:
    """Canvas ``n_mastery``: mean of the mastery-level scores, ``None`` when fewer than n.

    ``None`` if there are fewer than ``n`` results at all; otherwise keep the scores
    ``>= mastery_threshold`` and return ``None`` if fewer than ``n`` remain, else the mean of
    **all** kept scores (not the top n), rounded.
    """
    if len(scores) < n:
        return None
    kept = [s for s in scores if s >= mastery_threshold]
    if len(kept) < n or not kept:
        return None
    return ruby_round2(_mean(kept))


@functools.lru_cache(maxsize=256)
def _log_attempts(k: int) -> tuple[tuple[float, ...], float, float]:
    """``ln(1..k)`` with its sum and sum of squares (shared by every power-law fit of size k)."""
    xs = tuple(math.log(i) for i in range(1, k + 1))
    return xs, math.fsum(xs), math.fsum(x * x for x in xs)


def power_law(scores: Sequence[float], scale_min: float, scale_max: float) -> float | None:
    """Marzano power-law trend, predicted at the current (last) attempt.

    Fits ``score = a * attempt ** b`` on attempts ``1..k`` by least squares on
    ``ln(score) = ln(a) + b * ln(attempt)``, predicts ``a * k ** b`` and clamps it to
    ``[scale_min, scale_max]``, rounded to 2 decimals. Fewer than 2 scores: the latest.

    Zeros (or negatives) have no logarithm: when any score is ``<= 0`` every score is shifted up
    by ``1 - min(scale_min, min(scores))`` before the fit (so the lowest value becomes 1) and the
    prediction is shifted back, i.e. the model becomes ``score = a * attempt ** b - shift``.
    With all scores positive no shift is applied, so an exact power series is recovered.
    """
    k = len(scores)
    if k == 0:
        return None
    if k == 1:
        return ruby_round2(min(max(scores[0], scale_min), scale_max))
    low = min(scores)
    shift = 0.0 if low > 0 else 1.0 - min(scale_min, low)
    xs, sx, sxx = _log_attempts(k)
    log = math.log
    ys = [log(s + shift) for s in scores]
    sy = math.fsum(ys)
    sxy = math.fsum([x * y for x, y in zip(xs, ys, strict=True)])
    b = (k * sxy - sx * sy) / (k * sxx - sx * sx)  # denominator > 0 for k >= 2
    ln_a = (sy - b * sx) / k
    predicted = math.exp(ln_a + b * xs[-1]) - shift
    return ruby_round2(min(max(predicted, scale_min), scale_max))


def mode(scores: Sequence[float]) -> float | None:
    """Most frequent score; ties go to the higher level. Scores are compared after rounding to
    6 decimals, so float noise such as ``2.9999999999999996`` counts as ``3.0``."""
    if not scores:
        return None
    counts: dict[float, int] = {}
    for s in scores:
        key = round(s, 6)
        counts[key] = counts.get(key, 0) + 1
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return ruby_round2(best)


def recent_mean(scores: Sequence[float], n: int = 3) -> float | None:
    """Mean of the most recent ``n`` scores (all of them when there are fewer), rounded."""
    if not scores:
        return None
    return ruby_round2(_mean(scores[-n:]))


def compute(
    method: Method,
    scores: Sequence[float],
    parameter: int | None,
    mastery_threshold: float,
    scale_min: float,
    scale_max: float,
) -> float | None:
    """Fast path: one method over scores in time order (``parameter=None`` means default).

    Does not validate the parameter range; :class:`Policy` does that.
    """
    if type(method) is not Method:  # skip the enum lookup in the common case (hot loop)
        method = Method(method)
    if method is Method.HIGHEST:
        return highest(scores)
    if method is Method.LATEST:
        return latest(scores)
    if method is Method.AVERAGE:
        return average(scores)
    if method is Method.DECAYING_AVERAGE:
        return decaying_average(scores, 65 if parameter is None else parameter)
    if method is Method.STANDARD_DECAYING_AVERAGE:
        return standard_decaying_average(scores, 65 if parameter is None else parameter)
    if method is Method.N_MASTERY:
        return n_mastery(scores, 5 if parameter is None else parameter, mastery_threshold)
    if method is Method.POWER_LAW:
        return power_law(scores, scale_min, scale_max)
    if method is Method.MODE:
        return mode(scores)
    if method is Method.RECENT_MEAN:
        return recent_mean(scores, 3 if parameter is None else parameter)
    raise PolicyError(f"unknown calculation method {method!r}")  # pragma: no cover


def compute_many(
    method: Method,
    series: Sequence[Sequence[float]],
    parameter: int | None,
    mastery_threshold: float,
    scale_min: float,
    scale_max: float,
) -> list[float | None]:
    """:func:`compute` over many score series at once (a class, a district), same results.

    One dispatch for the whole batch instead of one per series, and the Ruby rounding of each
    distinct value done once (scores on a scale repeat a handful of values).
    """
    if type(method) is not Method:
        method = Method(method)
    memo: dict[float, float] = {}

    def rnd(x: float) -> float:
        r = memo.get(x)
        if r is None:
            r = memo[x] = ruby_round2(x)
        return r

    if method is Method.HIGHEST:
        return [rnd(max(s)) if s else None for s in series]
    if method is Method.LATEST:
        return [rnd(s[-1]) if s else None for s in series]
    if method is Method.AVERAGE:
        fsum = math.fsum
        return [rnd(fsum(s) / len(s)) if s else None for s in series]
    if method is Method.DECAYING_AVERAGE:
        c = 65 if parameter is None else parameter
        w, keep = 0.01 * c, 0.01 * (100 - c)
        fsum = math.fsum
        out: list[float | None] = []
        for s in series:
            n = len(s)
            if n == 0:
                out.append(None)
            elif n == 1:
                out.append(rnd(s[0]))
            else:
                out.append(rnd(s[-1] * w + (fsum(s[:-1]) / (n - 1)) * keep))
        return out
    if method is Method.N_MASTERY:
        n_needed = 5 if parameter is None else parameter
        fsum = math.fsum
        out = []
        for s in series:
            if len(s) < n_needed:
                out.append(None)
                continue
            kept = [x for x in s if x >= mastery_threshold]
            out.append(rnd(fsum(kept) / len(kept)) if kept and len(kept) >= n_needed else None)
        return out
    if method is Method.RECENT_MEAN:
        n_recent = 3 if parameter is None else parameter
        fsum = math.fsum
        return [rnd(fsum(s[-n_recent:]) / len(s[-n_recent:])) if s else None for s in series]
    if method is Method.MODE:
        out = []
        for s in series:
            if not s:
                out.append(None)
                continue
            counts: dict[float, int] = {}
            for x in s:
                key = round(x, 6)
                counts[key] = counts.get(key, 0) + 1
            out.append(rnd(max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]))
        return out
    if method is Method.STANDARD_DECAYING_AVERAGE:
        c = 65 if parameter is None else parameter
        w, keep = 0.01 * c, 0.01 * (100 - c)
        out = []
        for s in series:
            if not s:
                out.append(None)
                continue
            d = s[0]
            for x in s[1:]:
                d = keep * d + w * x
            out.append(rnd(d))
        return out
    if method is Method.POWER_LAW:
        # power_law() with each distinct log(score + shift) computed once.
        logs: dict[tuple[float, float], float] = {}
        log, exp, fsum = math.log, math.exp, math.fsum
        out = []
        for s in series:
            k = len(s)
            if k < 2:
                out.append(power_law(s, scale_min, scale_max))
                continue
            low = min(s)
            shift = 0.0 if low > 0 else 1.0 - min(scale_min, low)
            xs, sx, sxx = _log_attempts(k)
            ys = []
            for x in s:
                y = logs.get((x, shift))
                if y is None:
                    y = logs[(x, shift)] = log(x + shift)
                ys.append(y)
            sy = fsum(ys)
            sxy = fsum([a * b for a, b in zip(xs, ys, strict=True)])
            slope = (k * sxy - sx * sy) / (k * sxx - sx * sx)
            ln_a = (sy - slope * sx) / k
            predicted = exp(ln_a + slope * xs[-1]) - shift
            out.append(rnd(min(max(predicted, scale_min), scale_max)))
        return out
    raise PolicyError(f"unknown calculation method {method!r}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------------------------


def _listed(scores: Sequence[float], limit: int = 8) -> str:
    """The scores themselves, oldest first ("2.0, 2.5, 3.0"); long lists keep the newest."""
    shown = [_fmt(s) for s in scores[-limit:]]
    return ("\u2026, " if len(scores) > limit else "") + ", ".join(shown)


def _explain(
    method: Method,
    scores: Sequence[float],
    parameter: int | None,
    mastery_threshold: float,
    value: float | None,
) -> str:
    """The calculation in words, every term named (what each number is and where it came from)."""
    k = len(scores)
    n_scores = f"{k} score{'s' if k != 1 else ''}"
    if method is Method.HIGHEST:
        return f"highest of {n_scores} ({_listed(scores)}): {_fmt(value or 0.0)}"
    if method is Method.LATEST:
        earlier = f"; the {k - 1} earlier do not count" if k > 1 else ""
        return f"latest score: {_fmt(value or 0.0)}{earlier}"
    if method is Method.AVERAGE:
        return f"average of {n_scores} ({_listed(scores)}): {_fmt(value or 0.0)}"
    if method is Method.DECAYING_AVERAGE:
        p = 65 if parameter is None else parameter
        if k == 1:
            return f"decaying average, {p}% on the latest score: only one score, {_fmt(scores[0])}"
        older = _mean(scores[:-1])
        what = (
            f"the earlier score, {_fmt(older)}"
            if k == 2
            else f"{_fmt(older)}, the mean of the {k - 1} earlier scores ({_listed(scores[:-1])})"
        )
        return (
            f"decaying average, {p}% on the latest score: {_weighing(p, scores[-1], older)}"
            f" = {_fmt(value or 0.0)}, where {_fmt(scores[-1])} is the latest score and {what}"
        )
    if method is Method.STANDARD_DECAYING_AVERAGE:
        p = 65 if parameter is None else parameter
        if k == 1:
            return f"standard decaying average: only one score, {_fmt(value or 0.0)}"
        before = standard_decaying_average(scores[:-1], p) or 0.0
        return (
            f"standard decaying average, each new score weighs {p}% against the running "
            f"average of {n_scores}: {_weighing(p, scores[-1], before)} = {_fmt(value or 0.0)}, "
            "where "
            f"{_fmt(scores[-1])} is the latest score and {_fmt(before)} the running average "
            f"of the {k - 1} before it ({_listed(scores[:-1])})"
        )
    if method is Method.N_MASTERY:
        n = 5 if parameter is None else parameter
        at = [s for s in scores if s >= mastery_threshold]
        kept = len(at)
        times = "time" if n == 1 else "times"
        if value is None:
            return (
                f"mastery {n} {times}: {kept} of {n_scores} at or above "
                f"{_fmt(mastery_threshold)}, {n} needed, so no level yet"
            )
        return (
            f"mastery {n} {times}: average of the {kept} score{'s' if kept != 1 else ''} "
            f"at or above {_fmt(mastery_threshold)} ({_listed(at)}): {_fmt(value)}"
        )
    if method is Method.POWER_LAW:
        if k < 2:
            return f"power law trend: only one score, {_fmt(value or 0.0)}"
        return (
            f"power law trend over {k} attempts ({_listed(scores)}), predicted now: "
            f"{_fmt(value or 0.0)}"
        )
    if method is Method.MODE:
        return f"most frequent of {n_scores} ({_listed(scores)}): {_fmt(value or 0.0)}"
    n = 3 if parameter is None else parameter
    used = min(n, k)
    plural = "s" if used != 1 else ""
    return (
        f"average of the {used} most recent score{plural} ({_listed(scores[-used:])}): "
        f"{_fmt(value or 0.0)}"
    )


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """A current level and how it was reached."""

    value: float | None
    method: Method
    evidence_count: int
    overridden: bool = False
    explanation: str = ""
    override_reason: str | None = None
    used_evidence_ids: tuple[str | None, ...] = field(default=())


def current_level(
    evidence: Sequence[Evidence],
    policy: Policy,
    scale_min: float,
    scale_max: float,
    mastery_threshold: float,
) -> Result:
    """The current level for one student and target under ``policy``.

    1. Evidence is put in Canvas order (:func:`ordered`).
    2. The most recent override, if any, is applied by ``policy.override_rule``: it decides the
       level (``overridden=True``) unless the rule is ``RESUME_AFTER_NEWER_EVIDENCE`` and newer
       evidence exists, in which case the method runs on the override and what follows it.
    3. Fewer than ``policy.minimum_evidence`` rows in total (overrides included) → ``None``
       unless an override decided it.
    """
    if scale_min > scale_max:
        raise ValueError("scale_min must not exceed scale_max")
    items = ordered(evidence)
    count = len(items)
    method = Method(policy.method)
    param = policy.effective_parameter

    last_override = -1
    for i in range(count - 1, -1, -1):
        if items[i].kind is SourceKind.OVERRIDE:
            last_override = i
            break

    window = items
    if last_override >= 0:
        ov = items[last_override]
        decides = (
            policy.override_rule is OverrideRule.STANDS_UNTIL_CLEARED or last_override == count - 1
        )
        if decides:
            ov_value = ruby_round2(ov.score)
            return Result(
                value=ov_value,
                method=method,
                evidence_count=count,
                overridden=True,
                explanation=f"set by the teacher to {_fmt(ov_value)}: {ov.reason}",
                override_reason=ov.reason,
                used_evidence_ids=(ov.id,),
            )
        window = items[last_override:]

    if count == 0:
        return Result(None, method, 0, explanation="no evidence yet")
    if count < policy.minimum_evidence:
        return Result(
            None,
            method,
            count,
            explanation=(f"not enough evidence yet: {count} of {policy.minimum_evidence} needed"),
        )

    scores = [e.score for e in window]
    value = compute(method, scores, param, mastery_threshold, scale_min, scale_max)
    explanation = _explain(method, scores, param, mastery_threshold, value)
    if window is not items:
        explanation = (
            f"{explanation} (counting from the teacher's override of "
            f"{_fmt(window[0].score)}; earlier evidence no longer counts)"
        )
    return Result(
        value=value,
        method=method,
        evidence_count=count,
        overridden=False,
        explanation=explanation,
        used_evidence_ids=tuple(e.id for e in window),
    )
