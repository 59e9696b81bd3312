"""District proficiency scales: levels, validation, WCAG contrast, versioning, JSON, presets.

Pure domain code (standard library only). A :class:`Scale` is immutable and always valid: its
constructor runs :func:`validate_scale`, which refuses a bad scale with a :class:`ScaleError`
whose message names the offending level.

Levels are stored in ascending value order (Canvas lists ratings descending; the mapping module
deals with that). Values are floats so half points (Marzano 0-4 in 0.5 steps) are allowed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AA_CONTRAST",
    "BLACK",
    "LEVEL_TEXTS",
    "PRESETS_DIR",
    "WHITE",
    "Level",
    "LevelText",
    "Scale",
    "ScaleError",
    "ScaleVersion",
    "TargetDescriptor",
    "best_text_color",
    "contrast_ratio",
    "edit_requires_new_version",
    "list_presets",
    "load_preset",
    "meaning_changes",
    "next_version",
    "relative_luminance",
    "scale_from_dict",
    "scale_to_dict",
    "validate_scale",
]

#: WCAG 2.1 AA minimum contrast for normal-size text.
AA_CONTRAST = 4.5
BLACK = "#000000"
WHITE = "#ffffff"

#: ``config/scales/`` at the project root (this file is ``lti_app/mastery/scales.py``).
PRESETS_DIR = Path(__file__).resolve().parents[2] / "config" / "scales"

_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_PRESET_NAME = re.compile(r"[a-z0-9_]+")


class ScaleError(ValueError):
    """An invalid scale (or scale document); the message says which level is wrong and why."""


# --------------------------------------------------------------------------------------------
# WCAG 2.1 contrast
# --------------------------------------------------------------------------------------------


def _parse_hex(color: str) -> tuple[int, int, int]:
    if not isinstance(color, str) or _HEX_COLOR.fullmatch(color) is None:
        raise ValueError(f"{color!r} is not a hex colour of the form #rrggbb")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _linear_channel(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb`` (0.0 for black, 1.0 for white)."""
    r, g, b = _parse_hex(color)
    return 0.2126 * _linear_channel(r) + 0.7152 * _linear_channel(g) + 0.0722 * _linear_channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio between two ``#rrggbb`` colours, from 1.0 to 21.0."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def best_text_color(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (black on a tie)."""
    on_black = contrast_ratio(background, BLACK)
    on_white = contrast_ratio(background, WHITE)
    return BLACK if on_black >= on_white else WHITE


# --------------------------------------------------------------------------------------------
# Levels and scales
# --------------------------------------------------------------------------------------------


#: The district's texts of a level that may also be written in another language.
LEVEL_TEXTS = ("label", "short_label", "description", "student_description")


@dataclass(frozen=True)
class LevelText:
    """A level's texts in one other language; an empty text falls back to the district's own
    (``lti_app.mastery.district_text.localized``)."""

    label: str = ""
    short_label: str = ""
    description: str = ""
    student_description: str = ""

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in LEVEL_TEXTS)


@dataclass(frozen=True)
class Level:
    """One level of a district scale. ``color`` is the background colour ``#rrggbb``."""

    value: float
    label: str
    short_label: str
    color: str
    description: str = ""
    student_description: str = ""
    """What the level means in a student's words ("I can ..."); pages for students show it,
    falling back to :attr:`description` when it is empty."""
    translations: Mapping[str, LevelText] = field(default_factory=dict, hash=False)
    """The level's texts in other languages, by language code ("es"). Presentation only:
    changing them never makes a new scale version (see :func:`meaning_changes`)."""

    @property
    def for_students(self) -> str:
        return self.student_description or self.description

    @property
    def text_color(self) -> str:
        """Text colour (``#000000`` or ``#ffffff``) with the better contrast on :attr:`color`."""
        return best_text_color(self.color)

    @property
    def text_contrast(self) -> float:
        """Contrast ratio of :attr:`text_color` on :attr:`color`."""
        return contrast_ratio(self.color, self.text_color)


@dataclass(frozen=True)
class TargetDescriptor:
    """Optional per-target text: what ``level_value`` means for learning target ``target``."""

    target: str
    level_value: float
    text: str


def fmt(value: float) -> str:
    """A level value, threshold or number of points as people write it: 3, 2.5, 0.75."""
    return f"{value:g}"


def _describe(index: int, level: Level) -> str:
    label = level.label if isinstance(level.label, str) and level.label.strip() else "unlabelled"
    value = fmt(level.value) if isinstance(level.value, int | float) else repr(level.value)
    return f"level {index + 1} ({label!r}, value {value})"


