"""Reader of an axis page as a browser renders it to text (select all, copy, paste).

Layout: title, «motto», description, "Asse N", the table heading (wdt_ID, one line per level
column, Link), then one row per action: its wdt_ID on a line of its own, one line per level
cell, and the link when there is one. The heading repeated below the table ends it.
"""

from __future__ import annotations

import re
from pathlib import Path

from pianold.ingest.errors import Location, fail
from pianold.ingest.records import AxisPage, Cell, Level, Table, TableRow
from pianold.ingest.text import MAX_DESCRIPTION_CHARS, clean_cell, read_source

_ROW_ID = re.compile(r"^[0-9]{1,6}$")
_URL = re.compile(r"^https?://\S+$")


def read_page_text(path: Path, levels: list[Level], axis: str) -> Table:
    lines = read_source(path).split("\n")
    where = Location(path)
    numbered = [(n + 1, line) for n, line in enumerate(lines) if line.strip()]
    top = levels[0]
    columns = [lv.column for lv in levels[1:]]
    heading = ["wdt_ID", *columns, "Link"]

    start = _find_heading(numbered, heading)
    if start is None:
        raise fail(where, f"no table heading found: expected the lines {', '.join(heading)} one after another")
    intro = numbered[:start]
    axis_line = re.compile(rf"^{re.escape(top.name)}\s+(\S+)$", re.IGNORECASE)
    if not intro or not axis_line.match(intro[-1][1].strip()):
        line = intro[-1][0] if intro else numbered[start][0]
        raise fail(where.at(line, 1), f"expected a line '{top.name} {axis}' just above the table heading")
    axis_n, axis_text = intro[-1]
    code = axis_line.match(axis_text.strip()).group(1)
    if code != axis:
        raise fail(where.at(axis_n, len(top.name) + 2), f"the page is about {top.name} {code}, but plan.toml lists it as {top.name} {axis}")
    page = _page_header(intro[:-1], where, axis)

    rows: list[TableRow] = []
    i = start + len(heading)
    width = len(columns)
    while i < len(numbered):
        n, text = numbered[i]
        if text.strip() == columns[0] and [t.strip() for _, t in numbered[i:i + width]] == columns:
            break  # the heading repeated below the table
        if not _ROW_ID.match(text.strip()):
            raise fail(where.at(n, 1), f"expected a row number (wdt_ID) or the end of the table, found {text.strip()[:60]!r}")
        cells_lines = numbered[i + 1:i + 1 + width]
        if len(cells_lines) < width:
            raise fail(where.at(n, 1), f"row {text.strip()} is cut short: expected {width} cells ({', '.join(columns)})")
        cells = tuple(
            Cell(clean_cell(t, where.at(cn, 1), f"{col} of row {text.strip()}"), where.at(cn, 1 + len(t) - len(t.lstrip())))
            for (cn, t), col in zip(cells_lines, columns)
        )
        i += 1 + width
        link = None
        if i < len(numbered) and _URL.match(numbered[i][1].strip()):
            link = numbered[i][1].strip()
            i += 1
        rows.append(TableRow(text.strip(), cells, where.at(n, 1), link))
    if not rows:
        raise fail(where.at(numbered[start][0], 1), "the table has a heading but no rows")
    return Table(axis=axis, rows=rows, location=where, page=page)


def _find_heading(numbered, heading) -> int | None:
    for i in range(len(numbered) - len(heading) + 1):
        if [t.strip() for _, t in numbered[i:i + len(heading)]] == heading:
            return i
    return None


def _page_header(intro, where: Location, axis: str) -> AxisPage:
    if not intro:
        raise fail(where.at(1, 1), "expected the axis title on the first line")
    (tn, title), rest = intro[0], intro[1:]
    motto = None
    if rest and rest[0][1].strip().startswith("«"):
        mn, mtext = rest[0]
        stripped = mtext.strip()
        if not stripped.endswith("»"):
            raise fail(where.at(mn, len(mtext.rstrip()) + 1), "the motto opens with « but does not close with »")
        motto = Cell(clean_cell(stripped[1:-1], where.at(mn, 2), "motto"), where.at(mn, 2))
        rest = rest[1:]
    description = None
    if rest:
        dn = rest[0][0]
        body = "\n".join(t.strip() for _, t in rest)
        description = Cell(clean_cell(body, where.at(dn, 1), "description", max_chars=MAX_DESCRIPTION_CHARS), where.at(dn, 1))
    return AxisPage(axis, Cell(clean_cell(title, where.at(tn, 1), "axis title"), where.at(tn, 1)), motto, description)
