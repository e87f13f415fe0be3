"""Reader of a plan's links.csv: curated links from plan elements to SDG targets, EuroVoc concepts
and elements of other plans, one per row (code, property, target, rationale; label optional)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pianold.ingest.csv_file import read_csv
from pianold.ingest.errors import Location, Problem, SourceError
from pianold.vocabularies import check_target, concept

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
    label: str | None  # the target's label, for targets outside the known vocabularies (other plans, EuroVoc concepts not listed)
    location: Location
    target_location: Location | None = None  # the target's cell


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
            problems.append(Problem(row.where("code"), f"no element of the plan has code {code!r:.40}{_close_code(code, codes)}"))
        if prop not in PROPERTIES:
            problems.append(Problem(row.where("property"), f"property must be one of {', '.join(PROPERTIES)}, not {prop!r:.40}"))
        elif not _IRI.match(target):
            problems.append(Problem(row.where("target"), f"target must be an http(s) IRI, not {target!r:.80}{_full_iri(PROPERTIES[prop], target)}"))
        elif PROPERTIES[prop] != "match" and (why := check_target(PROPERTIES[prop], target, labelled=bool(label))):
            problems.append(Problem(row.where("target"), why))
        elif label and (known := concept(target)) is not None and known.label_it and label != known.label_it:
            # pianold publishes its own label for a concept it lists: a different one here would be dropped unseen
            problems.append(Problem(row.where("label"), f"pianold lists {target} with the label {known.label_it!r} and publishes "
                                                        f"that one; leave the label empty in this row (not {label!r:.80})"))
        if not rationale:
            problems.append(Problem(row.where("rationale"), "every link needs a one-line rationale"))
        key = (code, prop, target)
        if key in seen:
            problems.append(Problem(row.where(), f"the same link appears twice (first at line {seen[key].line})"))
        seen.setdefault(key, row.where())
        links.append(LinkRecord(code, prop, target, rationale, label, row.where(), row.where("target")))
    if problems:
        raise SourceError(problems)
    return links


_SDG_CODE = re.compile(r"^(?:SDG|Goal|Obiettivo|Target|Traguardo)?\s*([0-9]{1,2}(?:\.[0-9a-z]{1,2})?)$", re.IGNORECASE)
_EUROVOC_CODE = re.compile(r"^(?:EuroVoc\s*)?([1-9][0-9]{0,8}|c_[0-9a-f]{8})$", re.IGNORECASE)


def _full_iri(kind: str, target: str) -> str:
    """'; write http://…' when a target is written as a bare SDG or EuroVoc code."""
    if kind == "sdg" and (m := _SDG_CODE.match(target)):
        return f"; for SDG {m.group(1)} write http://metadata.un.org/sdg/{m.group(1)}"
    if kind == "eurovoc" and (m := _EUROVOC_CODE.match(target)):
        return f"; for EuroVoc concept {m.group(1)} write http://eurovoc.europa.eu/{m.group(1)}"
    return ""


def _close_code(code: str, codes: set[str]) -> str:
    """'; did you mean …?' for a code that differs from one of the plan's by case, a comma for a
    dot (a spreadsheet in an Italian locale turns 5.1 into 5,1) or a typo."""
    import difflib

    repaired = code.lower().replace(",", ".").replace(" ", "")
    if repaired in codes:
        return f"; did you mean {repaired}?"
    close = difflib.get_close_matches(code, sorted(codes), n=1, cutoff=0.8)
    if close:
        return f"; did you mean {close[0]}?"
    example = max(sorted(codes), key=len) if codes else None
    return f"; the codes are those of the plan's axes and tables, e.g. {example}" if example else ""


def check_links(plans: list, uris) -> None:
    """Links whose target lies in this deployment's own IRI space (uris.base) must name an element of
    another plan built with them (not the element itself, nor one of its own plan, which the shapes
    refuse too, but without saying where): otherwise the build would publish a
    link to a page that does not exist. Targets under {base}/data/plan/ID/ for an ID built elsewhere
    are left alone: another pianold may publish under the same base (the default one is shared).
    `plans` are PlanRecords; `uris` the build's Uris."""
    ours = {plan.id: {str(uris.element(plan.id, e.level.key, e.code)): e for e in plan.elements} for plan in plans}
    problems: list[Problem] = []
    # a label is published as the target's skos:prefLabel in Italian, of which SKOS allows one: two rows
    # (of one plan or two) labelling a target pianold does not list differently would publish both
    labels: dict[str, LinkRecord] = {}
    for plan in plans:
        for link in plan.links:
            if link.label and concept(link.target) is None:
                first = labels.setdefault(link.target, link)
                if first.label != link.label:
                    problems.append(Problem(link.location, f"{link.target} is labelled {first.label!r:.80} at {first.location}, "
                                                           f"here {link.label!r:.80}: give it the same label in every row"))
    for plan in plans:
        by_code = {e.code: e for e in plan.elements}
        for link in plan.links:
            if not uris.is_local(link.target):
                continue
            where = link.target_location or link.location
            element = by_code.get(link.code)
            if element is not None and link.target == str(uris.element(plan.id, element.level.key, element.code)):
                problems.append(Problem(where, f"the target is element {link.code} itself: a link must go to another element"))
                continue
            target_plan = _plan_of(link.target, uris)
            if target_plan is not None and target_plan not in ours:
                continue  # a plan this build does not publish: possibly another pianold under the same base
            if target_plan == plan.id and link.target in ours[target_plan]:
                problems.append(Problem(where, f"the target is element {ours[plan.id][link.target].code} of this same plan: "
                                               f"{link.property} links to an element of another plan"))
                continue
            if target_plan is not None and link.target in ours[target_plan]:
                target = ours[target_plan][link.target]
                if link.label and link.label != target.title:
                    # its plan publishes its title as its skos:prefLabel in Italian, and the dump of
                    # everything would hold both, where SKOS allows one per language
                    problems.append(Problem(link.location, f"{link.target} is element {target.code} of plan {target_plan}, "
                                                           f"published with its title {target.title!r:.80}; leave the label "
                                                           f"empty in this row (not {link.label!r:.80})"))
                continue
            if target_plan is None:
                what = f"{link.target} is in this site's address space ({uris.base}) but is not a plan element"
            else:
                what = (f"plan {target_plan} has no element {link.target[len(str(uris.plan(target_plan))) + 1:]!r:.60}"
                        if link.target != str(uris.plan(target_plan)) else f"{link.target} is plan {target_plan}, not one of its elements")
            problems.append(Problem(where, f"the target names nothing that is published: {what}; "
                                           "check the code and level in the address (e.g. …/action/5.1.1.a)"))
    if problems:
        raise SourceError(problems)


def _plan_of(target: str, uris) -> str | None:
    """The id of the plan a target IRI of this base lies in, if it is under {base}/data/plan/."""
    plans = f"{uris.base}/data/plan/"
    if not target.startswith(plans):
        return None
    return unquote(target[len(plans):].split("/", 1)[0]) or None
