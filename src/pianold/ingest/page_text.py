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
from pianold.ingest.text import MAX_DESCRIPTION_CHARS, clean_cell, clean_paragraphs, read_source
from pianold.uris import NOT_IN_IRIS, not_in_iri

_ROW_ID = re.compile(r"^[0-9]{1,6}$")
MAX_MOTTO_CHARS = 150  # longer lines in quotes are taken for a quoted paragraph, not a motto
_URL = re.compile(r"^https?://\S+$")
_LEAF_LIKE = re.compile(r"^\S*[0-9]\S*(\s|$)")  # "5.1.1.a Titolo": a code first
_QUOTED = re.compile(r"^[\"“”„'‘’‹›»<].*[\"“”'‘’‹›«>]$")  # a line in quotes other than « »


def read_page_text(path: Path, levels: list[Level], axis: str) -> Table:
    lines = read_source(path).split("\n")
    where = Location(path)
    top = levels[0]
    columns = [lv.column for lv in levels[1:]]
    heading = ["wdt_ID", *columns, "Link"]
    numbered = _one_cell_a_line([(n + 1, line) for n, line in enumerate(lines) if line.strip()], heading)

    start = _find_heading(numbered, heading)
    if start is None:
        if any(_split(text, sep) == heading for _, text in numbered for sep in ",;"):
            raise fail(where, f"this looks like a CSV export (a line {','.join(heading)}), not the text of a page: "
                              f"in plan.toml use format = \"wdt-csv\" for it")
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

    body_start = start + len(heading)
    width = len(columns)
    end = next((i for i in range(body_start, len(numbered))
                if [t.strip() for _, t in numbered[i:i + width]] == columns), None)  # the heading repeated below
    body = numbered[body_start:end]
    ends_at_eof = end is None
    known = _known_cells(body, width)  # column -> texts seen in it, to name a missing cell

    rows: list[TableRow] = []
    i = 0
    while i < len(body):
        n, text = body[i]
        row_id = text.strip()
        if not _ROW_ID.match(row_id):
            raise fail(where.at(n, 1), _not_a_row_number(row_id, columns))
        cells_lines, link, size = _row_lines(body, i, width)
        if cells_lines is None:  # not a row of the expected shape: say what is wrong with it
            _bad_row(body, i, width, columns, known, where, last=ends_at_eof)
        cells = tuple(
            Cell(clean_cell(t, where.at(cn, 1), f"{col} of row {row_id}", required=True), where.at(cn, 1 + len(t) - len(t.lstrip())))
            for (cn, t), col in zip(cells_lines, columns)
        )
        if link is not None and (bad := not_in_iri(link)) is not None:
            raise fail(where.at(body[i + 1 + width][0], 1), f"Link of row {row_id} must be an http(s) URL without {bad!r} "
                                                            f"(no spaces nor any of {NOT_IN_IRIS}), not {link[:60]!r}")
        rows.append(TableRow(row_id, cells, where.at(n, 1), link))
        i += size
    if not rows:
        raise fail(where.at(numbered[start][0], 1), "the table has a heading but no rows")
    return Table(axis=axis, rows=rows, location=where, page=page)


def _split(text: str, sep: str) -> list[str]:
    return [part.strip() for part in text.split(sep)]


def _one_cell_a_line(numbered, heading):
    """The lines of the page with the table one cell a line. Browsers copy a table one row a line,
    its cells separated by tabs: from the heading written so (wdt_ID<tab>Obiettivo<tab>…) on, such
    lines are split into their cells, each kept at its column (padded with spaces, which are
    trimmed like any other) so that messages name the cell's line and column. Empty cells are
    dropped as blank lines are."""
    start = next((i for i, (_, text) in enumerate(numbered)
                  if "\t" in text and [c for c in _split(text, "\t") if c] == heading), None)  # trailing tabs too
    if start is None:
        return numbered
    out = list(numbered[:start])
    for n, text in numbered[start:]:
        offset = 0
        for part in text.split("\t"):
            if part.strip():
                out.append((n, " " * offset + part))
            offset += len(part) + 1
    return out


def _not_a_row_number(text: str, columns: list[str]) -> str:
    return (f"expected a row number (wdt_ID) or the end of the table, found {text[:60]!r}: each row starts with "
            f"its number on a line of its own, and the table ends where its heading is repeated "
            f"({', '.join(columns)}, one a line) or with the file")


def _is_row_id(line) -> bool:
    return _ROW_ID.match(line[1].strip()) is not None


def _row_lines(body, i, width):
    """The cells and link of the row whose number is at body[i], read by position, and how many
    lines the row takes; (None, None, 0) when what follows is not a complete row."""
    cells = body[i + 1:i + 1 + width]
    j = i + 1 + width
    if len(cells) < width or any(_URL.match(t.strip()) for _, t in cells):
        return None, None, 0
    link = None
    if j < len(body) and _URL.match(body[j][1].strip()):
        link, j = body[j][1].strip(), j + 1
    if j < len(body) and not _is_row_id(body[j]):
        return None, None, 0
    return cells, link, j - i


def _known_cells(body, width) -> list[set[str]]:
    """For each column, the texts it has in the rows of the expected shape."""
    known = [set() for _ in range(width)]
    i = 0
    while i < len(body):
        cells, _, size = _row_lines(body, i, width) if _is_row_id(body[i]) else (None, None, 0)
        if cells is None:
            i += 1
            continue
        for column, (_, text) in zip(known, cells):
            column.add(text.strip())
        i += size
    return known


