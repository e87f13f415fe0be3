"""Reader of a plan's links.csv: curated links from plan elements to SDG targets, EuroVoc concepts
and elements of other plans, one per row (code, property, target, rationale; label optional)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pianold.ingest.csv_file import read_csv
from pianold.ingest.errors import Location, Problem, SourceError
from pianold.vocabularies import check_target

LINKS_FILE = "links.csv"
COLUMNS = ["code", "property", "target", "rationale"]
# property as written in the file -> kind of target it takes
PROPERTIES = {"psm:contributesTo": "sdg", "dct:subject": "eurovoc",
              "skos:closeMatch": "match", "skos:relatedMatch": "match", "skos:exactMatch": "match"}
_IRI = re.compile(r'^https?://[^\s<>"{}|\\^`]+$')


@dataclass(frozen=True)
class LinkRecord:
    code: str  # of the plan element the link starts from
    property: str  # a key of PROPERTIES
    target: str  # IRI
    rationale: str
    label: str | None  # the target's label, for targets outside the known vocabularies (other plans)
    location: Location


def read_links(path: Path, codes: set[str]) -> list[LinkRecord]:
    links: list[LinkRecord] = []
    seen: dict[tuple, Location] = {}
    problems: list[Problem] = []
    for row in read_csv(path, COLUMNS, ["label"], allow_empty=True):
        try:
            code, prop, target = row.text("code"), row.text("property"), row.text("target")
            rationale, label = row.text("rationale"), row.text("label") or None
        except SourceError as err:
            problems.extend(err.problems)
            continue
        if code not in codes:
            problems.append(Problem(row.where("code"), f"no element of the plan has code {code!r:.40}"))
        if prop not in PROPERTIES:
            problems.append(Problem(row.where("property"), f"property must be one of {', '.join(PROPERTIES)}, not {prop!r:.40}"))
        elif not _IRI.match(target):
            problems.append(Problem(row.where("target"), f"target must be an http(s) IRI, not {target!r:.80}"))
        elif PROPERTIES[prop] != "match" and (why := check_target(PROPERTIES[prop], target)):
            problems.append(Problem(row.where("target"), why))
        if not rationale:
            problems.append(Problem(row.where("rationale"), "every link needs a one-line rationale"))
        key = (code, prop, target)
        if key in seen:
            problems.append(Problem(row.where(), f"the same link appears twice (first at line {seen[key].line})"))
        seen.setdefault(key, row.where())
        links.append(LinkRecord(code, prop, target, rationale, label, row.where()))
    if problems:
        raise SourceError(problems)
    return links