def _validate_translations(where: str, translations: object) -> None:
    if not isinstance(translations, Mapping):
        raise ScaleError(f"{where}: the translations must be a mapping of language to texts")
    for language, texts in translations.items():
        if not isinstance(language, str) or re.fullmatch(r"[a-z]{2,3}", language) is None:
            raise ScaleError(f"{where}: {language!r} is not a language code such as 'es'")
        if not isinstance(texts, LevelText) or not all(
            isinstance(getattr(texts, name), str) for name in LEVEL_TEXTS
        ):
            raise ScaleError(f"{where}: the {language!r} texts must be text")


def validate_scale(
    name: str,
    levels: Sequence[Level],
    mastery_threshold: float | None,
    descriptors: Sequence[TargetDescriptor] = (),
) -> None:
    """Raise :class:`ScaleError` unless the parts form a valid scale.

    Rules: a non-empty name; at least 2 levels; finite values in strictly ascending order with no
    duplicates; non-empty label and short label; a ``#rrggbb`` colour on which black or white
    text reaches WCAG AA (4.5:1); a mastery threshold equal to one of the level values; every
    descriptor refers to a level value and has a non-empty target and text.
    """
    if not isinstance(name, str) or not name.strip():
        raise ScaleError("the scale needs a name")
    if len(levels) < 2:
        raise ScaleError(f"scale {name!r} needs at least 2 levels, it has {len(levels)}")
    previous: Level | None = None
    seen: dict[float, int] = {}
    for index, level in enumerate(levels):
        if not isinstance(level, Level):
            raise ScaleError(f"level {index + 1} is not a Level")
        where = _describe(index, level)
        value = level.value
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ScaleError(f"{where}: value must be a finite number, got {value!r}")
        if value in seen:
            raise ScaleError(
                f"{where}: duplicate value {fmt(value)} (also level {seen[value] + 1})"
            )
        if previous is not None and value < previous.value:
            raise ScaleError(
                f"{where}: values must be in ascending order, but {fmt(value)} comes after "
                f"{fmt(previous.value)} (level {index})"
            )
        seen[value] = index
        if not isinstance(level.label, str) or not level.label.strip():
            raise ScaleError(f"{where}: the label is empty")
        if not isinstance(level.short_label, str) or not level.short_label.strip():
            raise ScaleError(f"{where}: the short label is empty")
        if not isinstance(level.description, str):
            raise ScaleError(f"{where}: the description must be text")
        _validate_translations(where, level.translations)
        try:
            _parse_hex(level.color)
        except ValueError:
            raise ScaleError(
                f"{where}: colour {level.color!r} is not a hex colour of the form #rrggbb"
            ) from None
        on_black = contrast_ratio(level.color, BLACK)
        on_white = contrast_ratio(level.color, WHITE)
        if max(on_black, on_white) < AA_CONTRAST:
            raise ScaleError(
                f"{where}: colour {level.color} is unreadable: black text reaches "
                f"{on_black:.2f}:1 and white text {on_white:.2f}:1, WCAG AA needs "
                f"{AA_CONTRAST}:1"
            )
        previous = level
    if mastery_threshold is None:
        raise ScaleError(f"scale {name!r} has no mastery threshold")
    if mastery_threshold not in seen:
        values = ", ".join(fmt(level.value) for level in levels)
        raise ScaleError(
            f"scale {name!r}: mastery threshold {mastery_threshold!r} is not one of the level "
            f"values ({values})"
        )
    for descriptor in descriptors:
        if not isinstance(descriptor, TargetDescriptor):
            raise ScaleError(f"scale {name!r}: descriptor {descriptor!r} is not a TargetDescriptor")
        if not isinstance(descriptor.target, str) or not descriptor.target.strip():
            raise ScaleError(f"scale {name!r}: a descriptor has an empty target")
        if descriptor.level_value not in seen:
            raise ScaleError(
                f"scale {name!r}: descriptor for target {descriptor.target!r} refers to value "
                f"{descriptor.level_value!r}, which is not a level of the scale"
            )
        if not isinstance(descriptor.text, str) or not descriptor.text.strip():
            index = seen[descriptor.level_value]
            raise ScaleError(
                f"{_describe(index, levels[index])}: the descriptor for target "
                f"{descriptor.target!r} is empty"
            )


