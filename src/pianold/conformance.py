"""Checks the published catalogue the way the portals that harvest it do.

- dati.gov.it: the DCAT-AP_IT SPARQL rules of the national validator (a returned row is a finding;
  `*.suspended` rules are not applied there either);
- data.europa.eu: the DCAT-AP 3.0.1 SHACL shapes with their class-range shapes;
- schema.gov.it: the SHACL rules for controlled vocabularies, which apply to each plan's SKOS scheme.

The files are the third-party originals, vendored verbatim in conformance/ (see its README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, SH

from pianold.formats import compact_iri
from pianold.resources import resource_dir
from pianold.validate import Report, validate


@dataclass(frozen=True)
class Finding:
    check: str  # "DCAT-AP_IT", "DCAT-AP 3.0.1", "NDC vocabularies"
    rule: str
    severity: str  # error / warning / info (DCAT-AP_IT), Violation / Warning / Info (SHACL)
    focus: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "Violation")


@dataclass(frozen=True)
class CatalogReport:
    findings: tuple[Finding, ...]
    rules_applied: dict[str, str]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def conforms(self) -> bool:
        return not self.errors

    def render(self) -> str:
        lines = [f"{check}: {what}" for check, what in self.rules_applied.items()]
        for f in sorted(self.findings, key=lambda f: (not f.is_error, f.check, f.rule, f.focus)):
            lines.append(f"{f.severity.upper()} [{f.check} {f.rule}] <{f.focus}>: {f.message}")
        errors, others = len(self.errors), len(self.findings) - len(self.errors)
        lines.append(f"{'OK' if not errors else 'NOT CONFORMANT'}: {errors} error(s), {others} warning(s)/note(s)")
        return "\n".join(lines)


def _folder() -> Path:
    return resource_dir("conformance")


@lru_cache(maxsize=1)
def dcat_ap_it_rules() -> tuple[tuple[str, str], ...]:
    """(rule id, query text) of every applied DCAT-AP_IT rule, in rule order."""
    rules = []
    for path in (_folder() / "dcat-ap-it-rules" / "validators" / "sparql").glob("rule-*.rq"):
        number = re.match(r"rule-(\d+)", path.name).group(1)
        rules.append((int(number), path.name.removesuffix(".rq"), path.read_text(encoding="utf-8")))
    return tuple((name, text) for _, name, text in sorted(rules))


def check_dcat_ap_it(graph: Graph) -> list[Finding]:
    findings = []
    for name, query in dcat_ap_it_rules():
        for row in graph.query(query):
            values = row.asdict()
            findings.append(Finding("DCAT-AP_IT", name, str(values.get("Rule_Severity", "error")),
                                    str(values.get("s", "")), str(values.get("Message") or values.get("Rule_Description", ""))))
    return findings


@lru_cache(maxsize=1)
def _dcat_ap_shapes() -> Graph:
    g = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        g.parse(_folder() / "dcat-ap-3.0.1" / name, format="turtle")
    # the files call DC Terms "dc:", which rdflib keeps for DC Elements: messages said "dc1:description"
    g.bind("dct", DCTERMS, override=True, replace=True)
    # ranges.ttl 3.0.1 lists 5 property shapes of dcat:DatasetShape that neither file defines;
    # pyshacl (rightly) refuses a reference to an undefined shape, so the dangling references go.
    for shape, prop in list(g.subject_objects(SH.property)):
        if (prop, None, None) not in g:
            g.remove((shape, SH.property, prop))
    return g


@lru_cache(maxsize=1)
def _ndc_vocabulary_shapes() -> Graph:
    return Graph().parse(_folder() / "ndc-harvest-rules" / "VocabolariControllati-rules.shacl.ttl", format="turtle")


def _shacl(check: str, graph: Graph, shapes: Graph) -> list[Finding]:
    report: Report = validate(graph, shapes)
    return [Finding(check, _short_shape(r.shape, shapes), r.severity, str(r.focus),
                    f"{r.message}" + (f" (path {r.path})" if r.path is not None else "") + (f" (value {r.value})" if r.value is not None else ""))
            for r in report.results]


def _short_shape(shape, shapes: Graph) -> str:
    """A shape's local name. DCAT-AP's property shapes are named by a 40-digit hash (the same one
    under several classes): theirs is the shape's own name ("byte size"). A blank property shape
    (the NDC rules') has only a random id: its node shape's name and its path ("VocabularyShape/dct:identifier")."""
    if shape is None:
        return "-"
    local = str(shape).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    if isinstance(shape, URIRef) and not re.fullmatch(r"[0-9a-f]{40}", local):
        return local
    path = shapes.value(shape, SH.path)
    name = shapes.value(shape, SH.name) or (compact_iri(str(path)) if isinstance(path, URIRef) else None)
    if isinstance(shape, BNode):
        parent = shapes.value(None, SH.property, shape)
        if isinstance(parent, URIRef):
            return f"{_short_shape(parent, shapes)}/{name or '-'}"
    return str(name) if name is not None else local


def check_catalog(published: Graph, catalog: Graph | None = None) -> CatalogReport:
    """All three checks on the published triples (catalogue, plans and ontology merged, as a
    harvester following the catalogue's links sees them) and, given the catalogue document alone
    (`catalog`), the two portals' checks on it too: dati.gov.it and data.europa.eu harvest that
    document without following its links, so a record it leaves incomplete is a finding even when a
    plan's own graph holds what is missing. Both must be plain rdflib Graphs."""
    findings = [*check_dcat_ap_it(published),
                *_shacl("DCAT-AP 3.0.1", published, _dcat_ap_shapes()),
                *_shacl("NDC vocabularies", published, _ndc_vocabulary_shapes())]
    applied = {"DCAT-AP_IT": f"{len(dcat_ap_it_rules())} SPARQL rules (suspended ones excluded)",
               "DCAT-AP 3.0.1": "dcat-ap-SHACL.ttl + ranges.ttl", "NDC vocabularies": "VocabolariControllati rules"}
    if catalog is not None:
        seen = set(findings)
        alone = [f for f in (*check_dcat_ap_it(catalog), *_shacl("DCAT-AP 3.0.1", catalog, _dcat_ap_shapes())) if f not in seen]
        findings += [Finding(f.check, f.rule, f.severity, f.focus, f"{f.message} (in the catalogue document, as the portal harvests it)")
                     for f in dict.fromkeys(alone)]
        for check in ("DCAT-AP_IT", "DCAT-AP 3.0.1"):
            applied[check] += ", on the catalogue document and on everything published"
        applied["NDC vocabularies"] += ", on everything published"
    return CatalogReport(tuple(findings), applied)
