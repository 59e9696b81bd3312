"""Reading a CSV file of observations: ``canvas_user_id,canvas_outcome_id,level,note,
observed_on`` (the last two optional), from a spreadsheet or a district script.

The file is untrusted: its size and row count are bounded before anything is parsed, it must be
UTF-8 (a byte order mark is dropped, as Excel writes one), line ends may be CRLF, CR or LF,
and control characters, a wrong number of cells or an unknown column refuse the file naming
the line. A line number is the file's own (a quoted note spanning lines counts them all), so a
teacher finds the row in any editor.
"""

from __future__ import annotations

import csv
import io

from lti_app.evidence.observations import Refused, Row
from lti_app.input_rules import control_character

COLUMNS = ("canvas_user_id", "canvas_outcome_id", "level", "note", "observed_on")
REQUIRED = COLUMNS[:3]
# A class of 40 x 20 targets several times over; a teacher's file is a few kilobytes.
MAX_BYTES = 1_000_000
MAX_ROWS = 5_000


def _refuse(problems: list[tuple[str, str]]) -> Refused:
    return Refused("The file was not imported; nothing was stored.", problems)


def read_rows(data: bytes) -> tuple[list[Row], list[tuple[str, str]]]:
    """The file's rows and the lines that are not rows at all (a wrong number of cells);
    :class:`Refused` when the file itself is unusable (size, encoding, header, controls)."""
    if len(data) > MAX_BYTES:
        raise _refuse([("file", f"the file is larger than {MAX_BYTES // 1000} kB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _refuse([(f"line {line}", "the file is not UTF-8 text")]) from None
    if not text.strip():
        raise _refuse([("file", "the file is empty")])
    # Line ends: csv understands \r\n and \n; a lone \r (old Mac) is one too.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = [
        (f"line {n}", "contains control characters")
        for n, line in enumerate(text.split("\n"), start=1)
        if control_character(line.replace("\t", " ")) is not None
    ]
    if bad:
        raise _refuse(bad[:100])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, [])
    except csv.Error:
        raise _refuse([("line 1", "the header is not valid CSV")]) from None
    names = [h.strip().casefold() for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in names]
    if unknown or missing or len(set(names)) != len(names):
        what = []
        if missing:
            what.append("missing column " + ", ".join(missing))
        if unknown:
            what.append("unknown column " + ", ".join(u[:40] for u in unknown[:5]))
        if len(set(names)) != len(names):
            what.append("a column appears twice")
        raise _refuse([("line 1", "; ".join(what) + f" (the columns are {','.join(COLUMNS)})")])
    rows: list[Row] = []
    problems: list[tuple[str, str]] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # a blank line (spreadsheets leave them at the end)
            if len(rows) + len(problems) >= MAX_ROWS:
                raise _refuse([("file", f"the file has more than {MAX_ROWS} rows")])
            if len(cells) != len(names):
                problems.append((where, f"{len(cells)} cells where the header has {len(names)}"))
                continue
            cell = dict(zip(names, cells, strict=True))
            rows.append(
                Row(
                    where,
                    cell["canvas_user_id"],
                    cell["canvas_outcome_id"],
                    cell["level"],
                    cell.get("note", ""),
                    cell.get("observed_on", ""),
                )
            )
    except csv.Error as exc:
        problems.append((f"line {reader.line_num}", f"not valid CSV ({str(exc)[:80]})"))
    if not rows and not problems:
        raise _refuse([("file", "the file has a header but no rows")])
    return rows, problems
