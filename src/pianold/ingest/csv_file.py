"""CSV files as spreadsheets export them: UTF-8, ',' or ';' (Italian locales) or tab, a header row
naming the columns (in any order), blank rows ignored. Shared by every CSV reader."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from pianold.ingest.errors import Location, Problem, SourceError, fail
from pianold.ingest.text import clean_cell, read_source

csv.field_size_limit(1_000_000)


@dataclass(frozen=True)
class CsvRow:
    path: Path
    line: int
    raw: dict[str, str]  # column -> value as in the file
    columns: dict[str, int]  # column -> 1-based position

    def where(self, column: str | None = None) -> Location:
        return Location(self.path, self.line, self.columns[column] if column else None)

    def text(self, column: str, *, max_chars: int | None = None) -> str:
        """The cell's checked plain text ('' when the column is absent or the cell empty)."""
        if column not in self.raw:
            return ""
        kwargs = {"max_chars": max_chars} if max_chars else {}
        # the location is the spreadsheet column (field number), for every problem in the cell
        return clean_cell(self.raw[column], self.where(column), column, whole_cell=True, **kwargs)


def read_csv(path: Path, required: list[str], optional: list[str] = (), *, allow_empty: bool = False) -> list[CsvRow]:
    """The data rows, or a SourceError naming every header problem / the first bad row."""
    where = Location(path)
    try:
        text = read_source(path)
    except SourceError as err:
        if [p.message for p in err.problems] == ["file is empty"]:
            raise fail(where, f"file is empty: its first line must be the header row "
                              f"{','.join([*required, *optional])}, then one row per line") from None
        raise
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as err:
        raise fail(where.at(1, 1), f"cannot read the header row: {err}") from None
    width = len(header)  # the header's cells, without the empty ones a spreadsheet adds at the end
    while width > 1 and not header[width - 1]:
        width -= 1
    unnamed = len(header) - width
    header = header[:width]
    known = [*required, *optional]
    if not any(name in known for name in header):
        raise fail(where.at(1, 1), _no_header(text, header, known))
    problems = []
    meant = set()  # expected columns an unknown one is a misspelling of: not also reported missing
    for pos, name in enumerate(header, start=1):
        if name not in known:
            close = _close_name(name, [k for k in known if k not in header])
            if close:
                meant.add(close)
                problems.append(Problem(where.at(1, pos), f"unknown column {name!r:.40}: did you mean {close!r}? "
                                                          "Column names must be written exactly"))
            else:
                problems.append(Problem(where.at(1, pos), f"unknown column {name!r:.40}; expected {', '.join(known)}"))
        elif header.index(name) != pos - 1:
            problems.append(Problem(where.at(1, pos), f"column {name!r} appears twice"))
    missing = [c for c in required if c not in header and c not in meant]
    if missing:
        problems.append(Problem(where.at(1, None), f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; the header is {', '.join(header)}"))
    if problems:
        raise SourceError(problems)
    columns = {name: header.index(name) + 1 for name in header}

    rows: list[CsvRow] = []
    line = 1
    try:
        for record in reader:
            start_line, line = line + 1, reader.line_num
            if not any(v.strip() for v in record):
                continue
            if unnamed and len(record) > len(header) and not any(v.strip() for v in record[len(header):]):
                record = record[:len(header)]  # empty cells under the header's trailing empty ones
            elif unnamed and len(record) > len(header):
                extra = next(i for i in range(len(header), len(record)) if record[i].strip())
                raise fail(where.at(start_line, extra + 1), f"column {extra + 1} has no name in the header row, but this row "
                                                            f"has text in it ({record[extra].strip()[:40]!r}): delete that "
                                                            "text, or move it into a named column")
            if len(record) < len(header) and all(name in optional for name in header[len(record):]):
                record = record + [""] * (len(header) - len(record))  # optional cells at the end left out
            if len(record) != len(header):
                unnamed_optional = [name for name in optional if name not in header]
                raise fail(where.at(start_line, None), _field_count(record, header, delimiter, unnamed_optional))
            rows.append(CsvRow(path, start_line, dict(zip(header, record)), columns))
    except csv.Error as err:
        raise fail(where.at(reader.line_num, None), f"malformed CSV: {err}") from None
    if not rows and not allow_empty:
        raise fail(where.at(1, None), "the file has a header but no rows")
    return rows


def _close_name(name: str, candidates: list[str]) -> str | None:
    """The expected column a header cell is a misspelling of (case, spaces, a typo), if one is close."""
    import difflib

    squeeze = {" ".join(c.lower().replace("_", " ").split()): c for c in candidates}
    exact = squeeze.get(" ".join(name.lower().replace("_", " ").split()))
    if exact:
        return exact
    close = difflib.get_close_matches(name.lower(), list(squeeze), n=1, cutoff=0.8)
    return squeeze[close[0]] if close else None


_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _field_count(record: list[str], header: list[str], delimiter: str, unnamed_optional: list[str] = ()) -> str:
    """What is wrong with a row that has more or fewer cells than the header, in words one can act on.
    One cell too many where the header leaves out an optional column (links.csv's label, a table's
    Link) may be that column's value: the header then needs its name."""
    sep = _SEPARATOR_NAMES.get(delimiter, repr(delimiter))
    said = f"row has {len(record)} fields, the header has {len(header)} ({', '.join(header)})"
    if len(record) > len(header):
        named = ""
        if len(record) == len(header) + 1 and unnamed_optional:
            column = unnamed_optional[0]
            ending = f"a tab and {column}" if delimiter == "\t" else f"'{delimiter}{column}'"
            named = f"; if its last cell is the {column}, name that column: end the first line with {ending}"
        return (f"{said}: a text that contains a {sep} ({delimiter!r}) must be between double quotes, "
                f'e.g. "testo{delimiter} altro testo"; or is a line of the file joined to the next one?{named}')
    return (f"{said}: a cell is missing; leave an empty cell as two {sep}s in a row, "
            f"and write each row on one line")


def _no_header(text: str, header: list[str], known: list[str]) -> str:
    """The message for a file whose first line names none of the expected columns."""
    first = text.split("\n", 1)[0].strip()
    message = (f"the first line must be the header row with the column names {', '.join(known)}; "
               f"found {first[:80]!r}")
    if any(line.strip() == known[0] for line in text.split("\n")[:200]):
        message += ": this looks like the text of a page, not a CSV export; in plan.toml use format = \"page-text\" for it"
    return message
