"""Tables + plan.toml -> the plan's element records, with every consistency check.

Only leaf cells carry codes ("5.1.1.a Title"); the codes of the levels above follow by
dropping the last dot-separated segment. The same text under two codes, two texts under one
code, a code that contradicts its row, duplicates and orphans are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pianold.ingest.errors import Location, Problem, SourceError
from pianold.ingest.plan_toml import PlanSpec
from pianold.ingest.records import Cell, ElementRecord, PlanRecord, Table
from pianold.ingest.text import first_difference

_LEAF = re.compile(r"^(?P<code>\S+)\s+(?P<title>\S.*)$", re.DOTALL)
_CODE_ONLY = re.compile(r"^\S*[0-9]\S*$")  # "5.3.1.b": a code and no title


def parent_code(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


@dataclass
class _Seen:
    title: str
    location: Location


def assemble(spec: PlanSpec, tables: list[Table]) -> PlanRecord:
    problems: list[Problem] = []
    levels = spec.levels
    leaf = levels[-1]
    elements: dict[str, ElementRecord] = {}
    by_code: dict[str, _Seen] = {}  # code -> first title seen for it
    by_text: dict[tuple[int, str], tuple[str, Location]] = {}  # (depth, title) -> first code

    def note(code: str, depth: int, cell: Cell) -> bool:
        level = levels[depth - 1]
        seen = by_code.get(code)
        if seen is not None and seen.title != cell.text:
            problems.append(Problem(cell.location, f"{level.name} {code} has two different texts: {_q(seen.title)} ({_line(seen.location, cell.location)}) and {_q(cell.text)}; {first_difference(seen.title, cell.text)}"))
            return False
        other = by_text.get((depth, cell.text))
        if other is not None and other[0] != code:
            problems.append(Problem(cell.location, f"the same {level.name.lower()} text {_q(cell.text)} is under two codes: {other[0]} ({_line(other[1], cell.location)}) and {code}"))
            return False
        by_code.setdefault(code, _Seen(cell.text, cell.location))
        by_text.setdefault((depth, cell.text), (code, cell.location))
        return seen is None

    for axis in spec.axes:
        note(axis.code, 1, axis.title)
        elements[axis.code] = ElementRecord(
            code=axis.code, level=levels[0], title=axis.title.text, location=axis.location,
            motto=axis.motto.text if axis.motto else None, page=axis.page,
        )

    for table in tables:
        axis = elements[table.axis]
        if table.page is not None:
            _merge_page(table, axis, spec, problems)
        for row in table.rows:
            *ancestors, leaf_cell = row.cells
            if not leaf_cell.text:
                problems.append(Problem(leaf_cell.location, f"empty {leaf.column!r} cell: every row needs its {leaf.name.lower()}, written as code and title, e.g. '{_example(leaf, table.axis)} Titolo'"))
                continue
            if _CODE_ONLY.match(leaf_cell.text):
                problems.append(Problem(leaf_cell.location, f"{leaf.name} {leaf_cell.text} has no title: write it after the code, e.g. '{leaf_cell.text} Titolo'"))
                continue
            m = _LEAF.match(leaf_cell.text)
            if not m or not any(ch.isdigit() for ch in m.group("code")):
                problems.append(Problem(leaf_cell.location, f"{leaf.column} cell must start with the {leaf.name.lower()} code, e.g. '{_example(leaf, table.axis)} Titolo', not {_q(leaf_cell.text[:60])}"))
                continue
            code, title = m.group("code"), m.group("title").strip()
            if not leaf.matches(code):
                problems.append(Problem(leaf_cell.location, f"{leaf.name} code {code!r:.30} does not match the pattern {leaf.pattern}"
                                                            f"{_how_to_write(code, leaf, table.axis)}"))
                continue
            chain = [code]
            while parent_code(chain[-1]) is not None:
                chain.append(parent_code(chain[-1]))
            chain.reverse()  # axis first
            if len(chain) != len(levels):
                problems.append(Problem(leaf_cell.location, f"{leaf.name} code {code} has {len(chain)} segments, a plan of {len(levels)} levels needs {len(levels)}"))
                continue
            if chain[0] != table.axis:
                problems.append(Problem(leaf_cell.location, f"{leaf.name} {code} belongs to {levels[0].name} {chain[0]} by its code, but it is in the table of {levels[0].name} {table.axis}"))
                continue
            if code in elements:
                problems.append(Problem(leaf_cell.location, f"duplicate {leaf.name.lower()} code {code} (first at {_line(elements[code].location, leaf_cell.location)})"))
                continue
            ok = True
            for depth, (anc_code, cell) in enumerate(zip(chain[1:-1], ancestors), start=2):
                level = levels[depth - 1]
                if not cell.text:
                    problems.append(Problem(cell.location, f"orphan: {leaf.name.lower()} {code} has no {level.name.lower()} (empty {level.column!r} cell)"))
                    ok = False
                    break
                if not level.matches(anc_code):
                    problems.append(Problem(cell.location, f"{level.name} code {anc_code} (from {leaf.name.lower()} {code}) does not match the pattern {level.pattern}"
                                                           f"{_how_to_write(anc_code, level, table.axis)}"))
                    ok = False
                    break
                if note(anc_code, depth, cell):
                    elements[anc_code] = ElementRecord(anc_code, level, cell.text, cell.location, parent=chain[depth - 2], derived_from=axis.page)
                elif anc_code not in elements:
                    ok = False
                    break
            if not ok:
                continue
            leaf_title = Cell(title, leaf_cell.location)
            if note(code, len(levels), leaf_title):
                elements[code] = ElementRecord(code, leaf, title, leaf_cell.location, parent=chain[-2], page=row.link, derived_from=axis.page)

    if problems:
        raise SourceError(problems)
    return PlanRecord(**spec.meta(), elements=sorted(elements.values(), key=lambda e: _sort_key(e.code)))


def _merge_page(table: Table, axis: ElementRecord, spec: PlanSpec, problems: list[Problem]) -> None:
    """The page repeats the axis title and motto of plan.toml: they must agree."""
    page = table.page
    axis_spec = next(a for a in spec.axes if a.code == axis.code)
    if page.title.text != axis.title:
        problems.append(Problem(page.title.location, f"the page's title {_q(page.title.text)} differs from plan.toml's title of axis {axis.code}, {_q(axis.title)} ({_line(axis_spec.location, page.title.location)}); {first_difference(page.title.text, axis.title)}"))
    if page.motto is not None:
        if axis.motto is not None and page.motto.text != axis.motto:
            problems.append(Problem(page.motto.location, f"the page's motto {_q(page.motto.text)} differs from plan.toml's motto of axis {axis.code}, {_q(axis.motto)}; {first_difference(page.motto.text, axis.motto)}"))
        axis.motto = page.motto.text
    if page.description is not None:
        axis.description = page.description.text
    axis.derived_from = axis.page


def _sort_key(code: str) -> list[tuple[int, int | str]]:
    return [(0, int(s)) if s.isdigit() else (1, s) for s in code.split(".")]


def _q(text: str) -> str:
    return f"«{text if len(text) <= 80 else text[:79] + '…'}»"


def _line(location: Location, here: Location | None = None) -> str:
    """'line 12' of the file the problem is in, 'line 12 of asse-1.csv' of another."""
    if not location.line:
        return str(location.path.name)
    if here is not None and here.path != location.path:
        return f"line {location.line} of {location.path.name}"
    return f"line {location.line}"


_QUOTES = "\"'“”„«»‘’‚"


def _example(level, axis: str = "1") -> str:
    """A code the level's pattern accepts, starting with the axis' code: 5.1.1.a, 1.2.3…"""
    for segments in range(1, 7):
        for last in ("a", "1", "A"):
            code = ".".join([axis, *["1"] * (segments - 2), last] if segments > 1 else [axis])
            if level.matches(code):
                return code
    return "5.1.1.a" if level.pattern.endswith(r"\.[a-z]$") else "1.2.3"


def _how_to_write(code: str, level, axis: str) -> str:
    """'; write it like 5.1.1.a …' for a code its level's pattern refuses."""
    hint = f"; write it like {_example(level, axis)} (dot-separated, as the plan's other {level.name.lower()} codes)"
    if any(q in code for q in _QUOTES):
        hint += ", without quote marks"
    return hint
