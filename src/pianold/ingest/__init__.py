"""Readers of a plan office's files. Each yields the same records (see records.py)."""

from __future__ import annotations

from pathlib import Path

from pianold.ingest.assemble import assemble, parent_code
from pianold.ingest.errors import Location, Problem, SourceError
from pianold.ingest.links_csv import LINKS_FILE, LinkRecord, check_links, read_links
from pianold.ingest.page_text import read_page_text
from pianold.ingest.plan_toml import PlanSpec, read_plan_toml
from pianold.ingest.records import ElementRecord, Level, PlanRecord, Table
from pianold.ingest.wdt_csv import read_wdt_csv

READERS = {"page-text": read_page_text, "wdt-csv": read_wdt_csv}

__all__ = [
    "ElementRecord", "Level", "LinkRecord", "Location", "PlanRecord", "PlanSpec", "Problem", "SourceError", "Table",
    "check_links", "load_plan", "parent_code", "read_page_text", "read_plan_toml", "read_wdt_csv", "READERS",
]


def load_plan(folder: Path) -> PlanRecord:
    """Read a plan folder (plan.toml and the tables it lists) into a checked PlanRecord."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(Problem(Location(folder), "plan folder not found"))
    spec = read_plan_toml(folder / "plan.toml")
    tables = []
    problems: list[Problem] = []
    for table in spec.tables:
        try:
            tables.append(READERS[table.format](table.file, spec.levels, table.axis))
        except SourceError as err:
            problems.extend(err.problems)
    if problems:
        raise SourceError(problems)
    plan = assemble(spec, tables)
    links = folder / LINKS_FILE
    if links.exists() or links.is_symlink():  # missing means no links; a folder or a broken link is an error
        plan.links = read_links(links, {e.code for e in plan.elements})
    return plan
