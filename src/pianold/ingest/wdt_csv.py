"""Reader of the wpDataTables CSV export of an axis table: wdt_ID, one column per level, Link."""

from __future__ import annotations

from pathlib import Path

from pianold.ingest.csv_file import read_csv
from pianold.ingest.errors import Location, fail
from pianold.ingest.records import Cell, Level, Table, TableRow
from pianold.uris import NOT_IN_IRIS, not_in_iri


def read_wdt_csv(path: Path, levels: list[Level], axis: str) -> Table:
    columns = [lv.column for lv in levels[1:]]
    rows: list[TableRow] = []
    for row in read_csv(path, ["wdt_ID", *columns], ["Link"]):
        row_id = row.text("wdt_ID")
        if not row_id.isdigit():
            raise fail(row.where("wdt_ID"), f"wdt_ID must be a number, not {row_id[:40]!r}")
        cells = tuple(Cell(row.text(c), row.where(c)) for c in columns)
        link = row.text("Link") or None
        if link is not None and (not link.startswith(("http://", "https://")) or any(c.isspace() for c in link)):
            hint = f"; write https://{link}" if link.lower().startswith("www.") and not any(c.isspace() for c in link) else ""
            raise fail(row.where("Link"), f"Link must be an http(s) URL, not {link[:60]!r}{hint}")
        if link is not None and (bad := not_in_iri(link)) is not None:
            raise fail(row.where("Link"), f"Link must be an http(s) URL without {bad!r} (no spaces nor any of "
                                          f"{NOT_IN_IRIS}), not {link[:60]!r}")
        rows.append(TableRow(row_id, cells, row.where(), link))
    return Table(axis=axis, rows=rows, location=Location(path))