@dataclass(frozen=True)
class Scale:
    """A validated district proficiency scale (levels ascending by value)."""

    name: str
    levels: tuple[Level, ...]
    mastery_threshold: float
    descriptors: tuple[TargetDescriptor, ...] = field(default=())

    def __post_init__(self) -> None:
        # Accept any sequence but store tuples so the scale stays immutable and hashable.
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "descriptors", tuple(self.descriptors))
        validate_scale(self.name, self.levels, self.mastery_threshold, self.descriptors)

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(level.value for level in self.levels)

    @property
    def min_value(self) -> float:
        return self.levels[0].value

    @property
    def max_value(self) -> float:
        return self.levels[-1].value

    @property
    def mastery_level(self) -> Level:
        return self.level(self.mastery_threshold)

    def has_value(self, value: float) -> bool:
        return any(level.value == value for level in self.levels)

    def level(self, value: float) -> Level:
        """The level whose value is exactly ``value``; :class:`KeyError` if there is none."""
        for level in self.levels:
            if level.value == value:
                return level
        raise KeyError(f"{value!r} is not a level value of scale {self.name!r}")

    def level_for(self, value: float) -> Level | None:
        """The level a (possibly in-between) value falls in: floor semantics.

        The highest level whose value is <= ``value``; None below the lowest level. A calculated
        2.7 on a 0-4 whole-point scale is level 2, as Canvas's own rating rule would have it.
        """
        found: Level | None = None
        for level in self.levels:
            if level.value <= value:
                found = level
            else:
                break
        return found

    def is_mastery(self, value: float) -> bool:
        """True when ``value`` reaches the mastery threshold (Canvas: score >= mastery points)."""
        return value >= self.mastery_threshold

    def next_level_above(self, value: float) -> Level | None:
        """The first level strictly above ``value``; None at or above the top level."""
        for level in self.levels:
            if level.value > value:
                return level
        return None

    def descriptor(self, target: str, value: float) -> str | None:
        """Per-target text for ``value`` on ``target``, if the scale has one."""
        for descriptor in self.descriptors:
            if descriptor.target == target and descriptor.level_value == value:
                return descriptor.text
        return None


# --------------------------------------------------------------------------------------------
# Versioning (pure decision; storage lives outside the mastery package)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleVersion:
    """A scale as it stood at a version number; evidence records the version it was read with."""

    version: int
    scale: Scale

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ScaleError(
                f"a scale version number must be an integer >= 1, got {self.version!r}"
            )


def meaning_changes(old: Scale, new: Scale) -> list[str]:
    """What changed between ``old`` and ``new`` that alters what recorded evidence means.

    Meaning = the level values, the mastery threshold, and each level's label and short label.
    Colours, descriptions, translations (the same meaning in another language), per-target
    descriptors and the scale name are presentation only.
    """
    changes: list[str] = []
    if old.values != new.values:
        changes.append(
            "level values changed from "
            f"[{', '.join(map(fmt, old.values))}] to [{', '.join(map(fmt, new.values))}]"
        )
    if old.mastery_threshold != new.mastery_threshold:
        changes.append(
            f"mastery threshold changed from {fmt(old.mastery_threshold)} to "
            f"{fmt(new.mastery_threshold)}"
        )
    new_by_value = {level.value: level for level in new.levels}
    for level in old.levels:
        other = new_by_value.get(level.value)
        if other is None:
            continue
        if other.label != level.label:
            changes.append(
                f"label of {fmt(level.value)} changed from {level.label!r} to {other.label!r}"
            )
        if other.short_label != level.short_label:
            changes.append(
                f"short label of {fmt(level.value)} changed from {level.short_label!r} to "
                f"{other.short_label!r}"
            )
    return changes


def edit_requires_new_version(old: Scale, new: Scale, has_evidence: bool) -> bool:
    """True when saving ``new`` over ``old`` must create a new version.

    Only when evidence was recorded against ``old`` and the edit changes meaning (values,
    threshold, labels): old evidence must keep the meaning it was recorded with. Cosmetic edits,
    and any edit of a scale without evidence, update the version in place.
    """
    return has_evidence and bool(meaning_changes(old, new))


def next_version(current: ScaleVersion, new: Scale, has_evidence: bool) -> ScaleVersion:
    """The version to store after editing ``current`` into ``new``.

    Same version number when the edit is in place, ``current.version + 1`` otherwise.
    """
    if edit_requires_new_version(current.scale, new, has_evidence):
        return ScaleVersion(version=current.version + 1, scale=new)
    return ScaleVersion(version=current.version, scale=new)


# --------------------------------------------------------------------------------------------
# JSON (de)serialisation and presets
# --------------------------------------------------------------------------------------------


def scale_to_dict(scale: Scale) -> dict[str, Any]:
    """A JSON-ready dict; :func:`scale_from_dict` reads it back to an equal scale.

    ``text_color`` (black or white, whichever reads better on ``color``) is derived: it is
    written for the UI and ignored on reading.
    """
    return {
        "name": scale.name,
        "mastery_threshold": scale.mastery_threshold,
        "levels": [
            {
                "value": level.value,
                "label": level.label,
                "short_label": level.short_label,
                "color": level.color,
                "text_color": level.text_color,
                "description": level.description,
                "student_description": level.student_description,
                **_translations_to_dict(level),
            }
            for level in scale.levels
        ],
        "descriptors": [
            {"target": d.target, "value": d.level_value, "text": d.text} for d in scale.descriptors
        ],
    }


