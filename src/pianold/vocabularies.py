"""The external vocabularies plan elements link to: UN SDG goals and targets, EuroVoc concepts.

Which SDG codes exist follows from the 2030 Agenda's structure (17 goals, 169 targets); labels,
and which EuroVoc concepts are known, come from the CSV files in vocabularies/ (with provenance),
so a plan office can add a concept without touching code. A link to an unknown target is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pianold.resources import resource_dir

SDG = "http://metadata.un.org/sdg/"
EUROVOC = "http://eurovoc.europa.eu/"

# goal -> (number of numbered targets, lettered "means of implementation" targets)
_TARGETS = {1: (5, "ab"), 2: (5, "abc"), 3: (9, "abcd"), 4: (7, "abc"), 5: (6, "abc"), 6: (6, "ab"), 7: (3, "ab"),
            8: (10, "ab"), 9: (5, "abc"), 10: (7, "abc"), 11: (7, "abc"), 12: (8, "abc"), 13: (3, "ab"),
            14: (7, "abc"), 15: (9, "abc"), 16: (10, "ab"), 17: (19, "")}
SDG_CODES = frozenset(
    [str(goal) for goal in _TARGETS]
    + [f"{goal}.{n}" for goal, (count, letters) in _TARGETS.items() for n in [*range(1, count + 1), *letters]])
_EUROVOC_ID = re.compile(r"^(?:[1-9][0-9]{0,8}|c_[0-9a-f]{8})$")  # numeric, or the newer c_xxxxxxxx ids


@dataclass(frozen=True)
class Concept:
    iri: str
    notation: str
    label_it: str | None
    label_en: str | None


@dataclass(frozen=True)
class Goal:
    number: int
    label_it: str
    label_en: str
    colour: str

    @property
    def iri(self) -> str:
        return f"{SDG}{self.number}"


def sdg_code(iri: str) -> str | None:
    """'11.1' for a target IRI, '11' for a goal IRI, None for anything else."""
    if not iri.startswith(SDG):
        return None
    code = iri[len(SDG):]
    return code if code in SDG_CODES else None


def sdg_goal(iri: str) -> int | None:
    code = sdg_code(iri)
    return int(code.split(".")[0]) if code else None


@lru_cache(maxsize=1)
def goals() -> dict[int, Goal]:
    from pianold.ingest.csv_file import read_csv  # here: the readers import this module

    rows = read_csv(resource_dir("vocabularies") / "sdg-goals.csv", ["goal", "label_it", "label_en", "colour"])
    return {int(r.text("goal")): Goal(int(r.text("goal")), r.text("label_it"), r.text("label_en"), r.text("colour")) for r in rows}


@lru_cache(maxsize=1)
def concepts() -> dict[str, Concept]:
    """Known targets with labels: SDG goals, the SDG targets and EuroVoc concepts listed in vocabularies/."""
    from pianold.ingest.csv_file import read_csv

    known = {g.iri: Concept(g.iri, str(g.number), g.label_it, g.label_en) for g in goals().values()}
    folder = resource_dir("vocabularies")
    for name in ("sdg-targets.csv", "eurovoc.csv"):
        for row in read_csv(folder / name, ["iri", "label_it", "label_en", "checked_at"], allow_empty=True):
            iri = row.text("iri")
            known[iri] = Concept(iri, iri.rsplit("/", 1)[1], row.text("label_it") or None, row.text("label_en") or None)
    return known


def concept(iri: str) -> Concept | None:
    """The known concept, or for an SDG target without a listed label one named by its code."""
    known = concepts().get(iri)
    if known is None and (code := sdg_code(iri)) is not None:
        return Concept(iri, code, f"Traguardo {code}", f"Target {code}")
    return known


def check_target(kind: str, iri: str, labelled: bool = False) -> str | None:
    """Why `iri` cannot be the target of a `kind` ("sdg" or "eurovoc") link, or None when it can.
    A EuroVoc concept pianold does not list is taken when the link gives its label (`labelled`)."""
    if kind == "sdg":
        if not iri.startswith(SDG):
            return f"an SDG link needs a UN SDG KOS IRI ({SDG}<goal> or {SDG}<goal>.<target>), not {iri!r:.80}"
        if sdg_code(iri) is None:
            return f"{iri!r:.80} is not an SDG goal (1–17) or target (e.g. 11.1, 1.a) of the 2030 Agenda"
        return None
    if kind == "eurovoc":
        if not iri.startswith(EUROVOC) or not _EUROVOC_ID.match(iri[len(EUROVOC):]):
            return f"a EuroVoc link needs a concept IRI {EUROVOC}<id> (digits, or c_ and 8 hex digits), not {iri!r:.80}"
        if iri not in concepts() and not labelled:
            return (f"EuroVoc concept {iri} is not among those pianold knows (vocabularies/eurovoc.csv): write its Italian "
                    "label, as EuroVoc gives it, in the row's label column (a fifth column: end the first line with ',label')")
        return None
    raise ValueError(kind)