def _bad_row(body, i, width, columns, known, where: Location, *, last: bool):
    """Raise the clearest message for the row at body[i], which does not have the expected shape."""
    n, row_id = body[i][0], body[i][1].strip()
    k = next((j for j in range(i + 1, len(body)) if _is_row_id(body[j])), len(body))
    lines = body[i + 1:k]
    if lines and _URL.match(lines[-1][1].strip()):
        lines = lines[:-1]
    expected = f"{width} cells ({', '.join(columns)})"
    if lines and all(m == n for m, _ in lines) and not (last and k == len(body)):  # one row a line, cells between tabs
        _bad_tab_row(body[i], lines, width, columns, known, where, expected)
    if len(lines) > width:
        if len(lines) >= 2 * width:  # a whole other row follows: its number is missing or garbled
            m, text = lines[width]
            raise fail(where.at(m, 1), _not_a_row_number(text.strip(), columns))
        raise fail(where.at(lines[width][0], 1),
                   f"row {row_id} (line {n}) has {len(lines)} lines of text, expected {expected}: "
                   f"is a cell split over two lines? Each cell must be on one line (lines {lines[0][0]}–{lines[-1][0]})")
    if last and k == len(body):
        raise fail(where.at(n, 1), f"row {row_id} is cut short: expected {expected}, found {len(lines)}; is the end of the page missing?")
    missing = _missing_columns([t.strip() for _, t in lines], width, known)
    cells = "cell" if len(lines) == 1 else "cells"
    if missing is None:
        raise fail(where.at(n, 1), f"row {row_id} (line {n}) has {len(lines)} {cells}, expected {expected}: "
                                   f"a cell is empty or missing (lines {n + 1}–{lines[-1][0] if lines else n})")
    first = missing[0]
    after = lines[first - 1][0] if first > 0 else n  # the line the missing cell should follow
    names = ", ".join(repr(columns[c]) for c in missing)
    raise fail(where.at(after + 1, 1), f"row {row_id} (line {n}) has {len(lines)} {cells}, expected {expected}: "
                                       f"empty or missing {names} cell{'s' if len(missing) > 1 else ''}; "
                                       f"write it on the line after line {after}")


def _bad_tab_row(row, lines, width, columns, known, where: Location, expected: str):
    """_bad_row for a row copied on one line, its cells separated by tabs."""
    n, row_id = row[0], row[1].strip()
    cells = "cell" if len(lines) == 1 else "cells"
    said = f"row {row_id} (line {n}) has {len(lines)} {cells} between tabs, expected {expected}"
    if len(lines) > width:
        column = 1 + len(lines[width][1]) - len(lines[width][1].lstrip())
        raise fail(where.at(n, column), f"{said}: is there a tab inside a cell? Each cell is separated from the next by one tab")
    missing = _missing_columns([t.strip() for _, t in lines], width, known)
    if missing is None:
        raise fail(where.at(n, None), f"{said}: a cell is empty or missing")
    before = lines[missing[0] - 1][1] if missing[0] > 0 else row[1]  # the cell the missing one should follow
    names = ", ".join(repr(columns[c]) for c in missing)
    raise fail(where.at(n, len(before.rstrip()) + 2),
               f"{said}: empty or missing {names} cell{'s' if len(missing) > 1 else ''}; write it there, after the tab")


def _missing_columns(texts: list[str], width: int, known: list[set[str]]) -> list[int] | None:
    """Which columns a short row lacks, when only one way of placing its texts fits: the leaf
    (last) cell starts with a code, the others are texts their column has in other rows."""
    from itertools import combinations

    fits = []
    for kept in combinations(range(width), len(texts)):
        ok = all(_fits(text, column, width, known) for text, column in zip(texts, kept))
        if ok:
            fits.append([c for c in range(width) if c not in kept])
    return fits[0] if len(fits) == 1 else None


def _fits(text: str, column: int, width: int, known: list[set[str]]) -> bool:
    leaf_like = _LEAF_LIKE.match(text) is not None
    if column == width - 1:
        return leaf_like
    return not leaf_like and text in known[column]


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
        column = 2 + len(mtext) - len(mtext.lstrip())
        motto = Cell(clean_cell(stripped[1:-1], where.at(mn, column), "motto", required=True), where.at(mn, column))
        rest = rest[1:]
    elif rest and _QUOTED.match(rest[0][1].strip()) and len(rest[0][1].strip()) <= MAX_MOTTO_CHARS:
        mn, mtext = rest[0]
        stripped = mtext.strip()
        raise fail(where.at(mn, 1 + len(mtext) - len(mtext.lstrip())),
                   f"line {mn} looks like the axis motto, but it is between {stripped[0]} {stripped[-1]}: "
                   f"write it between « and », as the plan site shows it (e.g. «{stripped[1:-1].strip()[:60]}»)")
    description = None
    if rest:
        paragraphs = [(t, where.at(n, 1 + len(t) - len(t.lstrip()))) for n, t in rest]
        description = Cell(clean_paragraphs(paragraphs, "description", max_chars=MAX_DESCRIPTION_CHARS), paragraphs[0][1])
    title_at = where.at(tn, 1 + len(title) - len(title.lstrip()))
    return AxisPage(axis, Cell(clean_cell(title, title_at, "axis title", required=True), title_at), motto, description)
