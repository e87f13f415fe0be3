"""What every reader yields: plain records, independent of RDF."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields

from pianold.ingest.errors import Location

LEVEL_CLASSES = ("Axis", "Objective", "SpecificObjective", "Action")
# EU data-theme codes (http://publications.europa.eu/resource/authority/data-theme/…) of a strategic plan
DEFAULT_THEMES = ("GOVE", "SOCI", "REGI")


@dataclass(frozen=True)
class Level:
    key: str  # also the IRI segment: .../specific-objective/5.1.1
    name: str  # Italian, as the plan names it ("Obiettivo specifico")
    name_en: str | None
    depth: int  # 1 = top
    pattern: str  # regular expression every code at this level matches
    level_class: str | None = None  # one of LEVEL_CLASSES
    column: str | None = None  # heading of this level's column in the tables

    def matches(self, code: str) -> bool:
        return re.search(self.pattern, code) is not None


@dataclass(frozen=True)
class Cell:
    text: str
    location: Location


@dataclass(frozen=True)
class TableRow:
    """One row of an axis table: the cells of the levels below the axis, outermost first.

    The last cell is the leaf, "CODE Title" (e.g. "5.1.1.a Rafforzamento …")."""

    row_id: str
    cells: tuple[Cell, ...]
    location: Location
    link: str | None = None


@dataclass
class AxisPage:
    """What a page-text source says about its axis besides the table."""

    code: str
    title: Cell
    motto: Cell | None
    description: Cell | None


@dataclass
class Table:
    axis: str
    rows: list[TableRow]
    location: Location
    page: AxisPage | None = None
    source_url: str | None = None


@dataclass
class ElementRecord:
    code: str
    level: Level
    title: str
    location: Location
    parent: str | None = None
    motto: str | None = None
    description: str | None = None
    page: str | None = None
    derived_from: str | None = None


@dataclass(frozen=True)
class Publisher:
    name: str
    ipa: str
    website: str | None = None
    email: str | None = None  # the contact point's address in the catalogue


@dataclass(kw_only=True)
class PlanMeta:
    """What plan.toml says about a plan; shared by the checked spec and the assembled record."""

    id: str
    title: str
    title_en: str | None
    description: str | None
    description_en: str | None
    source: str
    license: str
    publisher: Publisher
    province: str
    istat: str | None
    start: dt.date
    end: dt.date
    levels: list[Level]
    keywords: list[str] = field(default_factory=list)
    adoption_body: str | None = None
    adoption_year: int | None = None
    themes: list[str] = field(default_factory=lambda: list(DEFAULT_THEMES))
    frequency: str = "IRREG"

    def meta(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(PlanMeta)}


@dataclass(kw_only=True)
class PlanRecord(PlanMeta):
    elements: list[ElementRecord]
    links: list = field(default_factory=list)  # LinkRecord (ingest/links_csv.py), from links.csv

    def level(self, depth: int) -> Level:
        return self.levels[depth - 1]

    def element(self, code: str) -> ElementRecord | None:
        return next((e for e in self.elements if e.code == code), None)
