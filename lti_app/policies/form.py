"""The district admin's mastery settings form: scale, percent mapping and calculation policy.

The form keeps every value as the admin typed it (strings), so a refused save shows the page
again with nothing lost and a message naming the field or level that is wrong. ``parse`` turns
it into domain objects, validated by the domain itself (``Scale``, ``Policy``,
``validate_mapping``); this module only reads fields and words the errors for a form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, lazy_gettext
from werkzeug.datastructures import MultiDict

from lti_app.input_rules import INT4_MAX, NUMBER_LIMIT, finite_number, whole_number
from lti_app.mastery.calculation import (
    METHOD_PARAMETERS,
    Basis,
    Method,
    OverrideRule,
    Policy,
    PolicyError,
)
from lti_app.mastery.mapping import MappingError, PercentMapping, PercentThreshold, validate_mapping
from lti_app.mastery.scales import LEVEL_TEXTS, Level, LevelText, Scale, ScaleError, fmt
from lti_app.policies.district_texts import OTHER_LANGUAGES, language_name, text_problem
from lti_app.policies.store import EffectivePolicy, default_mapping
from lti_app.translatable import _l

MAX_LEVELS = 12
LEVEL_FIELDS = (
    "value",
    "label",
    "short_label",
    "color",
    "description",
    "student_description",
    "min_percent",
)
LONG_FIELDS = ("description", "student_description")
SHORT_LIMIT, LONG_LIMIT = 120, 500
#: Each level text as the scale page names it.
TEXT_NAMES = {
    "label": _l("label"),
    "short_label": _l("short label"),
    "description": _l("description"),
    "student_description": _l("what students read"),
}
#: Form keys of those texts: "es-label", "es-short_label", ... ("level-0-es-label" in HTML).
TRANSLATED_FIELDS = tuple(f"{lang}-{name}" for lang in OTHER_LANGUAGES for name in LEVEL_TEXTS)
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

METHOD_LABELS: dict[Method, Any] = {
    Method.DECAYING_AVERAGE: lazy_gettext(
        "Weighted average (Canvas “decaying average”): the latest score "
        "counts the percentage set below, the mean of the earlier scores the rest"
    ),
    Method.STANDARD_DECAYING_AVERAGE: lazy_gettext(
        "Decaying average: each new score counts the percentage set "
        "below against the running average"
    ),
    Method.HIGHEST: lazy_gettext("Highest score"),
    Method.LATEST: lazy_gettext("Most recent score"),
    Method.AVERAGE: lazy_gettext("Average of all scores"),
    Method.N_MASTERY: lazy_gettext("Mastery n times (average of scores at mastery, none until n)"),
    Method.POWER_LAW: lazy_gettext("Power law trend (Marzano)"),
    Method.MODE: lazy_gettext("Most frequent score"),
    Method.RECENT_MEAN: lazy_gettext("Average of the most recent N scores"),
}
BASIS_LABELS: dict[Basis, Any] = {
    Basis.CANVAS: lazy_gettext(
        "As Canvas computes it: the method runs on Canvas's points, then the result "
        "is placed on the district scale (the tool and Canvas's Learning Mastery Gradebook agree)"
    ),
    Basis.DISTRICT_LEVEL: lazy_gettext(
        "District level per piece of evidence: each result becomes a level "
        "first, then the method runs on the levels (standards-based grading practice)"
    ),
}
OVERRIDE_LABELS: dict[OverrideRule, Any] = {
    OverrideRule.RESUME_AFTER_NEWER_EVIDENCE: lazy_gettext(
        "Newer evidence supersedes a teacher override"
    ),
    OverrideRule.STANDS_UNTIL_CLEARED: lazy_gettext(
        "A teacher override stands until the teacher clears it"
    ),
}


@dataclass(frozen=True)
class Parsed:
    scale: Scale
    policy: Policy
    mapping: PercentMapping


def _starting_mapping(scale: Scale) -> PercentMapping:
    """A first percent table for a scale: linear from 0 (points = level) when the scale starts
    at 0, else evenly spaced bands with the lowest level from 0 %."""
    if scale.min_value == 0:
        return default_mapping(scale)
    steps = len(scale.levels) - 1
    return PercentMapping(
        tuple(
            PercentThreshold(round(i / steps * 100, 2), lv.value)
            for i, lv in enumerate(scale.levels)
        ),
        scale.max_value,
    )


@dataclass
class MasteryForm:
    """Raw form values. ``levels`` are dicts of :data:`LEVEL_FIELDS`, lowest value first."""

    scope: str = "district"
    scale_name: str = ""
    threshold: str = ""
    points_possible: str = ""
    method: str = Method.DECAYING_AVERAGE.value
    parameter: str = ""
    minimum_evidence: str = "1"
    override_rule: str = OverrideRule.RESUME_AFTER_NEWER_EVIDENCE.value
    basis: str = Basis.CANVAS.value
    preview_course: str = ""
    levels: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_effective(cls, eff: EffectivePolicy, scope: str) -> MasteryForm:
        """The form as the policy in force fills it (a non-percent mapping starts linear)."""
        mapping = eff.mapping if isinstance(eff.mapping, PercentMapping) else None
        if mapping is None or set(mapping.level_values) != set(eff.scale.values):
            mapping = _starting_mapping(eff.scale)
        percents = {t.level_value: t.min_percent for t in mapping.thresholds}
        return cls(
            scope=scope,
            scale_name=eff.scale.name,
            threshold=fmt(eff.scale.mastery_threshold),
            points_possible=fmt(mapping.points_possible),
            method=Method(eff.policy.method).value,
            parameter="" if eff.policy.parameter is None else str(eff.policy.parameter),
            minimum_evidence=str(eff.policy.minimum_evidence),
            override_rule=OverrideRule(eff.policy.override_rule).value,
            basis=Basis(eff.policy.basis).value,
            levels=[
                {
                    "value": fmt(lv.value),
                    "label": lv.label,
                    "short_label": lv.short_label,
                    "color": lv.color,
                    "description": lv.description,
                    "student_description": lv.student_description,
                    "min_percent": fmt(percents[lv.value]) if lv.value in percents else "",
                    **_translated_row(lv),
                }
                for lv in eff.scale.levels
            ],
        )

    @classmethod
    def from_request(cls, form: MultiDict[str, str]) -> MasteryForm:
        def text(name: str, limit: int = 200) -> str:
            return (form.get(name) or "").strip()[:limit]

        levels: list[dict[str, str]] = []
        for i in range(MAX_LEVELS):
            row = {
                f: text(f"level-{i}-{f}", LONG_LIMIT if f in LONG_FIELDS else SHORT_LIMIT)
                for f in LEVEL_FIELDS
            }
            # Translations are kept whole so that an over-long one is refused, not cut short.
            translated = {f: text(f"level-{i}-{f}", 4 * LONG_LIMIT) for f in TRANSLATED_FIELDS}
            if any(row.values()):
                row |= translated
                levels.append(row)
        return cls(
            scope=text("scope", 64) or "district",
            scale_name=text("scale_name"),
            # Numbers keep more than any valid one needs: cutting "1000000000000" to ten
            # characters would save a number nobody typed; the parser refuses long ones.
            threshold=text("threshold", 40),
            points_possible=text("points_possible", 40),
            method=text("method", 40),
            parameter=text("parameter", 40),
            minimum_evidence=text("minimum_evidence", 40),
            override_rule=text("override_rule", 40),
            basis=text("basis", 40) or Basis.CANVAS.value,
            preview_course=text("preview_course", 64),
            levels=levels,
        )

    def rows(self) -> list[dict[str, str]]:
        """The level rows to render: the typed ones plus blanks up to a few spare rows."""
        spare = max(0, min(MAX_LEVELS, len(self.levels) + 2) - len(self.levels))
        blank = dict.fromkeys(LEVEL_FIELDS + TRANSLATED_FIELDS, "")
        return [blank | row for row in self.levels] + [dict(blank) for _ in range(spare)]

    # -- parsing ------------------------------------------------------------------------------

    def _number(self, raw: str, where: str, key: str) -> float | None:
        value = finite_number(raw)
        if value is None:
            self.errors.setdefault(
                key,
                gettext(
                    "%(where)s must be a number from %(low)s to %(high)s, written with the digits "
                    "0-9 (you typed “%(raw)s”).",
                    where=where,
                    low=f"{-NUMBER_LIMIT:,.0f}",
                    high=f"{NUMBER_LIMIT:,.0f}",
                    raw=raw,
                ),
            )
        return value

    def _whole(self, raw: str, where: str, key: str) -> int | None:
        # Bounded by the database column (int4); the domain checks its own range after.
        value = whole_number(raw, -INT4_MAX, INT4_MAX)
        if value is None:
            self.errors.setdefault(
                key,
                gettext(
                    "%(where)s must be a whole number written with the digits 0-9, at most "
                    "%(high)s (you typed “%(raw)s”).",
                    where=where,
                    high=f"{INT4_MAX:,}",
                    raw=raw,
                ),
            )
        return value

    def parse(self) -> Parsed | None:
        """Domain objects, or None with :attr:`errors` filled (field name -> message)."""
        self.errors = {}
        scale = self._parse_scale()
        policy = self._parse_policy()
        mapping = self._parse_mapping(scale) if scale is not None else None
        if self.errors or scale is None or policy is None or mapping is None:
            return None
        return Parsed(scale, policy, mapping)

    def _parse_scale(self) -> Scale | None:
        if not self.scale_name:
            self.errors["scale_name"] = gettext("Give the scale a name, e.g. “District 0-4”.")
        if len(self.levels) < 2:
            self.errors["levels"] = gettext("A scale needs at least two levels.")
            return None
        levels: list[Level] = []
        for i, row in enumerate(self.levels):
            where = gettext("Level %(n)s", n=i + 1)
            value = self._number(
                row["value"], gettext("%(where)s: the value", where=where), "levels"
            )
            if value is None:
                return None
            colour = row["color"] if row["color"].startswith("#") else "#" + row["color"]
            if not HEX_COLOUR.fullmatch(colour):
                # Said about what was typed ("orange"), not the "#orange" it would become.
                self.errors["levels"] = gettext(
                    "%(where)s: the colour “%(colour)s” is not a hex colour; write # and six "
                    "digits or letters a-f, e.g. #0b874b.",
                    where=where,
                    colour=row["color"],
                )
                return None
            levels.append(
                Level(
                    value=value,
                    label=row["label"],
                    short_label=row["short_label"],
                    color=colour,
                    description=row["description"],
                    student_description=row["student_description"],
                    translations=self._translations(row, where),
                )
            )
        threshold = (
            self._number(self.threshold, gettext("The mastery threshold"), "threshold")
            if self.threshold
            else None
        )
        if not self.threshold:
            self.errors["threshold"] = gettext("Choose the level that counts as mastery.")
        if threshold is None or "scale_name" in self.errors:
            return None
        try:
            return Scale(self.scale_name, tuple(levels), threshold)
        except ScaleError as exc:
            key = "threshold" if "threshold" in str(exc) else "levels"
            self.errors[key] = str(exc)
            return None

    def _translations(self, row: Mapping[str, str], where: str) -> dict[str, LevelText]:
        """The level's texts in the other languages; an error on ``translations`` for one
        that is too long or holds an invisible control character."""
        out: dict[str, LevelText] = {}
        for lang in OTHER_LANGUAGES:
            texts: dict[str, str] = {}
            for name in LEVEL_TEXTS:
                value = row.get(f"{lang}-{name}", "")
                problem = text_problem(value, LONG_LIMIT if name in LONG_FIELDS else SHORT_LIMIT)
                if problem:
                    self.errors.setdefault(
                        "translations",
                        _l(
                            "%(level)s, %(language)s, %(field)s: %(problem)s",
                            level=where,
                            language=language_name(lang),
                            field=TEXT_NAMES[name],
                            problem=problem,
                        ),
                    )
                texts[name] = value
            if any(texts.values()):
                out[lang] = LevelText(**texts)
        return out

    def _parse_policy(self) -> Policy | None:
        try:
            method = Method(self.method)
        except ValueError:
            self.errors["method"] = gettext("Choose a calculation method from the list.")
            return None
        parameter: int | None = None
        if METHOD_PARAMETERS[method] is not None and self.parameter:
            parameter = self._whole(self.parameter, gettext("The method's value"), "parameter")
        minimum = self._whole(
            self.minimum_evidence or "1", gettext("Minimum evidence"), "minimum_evidence"
        )
        if "parameter" in self.errors or minimum is None:
            return None
        try:
            return Policy(
                method, parameter, minimum, OverrideRule(self.override_rule), Basis(self.basis)
            )
        except ValueError as exc:
            key = "minimum_evidence" if "minimum" in str(exc) else "parameter"
            if isinstance(exc, PolicyError) and "override" in str(exc):
                key = "override_rule"
            if "basis" in str(exc) or self.basis not in {b.value for b in Basis}:
                key = "basis"
                exc = ValueError("choose how the method counts the evidence")
            self.errors[key] = str(exc)[:1].upper() + str(exc)[1:] + "."
            return None

    def _parse_mapping(self, scale: Scale) -> PercentMapping | None:
        possible = self._number(
            self.points_possible or fmt(scale.max_value),
            gettext("Canvas points possible"),
            "points_possible",
        )
        thresholds: list[PercentThreshold] = []
        for i, (row, level) in enumerate(zip(self.levels, scale.levels, strict=False)):
            raw = row["min_percent"]
            if not raw:
                self.errors["mapping"] = gettext(
                    "Level %(n)s (%(label)s): give the percent of possible at which it starts.",
                    n=i + 1,
                    label=level.label,
                )
                return None
            percent = self._number(raw, gettext("Level %(n)s: the percent", n=i + 1), "mapping")
            if percent is None:
                return None
            thresholds.append(PercentThreshold(percent, level.value))
        if possible is None:
            return None
        try:
            mapping = PercentMapping(tuple(thresholds), possible)
            validate_mapping(mapping, scale)
        except MappingError as exc:
            self.errors["mapping"] = str(exc)[:1].upper() + str(exc)[1:] + "."
            return None
        return mapping


def _translated_row(level: Level) -> dict[str, str]:
    return {
        f"{lang}-{name}": getattr(level.translations.get(lang) or LevelText(), name)
        for lang in OTHER_LANGUAGES
        for name in LEVEL_TEXTS
    }


def form_choices() -> Mapping[str, object]:
    """Select options for the template."""
    return {
        "methods": [(m.value, METHOD_LABELS[m]) for m in Method],
        "method_labels": {m.value: METHOD_LABELS[m] for m in Method},
        "override_rules": [(r.value, OVERRIDE_LABELS[r]) for r in OverrideRule],
        "bases": [(b.value, BASIS_LABELS[b]) for b in Basis],
        "parameters": {
            m.value: (None if s is None else (s.low, s.high, s.default))
            for m, s in METHOD_PARAMETERS.items()
        },
    }
