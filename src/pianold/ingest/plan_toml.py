"""Reader of a plan's metadata file, plan.toml: types are checked, errors are located."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pianold.eu_authority import DATA_THEMES, FREQUENCIES
from pianold.ingest.errors import Location, Problem, SourceError, fail
from pianold.ingest.records import DEFAULT_THEMES, LEVEL_CLASSES, Cell, Level, PlanMeta, Publisher
from pianold.ingest.text import MAX_DESCRIPTION_CHARS, clean_cell, read_source
from pianold.uris import NOT_IN_IRIS, not_in_iri

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LEVEL_KEY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
IPA_CODE = re.compile(r"^[A-Za-z0-9_]{1,20}$")
TABLE_FORMATS = ("page-text", "wdt-csv")
_DATE_LIKE = re.compile(r"=\s*[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}\b")  # 2020-1-1, 01/01/2020, 2030-13-31
_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z0-9_.\"' -]+\s*\]\]?\s*(#.*)?$")  # [table] or [[array]]
_SMART_QUOTES = re.compile(r"=\s*\[?\s*([“”„«‘’‚])")  # a value opened with a typographic quote
_IN_EMAIL = rf"[^@\s{re.escape(NOT_IN_IRIS)}]+"  # published as a mailto: IRI
EMAIL = re.compile(rf"^{_IN_EMAIL}@{_IN_EMAIL}\.[a-z]{{2,}}$", re.I)


@dataclass(frozen=True)
class AxisSpec:
    code: str
    title: Cell
    motto: Cell | None
    page: str | None
    location: Location


@dataclass(frozen=True)
class TableSpec:
    axis: str
    file: Path
    format: str
    location: Location


@dataclass(kw_only=True)
class PlanSpec(PlanMeta):
    """plan.toml, checked: everything about a plan except its tables' content."""

    path: Path
    axes: list[AxisSpec]
    tables: list[TableSpec]