def _translations_to_dict(level: Level) -> dict[str, Any]:
    """``{"translations": {"es": {"label": ...}}}`` with only the texts written, or nothing."""
    written = {
        language: {name: getattr(texts, name) for name in LEVEL_TEXTS if getattr(texts, name)}
        for language, texts in sorted(level.translations.items())
        if texts
    }
    return {"translations": written} if written else {}


def _translations_from_dict(raw: object, where: str) -> dict[str, LevelText]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ScaleError(f"{where}: translations must be an object")
    out: dict[str, LevelText] = {}
    for language, texts in raw.items():
        if not isinstance(texts, Mapping):
            raise ScaleError(f"{where}: translations[{language!r}] must be an object")
        out[str(language)] = LevelText(
            **{
                name: _text(texts.get(name), f"{where}: {language} {name}", "")
                for name in LEVEL_TEXTS
            }
        )
    return out


def _number(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ScaleError(f"{where} must be a number, got {raw!r}")
    return float(raw)


def _text(raw: object, where: str, default: str | None = None) -> str:
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str):
        raise ScaleError(f"{where} must be text, got {raw!r}")
    return raw


def _objects(
    data: Mapping[str, Any], key: str, name: str, noun: str, *, required: bool
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each object of the scale document's list ``key`` with where it stands ("scale 'X',
    level 2"), in order; ScaleError when the list (missing counts as empty unless
    ``required``) or an entry is not what it must be."""
    raw_list = data.get(key) if required else data.get(key, [])
    if not isinstance(raw_list, list):
        raise ScaleError(f"scale {name!r}: {key!r} must be a list")
    for index, raw in enumerate(raw_list):
        where = f"scale {name!r}, {noun} {index + 1}"
        if not isinstance(raw, Mapping):
            raise ScaleError(f"{where} must be an object")
        yield where, raw


def scale_from_dict(data: Mapping[str, Any]) -> Scale:
    """Build and validate a scale from :func:`scale_to_dict`'s shape (e.g. a preset file)."""
    if not isinstance(data, Mapping):
        raise ScaleError(f"a scale document must be an object, got {type(data).__name__}")
    name = _text(data.get("name"), "the scale name")
    levels: list[Level] = []
    for where, raw in _objects(data, "levels", name, "level", required=True):
        levels.append(
            Level(
                value=_number(raw.get("value"), f"{where}: value"),
                label=_text(raw.get("label"), f"{where}: label"),
                short_label=_text(raw.get("short_label"), f"{where}: short_label"),
                color=_text(raw.get("color"), f"{where}: color"),
                description=_text(raw.get("description"), f"{where}: description", ""),
                student_description=_text(
                    raw.get("student_description"), f"{where}: student_description", ""
                ),
                translations=_translations_from_dict(raw.get("translations"), where),
            )
        )
    raw_threshold = data.get("mastery_threshold")
    threshold = (
        None if raw_threshold is None else _number(raw_threshold, f"scale {name!r}: threshold")
    )
    descriptors: list[TargetDescriptor] = []
    for where, raw in _objects(data, "descriptors", name, "descriptor", required=False):
        descriptors.append(
            TargetDescriptor(
                target=_text(raw.get("target"), f"{where}: target"),
                level_value=_number(raw.get("value"), f"{where}: value"),
                text=_text(raw.get("text"), f"{where}: text"),
            )
        )
    validate_scale(name, levels, threshold, descriptors)
    assert threshold is not None  # validate_scale refuses a missing threshold
    return Scale(
        name=name,
        levels=tuple(levels),
        mastery_threshold=threshold,
        descriptors=tuple(descriptors),
    )


def list_presets(directory: Path | None = None) -> list[str]:
    """Names of the preset scales (``config/scales/*.json`` without the suffix), sorted."""
    folder = PRESETS_DIR if directory is None else directory
    return sorted(path.stem for path in folder.glob("*.json"))


def load_preset(name: str, directory: Path | None = None) -> Scale:
    """Read and validate preset ``name`` (e.g. ``"marzano_0_4_half"``)."""
    if _PRESET_NAME.fullmatch(name) is None:
        raise ScaleError(f"{name!r} is not a preset name (lower-case letters, digits, _)")
    folder = PRESETS_DIR if directory is None else directory
    path = folder / f"{name}.json"
    if not path.is_file():
        known = ", ".join(list_presets(folder)) or "none"
        raise ScaleError(f"no preset scale {name!r} (known: {known})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScaleError(f"preset {name!r} is not valid JSON: {exc}") from None
    return scale_from_dict(data)
