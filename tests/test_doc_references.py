"""Every section-sign reference in the code resolves inside the repo.

A reference is a section sign followed by a number (``3``, ``3.5``) or a range (``2.3-2.5``). It
must name a ``docs/<name>.md`` file, on the same line before it or on the line above (wrapped
comments), and every number it gives must be a section of that file: a heading such as
``## 3. Writing results back`` is section 3, a paragraph starting ``3.5 `` is section 3.5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCANNED_DIRS = ("lti_app", "canvas_sandbox", "tests", "benchmarks")
SCANNED_SUFFIXES = frozenset({".py", ".js", ".html"})

SIGN = "\N{SECTION SIGN}"
NUMBER = r"\d+(?:\.\d+)*"
DASH = "-\N{EN DASH}"
REFERENCE = re.compile(rf"{SIGN}\s?({NUMBER})(?:\s?[{DASH}]\s?({NUMBER}))?")
MARKDOWN_FILE = re.compile(r"[\w./-]*\.md\b")
DOCS_FILE = re.compile(r"docs/([\w-]+\.md)")
HEADING = re.compile(rf"^#{{1,6}}\s+({NUMBER})\.?\s")
PARAGRAPH = re.compile(r"^(\d+(?:\.\d+)+)\s")


def sections_of(text: str) -> frozenset[str]:
    """Section numbers of a markdown document: numbered headings and numbered paragraphs."""
    found: set[str] = set()
    for line in text.splitlines():
        match = HEADING.match(line) or PARAGRAPH.match(line)
        if match:
            found.add(match.group(1))
    return frozenset(found)


def repeated_sections(text: str) -> list[str]:
    """Section numbers a document gives twice (a reference to one of them would be ambiguous)."""
    seen: set[str] = set()
    repeated: list[str] = []
    for line in text.splitlines():
        match = HEADING.match(line) or PARAGRAPH.match(line)
        if match:
            number = match.group(1)
            if number in seen:
                repeated.append(number)
            seen.add(number)
    return repeated


@cache
def docs_sections() -> Mapping[str, frozenset[str]]:
    """``{"canvas.md": {"1", "1.1", ...}, ...}`` for every docs/*.md."""
    return {path.name: sections_of(path.read_text("utf-8")) for path in DOCS.glob("*.md")}


def cited_file(lines: Sequence[str], index: int, column: int) -> str | None:
    """The markdown file a reference at ``lines[index][column]`` cites: the last one named
    before it on its line, else the last one on the line above."""
    before = MARKDOWN_FILE.findall(lines[index][:column])
    if before:
        return str(before[-1])
    if index > 0:
        above = MARKDOWN_FILE.findall(lines[index - 1])
        if above:
            return str(above[-1])
    return None


def bad_references(
    lines: Sequence[str], sections: Mapping[str, frozenset[str]]
) -> list[tuple[int, str]]:
    """(1-based line number, why) for every reference in ``lines`` that does not resolve."""
    bad: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        for match in REFERENCE.finditer(line):
            where = cited_file(lines, index, match.start())
            reference = match.group(0)
            if where is None:
                bad.append((index + 1, f"{reference} names no docs/*.md file"))
                continue
            named = DOCS_FILE.fullmatch(where.removeprefix("./"))
            if named is None or named.group(1) not in sections:
                bad.append((index + 1, f"{reference} cites {where}, not a file in docs/"))
                continue
            known = sections[named.group(1)]
            for number in (match.group(1), match.group(2)):
                if number is not None and number not in known:
                    bad.append((index + 1, f"{reference}: docs/{named.group(1)} has no {number}"))
    return bad


def scanned_files() -> list[Path]:
    this = Path(__file__).resolve()
    return sorted(
        path
        for folder in SCANNED_DIRS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in SCANNED_SUFFIXES and path.is_file() and path.resolve() != this
    )


def test_every_reference_resolves_in_docs() -> None:
    sections = docs_sections()
    assert "canvas.md" in sections
    failures = [
        f"{path.relative_to(ROOT)}:{number}: {why}"
        for path in scanned_files()
        for number, why in bad_references(path.read_text("utf-8").splitlines(), sections)
    ]
    assert not failures, "references that do not resolve:\n" + "\n".join(failures)


def test_every_docs_section_number_is_given_once() -> None:
    repeated = {
        path.name: found
        for path in sorted(DOCS.glob("*.md"))
        if (found := repeated_sections(path.read_text("utf-8")))
    }
    assert not repeated, f"section numbers given twice: {repeated}"
    assert repeated_sections("## 3. A\n3.1 x\n3.1 y\n## 3. B\n") == ["3.1", "3"]


def test_sections_are_read_from_headings_and_numbered_paragraphs() -> None:
    text = "# Title\n\n## 3. Writing results back\n\n3.5 A paragraph.\n1. a list item\n"
    assert sections_of(text) == {"3", "3.5"}
    canvas = docs_sections()["canvas.md"]
    assert {"1", "3", "3.5", "4.5", "5"} <= canvas


DOCS_FOR_CHECKS = {"canvas.md": frozenset({"3", "3.5", "3.6", "4.1"})}


@pytest.mark.parametrize(
    "lines",
    [
        [f"# see docs/canvas.md {SIGN}3.5"],
        [f"# docs/canvas.md {SIGN}3, {SIGN}3.6 and {SIGN}3.5-3.6"],
        [f"# (docs/canvas.md {SIGN}3-4.1)"],
        ["# replaced wholesale, docs/canvas.md", f"# {SIGN}3.5)."],
        ["# no reference here, not even a bare sign: " + SIGN],
    ],
)
def test_resolving_references_pass(lines: list[str]) -> None:
    assert bad_references(lines, DOCS_FOR_CHECKS) == []


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        ([f"# docs/canvas.md {SIGN}9.9"], "has no 9.9"),
        ([f"# docs/canvas.md {SIGN}3.5-9.9"], "has no 9.9"),
        ([f"# bare {SIGN}4.3"], "names no docs/*.md file"),
        ([f"# reference {SIGN}5.3"], "names no docs/*.md file"),
        ([f"# canvas-api.md {SIGN}6.5"], "not a file in docs/"),
        ([f"# reference/canvas-api.md {SIGN}6.3"], "not a file in docs/"),
        ([f"# lti-security.md {SIGN}7"], "not a file in docs/"),
        ([f"# docs/other.md {SIGN}3"], "not a file in docs/"),
        (["# a line two lines up: docs/canvas.md", "#", f"# {SIGN}3.5"], "names no docs/*.md"),
    ],
)
def test_unresolved_references_are_reported(lines: list[str], why: str) -> None:
    bad = bad_references(lines, DOCS_FOR_CHECKS)
    assert len(bad) == 1
    assert bad[0][0] == len(lines)
    assert why in bad[0][1]