class _Doc:
    """Typed access to the parsed TOML with locations for every complaint."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.split("\n")

    def where(self, key: str, table: str | None = None, index: int | None = None) -> Location:
        start = 0
        if table is not None:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
            seen = -1
            for n, line in enumerate(self.lines):
                if header.match(line):
                    seen += 1
                    if index is None or seen == index:
                        start = n
                        break
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for n in range(start, len(self.lines)):
            if (n > start or table is None) and _HEADER.match(self.lines[n]):
                break
            if pattern.match(self.lines[n]):
                return Location(self.path, n + 1, len(self.lines[n]) - len(self.lines[n].lstrip()) + 1)
        return Location(self.path, start + 1 if table is not None else None, None)

    def value_column(self, where: Location, value: str) -> int | None:
        """The column where a string value's text starts on the line of its key, when the line
        holds it as written (no escapes, not a multi-line string): problems inside the text can
        then be reported at their own column."""
        if where.line is None or "\n" in value:
            return None
        line = self.lines[where.line - 1]
        m = re.match(r"""^\s*[^=]+=\s*(["'])""", line)
        if m is None or not line.startswith(value, m.end()):
            return None
        return m.end() + 1


# The keys each part of plan.toml may have: anything else is a typo that would silently drop data.
KNOWN_KEYS = {
    None: ("id", "title", "title_en", "description", "description_en", "source", "license", "keywords", "themes",
           "frequency", "publisher", "territory", "period", "adoption", "levels", "axes", "tables"),
    "publisher": ("name", "ipa", "website", "email"),
    "territory": ("province", "istat"),
    "period": ("start", "end"),
    "adoption": ("body", "year"),
    "levels": ("key", "name", "name_en", "pattern", "class", "column"),
    "axes": ("code", "title", "motto", "page"),
    "tables": ("axis", "file", "format"),
}


def _unknown_keys(doc: "_Doc", data: dict, problems: list[Problem], table: str | None = None, index: int | None = None) -> None:
    known = KNOWN_KEYS[table]
    section = "the plan (top of plan.toml)" if table is None else (f"[[{table}]]" if index is not None else f"[{table}]")
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif table is not None and key in KNOWN_KEYS[None]:
            hint = f"'{key}' is a key of the plan itself: move it above the first [section] of the file"
        else:
            hint = f"the keys of {section} are {', '.join(known)}"
        problems.append(Problem(doc.where(key, table, index), f"unknown key '{key}' in {section} ({hint})"))


# what to write for a missing required key, as the README's example of plan.toml has it
_EXAMPLES = {
    (None, "id"): 'add id = "city-psm-2030" (lower-case letters, digits and -) at the top',
    (None, "title"): 'add title = "…" (the plan\'s title) at the top',
    (None, "source"): 'add source = "https://…" (the plan\'s web site) at the top',
    (None, "license"): 'add license = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40" '
                       "(CC BY 4.0, or the licence of the plan's data) at the top",
    (None, "publisher"): 'add a [publisher] section with name = "…" and ipa = "…" (the IPA code)',
    (None, "territory"): 'add a [territory] section with province = "072" (the ISTAT province code)',
    (None, "period"): "add a [period] section with start = 2020-01-01 and end = 2030-12-31",
    (None, "levels"): "add one [[levels]] section per level of the plan, outermost first",
    (None, "axes"): "add one [[axes]] section per axis, with code and title",
    ("tables", "format"): 'add format = "page-text" (a page\'s text) or format = "wdt-csv" (the CSV export) to that [[tables]]',
    ("levels", "column"): "add column = \"…\" to that [[levels]]: the heading of the level's column in the tables",
}

_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a table", dt.date: "a date (YYYY-MM-DD)"}


def _take(doc: _Doc, data: dict, key: str, kind: type, *, required: bool = True,
          table: str | None = None, index: int | None = None, problems: list[Problem]) -> Any:
    name = f"{table}.{key}" if table and index is None else (f"{table}[{index + 1}].{key}" if table else key)
    if key not in data:
        misspelt = difflib.get_close_matches(key, [k for k in data if k not in KNOWN_KEYS[table]], n=1, cutoff=0.6)
        if required and not misspelt:  # a misspelt key is reported as unknown, with this one as suggestion
            example = _EXAMPLES.get((table, key))
            if example is None:
                example = f"add a line {key} = … under [{table}]" if table and index is None else (
                    f"add a line {key} = … to that [[{table}]]" if table else f"add {key} = … above the first [section]")
            problems.append(Problem(doc.where(key, table, index) if table else Location(doc.path),
                                    f"missing required key '{name}': {example} (see the README, 'Input formats')"))
        return None
    value = data[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is dt.date and isinstance(value, dt.datetime):
        ok = False
    if not ok:
        got = type(value).__name__
        hint = ""
        if kind is dt.date and isinstance(value, str):
            hint = f"; write it without quotes{_as_iso_date(value)}"
        elif kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f'; write it between quotes: {key} = "{value}"'
        elif kind is int and isinstance(value, str) and value.strip().isdigit():
            hint = f"; write it without quotes: {key} = {value.strip()}"
        problems.append(Problem(doc.where(key, table, index), f"'{name}' must be {_TYPE_NAMES[kind]}, not {got} ({value!r:.40}){hint}"))
        return None
    return value


def _as_iso_date(value: str) -> str:
    """', as 2020-01-31' for a date written as text (31/01/2020, 31.1.2020 or 2020-01-31), '' otherwise."""
    m = re.fullmatch(r"\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})\s*", value)  # Italian: day first
    parts = (m.group(3), m.group(2), m.group(1)) if m else None
    m = re.fullmatch(r"\s*([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\s*", value)
    parts = (m.group(1), m.group(2), m.group(3)) if m else parts
    if parts is None:
        return ", e.g. 2020-01-01"
    try:
        return f", as {dt.date(*map(int, parts)).isoformat()}"
    except ValueError:
        return ", e.g. 2020-01-01 (month 01-12, day 01-31)"


def _check_url(doc, value, key, problems, table=None, index=None):
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not_in_iri(value) is not None:
        hint = f"; write \"https://{value}\"" if value.lower().startswith("www.") and " " not in value else ""
        problems.append(Problem(doc.where(key, table, index), f"'{key}' must be an http(s) URL, not {value!r:.60}{hint}"))
        return None
    return value


def _text(doc, value, key, problems, table=None, index=None, *, max_chars=None, multiline=False):
    """Checked plain text of a key. Present means written: empty or only spaces is an error,
    for optional keys too (delete the line instead), so no empty title is ever published."""
    if value is None:
        return None
    where = doc.where(key, table, index)
    name = f"{table}.{key}" if table and index is None else (f"{table}[{index + 1}].{key}" if table else key)
    if not value.strip():
        problems.append(Problem(where, f"'{name}' is empty: write the text between the quotes"
                                       + ("" if _required(key, table) else ", or delete the line")))
        return None
    try:
        kwargs = {"max_chars": max_chars} if max_chars else {}
        text = clean_cell(value, Location(where.path, where.line, doc.value_column(where, value)), f"'{name}'",
                          required=True, multiline=multiline, **kwargs)
        return Cell(text, where)
    except SourceError as err:
        problems.extend(err.problems)
        return None


_OPTIONAL_TEXT = {(None, "title_en"), (None, "description"), (None, "description_en"), ("levels", "name_en"),
                  ("axes", "motto"), ("adoption", "body")}


def _required(key: str, table: str | None) -> bool:
    return (table, key) not in _OPTIONAL_TEXT


def read_plan_toml(path: Path) -> PlanSpec:
    text = read_source(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        where = Location(path, int(m.group(1)), int(m.group(2))) if m else Location(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err))
        bad_line = text.split("\n")[int(m.group(1)) - 1] if m else ""
        date = _DATE_LIKE.search(bad_line)
        if date:
            example = _as_iso_date(date.group(0).lstrip("= \t"))
            example = example if example.startswith(", as") else ", e.g. 2020-01-01"
            message += f"; dates are written YYYY-MM-DD without quotes{example} (month 01-12, day 01-31)"
        elif m and (zero := re.match(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(0[0-9]+)\s*(#.*)?$", bad_line)):
            message += f'; a code with a leading zero is written between quotes: {zero.group(1)} = "{zero.group(2)}"'
        elif m and _SMART_QUOTES.search(bad_line):
            quote = _SMART_QUOTES.search(bad_line)
            where = Location(path, int(m.group(1)), quote.start(1) + 1)
            message += (f"; the text is between typographic quotes {quote.group(1)}…: write straight quotes \"…\" "
                        "(an editor or word processor replaced them; save plan.toml from a plain text editor)")
        raise fail(where, f"not valid TOML: {message}") from None
    doc = _Doc(path, text)
    problems: list[Problem] = []

    def take(d, key, kind, **kw):
        return _take(doc, d, key, kind, problems=problems, **kw)

    _unknown_keys(doc, data, problems)

    plan_id = take(data, "id", str)
    if plan_id is not None and not PLAN_ID.match(plan_id):
        problems.append(Problem(doc.where("id"), f"'id' must be lower-case letters, digits and '-' (it becomes part of IRIs), not {plan_id!r:.60}"))
    title = _text(doc, take(data, "title", str), "title", problems)
    title_en = _text(doc, take(data, "title_en", str, required=False), "title_en", problems)
    description = _text(doc, take(data, "description", str, required=False), "description", problems, max_chars=MAX_DESCRIPTION_CHARS, multiline=True)
    description_en = _text(doc, take(data, "description_en", str, required=False), "description_en", problems, max_chars=MAX_DESCRIPTION_CHARS, multiline=True)
    source = _check_url(doc, take(data, "source", str), "source", problems)
    license_ = _check_url(doc, take(data, "license", str), "license", problems)
    keywords = take(data, "keywords", list, required=False) or []
    if not all(isinstance(k, str) and k.strip() for k in keywords):
        problems.append(Problem(doc.where("keywords"), "'keywords' must be a list of non-empty strings"))
        keywords = []
    try:
        keywords = [clean_cell(k, Location(path, doc.where("keywords").line, None), "'keywords'") for k in keywords]
    except SourceError as err:
        problems.extend(err.problems)
        keywords = []

    themes = take(data, "themes", list, required=False)
    if themes is not None and (not themes or not all(t in DATA_THEMES for t in themes)):
        problems.append(Problem(doc.where("themes"), f"'themes' must be a non-empty list of EU data themes ({', '.join(DATA_THEMES)}), not {themes!r:.60}"))
        themes = None
    frequency = take(data, "frequency", str, required=False)
    if frequency is not None and frequency not in FREQUENCIES:
        problems.append(Problem(doc.where("frequency"), f"'frequency' must be an EU frequency code such as IRREG or ANNUAL, not {frequency!r:.40}"))
        frequency = None

    publisher = None
    pub = take(data, "publisher", dict)
    if pub is not None:
        _unknown_keys(doc, pub, problems, "publisher")
        name = _text(doc, take(pub, "name", str, table="publisher"), "name", problems, "publisher")
        ipa = take(pub, "ipa", str, table="publisher")
        if ipa is not None and not IPA_CODE.match(ipa):
            problems.append(Problem(doc.where("ipa", "publisher"), f"'publisher.ipa' must be an IPA code such as 'cmba', not {ipa!r:.40}"))
            ipa = None
        website = _check_url(doc, take(pub, "website", str, table="publisher", required=False), "website", problems, "publisher")
        email = take(pub, "email", str, table="publisher", required=False)
        if email is not None and not EMAIL.match(email):
            problems.append(Problem(doc.where("email", "publisher"), f"'publisher.email' must be an e-mail address (no spaces nor any of {NOT_IN_IRIS}), not {email!r:.60}"))
            email = None
        if name and ipa:
            publisher = Publisher(name.text, ipa, website, email)

    province = istat = None
    territory = take(data, "territory", dict)
    if territory is not None:
        _unknown_keys(doc, territory, problems, "territory")
        province = take(territory, "province", str, table="territory")
        if province is not None and not re.fullmatch(r"[0-9]{3}", province):
            problems.append(Problem(doc.where("province", "territory"), f"'territory.province' must be a 3-digit ISTAT province code such as \"072\", not {province!r:.20}"))
        istat = take(territory, "istat", str, table="territory", required=False)
        if istat is not None and not re.fullmatch(r"[0-9]{3}", istat):
            problems.append(Problem(doc.where("istat", "territory"), f"'territory.istat' must be a 3-digit ISTAT code such as \"272\", not {istat!r:.20}"))

    start = end = None
    period = take(data, "period", dict)
    if period is not None:
        _unknown_keys(doc, period, problems, "period")
        start = take(period, "start", dt.date, table="period")
        end = take(period, "end", dt.date, table="period")
        if start and end and start > end:
            problems.append(Problem(doc.where("end", "period"), f"'period.end' ({end}) is before 'period.start' ({start})"))

    adoption_body = adoption_year = None
    adoption = take(data, "adoption", dict, required=False)
    if adoption is not None:
        _unknown_keys(doc, adoption, problems, "adoption")
        body = _text(doc, take(adoption, "body", str, table="adoption", required=False), "body", problems, "adoption")
        adoption_body = body.text if body else None
        adoption_year = take(adoption, "year", int, table="adoption", required=False)
        if adoption_year is not None and not 1900 <= adoption_year <= 2200:
            problems.append(Problem(doc.where("year", "adoption"), f"'adoption.year' must be a year, not {adoption_year}"))

    levels = _levels(doc, data, problems, take)
    axes = _axes(doc, data, problems, take, levels)
    tables = _tables(doc, data, problems, take, path.parent, axes)

    if problems:
        raise SourceError(problems)
    return PlanSpec(
        path=path, id=plan_id, title=title.text, title_en=title_en.text if title_en else None,
        description=description.text if description else None,
        description_en=description_en.text if description_en else None,
        source=source, license=license_, keywords=keywords, publisher=publisher,
        province=province, istat=istat, start=start, end=end,
        adoption_body=adoption_body, adoption_year=adoption_year,
        levels=levels, axes=axes, tables=tables,
        themes=list(themes or DEFAULT_THEMES), frequency=frequency or "IRREG",
    )


def _levels(doc, data, problems, take) -> list[Level]:
    raw = take(data, "levels", list)
    if raw is None:
        return []
    if len(raw) < 2:
        problems.append(Problem(doc.where("levels"), "a plan needs at least two [[levels]] (e.g. Asse and Azione)"))
    levels, keys, before = [], set(), len(problems)
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(Problem(doc.where("levels"), f"levels[{i + 1}] must be a table"))
            continue
        kw = {"table": "levels", "index": i}
        _unknown_keys(doc, item, problems, "levels", i)
        key = take(item, "key", str, **kw)
        name = _text(doc, take(item, "name", str, **kw), "name", problems, "levels", i)
        name_en = _text(doc, take(item, "name_en", str, required=False, **kw), "name_en", problems, "levels", i)
        pattern = take(item, "pattern", str, **kw)
        level_class = take(item, "class", str, required=False, **kw)
        column = _text(doc, take(item, "column", str, required=(i > 0), **kw), "column", problems, "levels", i)
        if key is not None and (not LEVEL_KEY.match(key) or key in keys or key == "level"):
            problems.append(Problem(doc.where("key", "levels", i), f"levels[{i + 1}].key must be unique, lower-case letters, digits and '-' (not 'level'), not {key!r:.40}"))
        keys.add(key)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as err:
                problems.append(Problem(doc.where("pattern", "levels", i), f"levels[{i + 1}].pattern is not a valid regular expression: {err}"))
                pattern = None
        if level_class is not None and level_class not in LEVEL_CLASSES:
            problems.append(Problem(doc.where("class", "levels", i), f"levels[{i + 1}].class must be one of {', '.join(LEVEL_CLASSES)}, not {level_class!r:.40}"))
        if None not in (key, name, pattern):
            levels.append(Level(key, name.text, name_en.text if name_en else None, i + 1, pattern, level_class,
                                column.text if column else None))
    # a broken level shifts the ones below it: checks that rely on levels would only echo it
    return levels if len(problems) == before else []


def _axes(doc, data, problems, take, levels) -> list[AxisSpec]:
    raw = take(data, "axes", list)
    if raw is None:
        return []
    axes, codes = [], {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(Problem(doc.where("axes"), f"axes[{i + 1}] must be a table"))
            continue
        kw = {"table": "axes", "index": i}
        _unknown_keys(doc, item, problems, "axes", i)
        code = take(item, "code", str, **kw)
        title = _text(doc, take(item, "title", str, **kw), "title", problems, "axes", i)
        motto = _text(doc, take(item, "motto", str, required=False, **kw), "motto", problems, "axes", i)
        page = _check_url(doc, take(item, "page", str, required=False, **kw), "page", problems, "axes", i)
        where = doc.where("code", "axes", i)
        if code is not None and levels and not levels[0].matches(code):
            problems.append(Problem(where, f"axis code {code!r:.20} does not match the {levels[0].name} pattern {levels[0].pattern}"))
            continue
        if code in codes:
            problems.append(Problem(where, f"duplicate axis code {code!r} (first at line {codes[code].line})"))
            continue
        if code is not None and title is not None:
            codes[code] = where
            axes.append(AxisSpec(code, title, motto, page, where))
    return axes


def _tables(doc, data, problems, take, folder: Path, axes) -> list[TableSpec]:
    raw = take(data, "tables", list, required=False) or []
    known = {a.code for a in axes}
    axes_read = isinstance(data.get("axes"), list) and len(axes) == len(data["axes"])  # else already reported
    tables = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(Problem(doc.where("tables"), f"tables[{i + 1}] must be a table"))
            continue
        kw = {"table": "tables", "index": i}
        _unknown_keys(doc, item, problems, "tables", i)
        axis = take(item, "axis", str, **kw)
        file = take(item, "file", str, **kw)
        fmt = take(item, "format", str, **kw)
        if axis is not None and known and axes_read and axis not in known:
            problems.append(Problem(doc.where("axis", "tables", i), f"tables[{i + 1}].axis {axis!r:.20} is not one of the plan's [[axes]]"))
        if fmt is not None and fmt not in TABLE_FORMATS:
            problems.append(Problem(doc.where("format", "tables", i), f"tables[{i + 1}].format must be one of {', '.join(TABLE_FORMATS)}, not {fmt!r:.40}"))
        if file is not None:
            resolved = (folder / file).resolve()
            if folder.resolve() not in resolved.parents:
                problems.append(Problem(doc.where("file", "tables", i), f"tables[{i + 1}].file must stay inside the plan folder, not {file!r:.60}"))
                file = None
        if file is not None and (twice := next((tb for tb in tables if tb.file.resolve() == (folder / file).resolve()), None)):
            problems.append(Problem(doc.where("file", "tables", i), f"tables[{i + 1}].file {file!r:.60} is already listed "
                                                                    f"at line {twice.location.line}: list each table once"))
            continue
        if None not in (axis, file, fmt):
            tables.append(TableSpec(axis, folder / file, fmt, doc.where("file", "tables", i)))
    return tables
