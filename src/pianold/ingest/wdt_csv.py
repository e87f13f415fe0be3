"""Reader of the wpDataTables CSV export of an axis table: wdt_ID, one column per level, Link."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pianold.ingest.errors import Location, Problem, SourceError, fail
from pianold.ingest.records import Cell, Level, Table, TableRow
from pianold.ingest.text import clean_cell, read_source

csv.field_size_limit(1_000_000)


def read_wdt_csv(path: Path, levels: list[Level], axis: str) -> Table:
    text = read_source(path)
    where = Location(path)
    try:  # spreadsheets in Italian locales export with ';': take only the delimiter from the header
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise fail(where.at(1, 1), f"cannot read the header row: {err}") from None
    header = [h.strip() for h in header]
    columns = [lv.column for lv in levels[1:]]
    required = ["wdt_ID", *columns]
    known = [*required, "Link"]
    problems = []
    for pos, name in enumerate(header, start=1):
        if name not in known:
            problems.append(Problem(where.at(1, pos), f"unknown column {name!r:.40}; expected {', '.join(known)}"))
        elif header.index(name) != pos - 1:
            problems.append(Problem(where.at(1, pos), f"column {name!r} appears twice"))
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(Problem(where.at(1, None), f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; the header is {', '.join(header)}"))
    if problems:
        raise SourceError(problems)
    index = {name: header.index(name) for name in header}

    rows: list[TableRow] = []
    line = 1
    try:
        for record in reader:
            start_line, line = line + 1, reader.line_num
            if not any(v.strip() for v in record):
                continue  # blank row
            if len(record) != len(header):
                raise fail(where.at(start_line, None), f"row has {len(record)} fields, the header has {len(header)}")
            row_id = clean_cell(record[index["wdt_ID"]], where.at(start_line, index["wdt_ID"] + 1), "wdt_ID")
            if not row_id.isdigit():
                raise fail(where.at(start_line, index["wdt_ID"] + 1), f"wdt_ID must be a number, not {row_id[:40]!r}")
            cells = tuple(
                Cell(clean_cell(record[index[c]], where.at(start_line, index[c] + 1), c), where.at(start_line, index[c] + 1))
                for c in columns
            )
            link = None
            if "Link" in index and record[index["Link"]].strip():
                link = clean_cell(record[index["Link"]], where.at(start_line, index["Link"] + 1), "Link")
                if not link.startswith(("http://", "https://")) or any(c.isspace() for c in link):
                    raise fail(where.at(start_line, index["Link"] + 1), f"Link must be an http(s) URL, not {link[:60]!r}")
            rows.append(TableRow(row_id, cells, where.at(start_line, None), link))
    except csv.Error as err:
        raise fail(where.at(reader.line_num, None), f"malformed CSV: {err}") from None
    if not rows:
        raise fail(where.at(1, None), "the file has a header but no rows")
    return Table(axis=axis, rows=rows, location=where)
