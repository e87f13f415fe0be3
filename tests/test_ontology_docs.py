"""docs/model.md describes what pianold.model writes, and what it writes is declared by the ontology or
comes from a vocabulary docs/model.md lists: no stale table, no missing term, no undeclared psm: IRI."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD

from pianold.ingest import load_plan
from pianold.model import LINK_PREDICATES, plan_graph
from pianold.uris import Uris
from pianold.vocab import PREFIXES, PSM

from conftest import BARI, ROOT

DOC = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
ONTOLOGY = ROOT / "ontology" / "psm.ttl"
URIS = Uris("https://w3id.org/pianold")
PLANS = {"bari": BARI, "three-level": ROOT / "tests" / "fixtures" / "three-level-plan"}
CURIE = re.compile(r"(?<![\w/.#:<])([a-z][a-z0-9]*):([A-Za-z][\w]*)")


def section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:] if end == -1 else DOC[start:end]


def code_without_comments(text: str) -> str:
    """The Turtle-like code blocks of a section, with the `# …` comments cut off: what is commented out
    is not documented as produced."""
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for block in blocks for line in block.splitlines())


def prose(text: str) -> str:
    return re.sub(r"```\n.*?```", "", text, flags=re.S)


def documented_terms() -> set[str]:
    """The terms the ## Triples section shows: in its code blocks (not in their comments) or its prose."""
    text = section("Triples")
    return {f"{p}:{n}" for p, n in CURIE.findall(code_without_comments(text) + "\n" + prose(text))
            if p in PREFIXES}


def documented_prefixes() -> set[str]:
    table = section("Namespaces")
    return set(re.findall(r"`([a-z][a-z0-9]*):`", table))


def curie(iri) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(str(kv[1]))):
        if str(iri).startswith(str(ns)) and re.fullmatch(r"[A-Za-z][\w]*", str(iri)[len(str(ns)):]):
            return f"{prefix}:{str(iri)[len(str(ns)):]}"
    raise AssertionError(f"{iri} is in no namespace of pianold.vocab.PREFIXES")


@pytest.fixture(scope="module", params=sorted(PLANS))
def data(request) -> Graph:
    return plan_graph(load_plan(PLANS[request.param]), URIS)


@pytest.fixture(scope="module")
def onto() -> Graph:
    return Graph().parse(ONTOLOGY, format="turtle")


def produced_terms(g: Graph) -> set[str]:
    """Every predicate (but rdf:type, which the docs write `a`), every class (object of rdf:type) and
    every literal datatype but xsd:string (which the docs write as a plain "…") the model wrote."""
    return ({curie(p) for p in g.predicates() if p != RDF.type} | {curie(c) for c in g.objects(None, RDF.type)}
            | {curie(o.datatype) for o in g.objects() if isinstance(o, Literal) and o.datatype not in (None, XSD.string)})


def test_every_term_the_model_writes_is_documented(data):
    missing = produced_terms(data) - documented_terms()
    assert not missing, f"docs/model.md (## Triples) does not show {sorted(missing)}"


def test_every_link_predicate_is_documented():
    """links.csv may use any of LINK_PREDICATES; the docs show them all, not only those Bari uses."""
    missing = {curie(p) for p in LINK_PREDICATES.values()} - documented_terms()
    assert not missing, sorted(missing)


def test_every_documented_term_is_written_for_some_plan():
    """No stale line: what the docs show, the model writes for one of the bundled or fixture plans."""
    produced = set().union(*(produced_terms(plan_graph(load_plan(path), URIS)) for path in PLANS.values()))
    produced |= {curie(p) for p in LINK_PREDICATES.values()}
    stale = documented_terms() - produced
    assert not stale, f"docs/model.md shows terms the model never writes: {sorted(stale)}"


def test_every_namespace_the_model_uses_is_in_the_namespace_table(data):
    used = {t.split(":")[0] for t in produced_terms(data)}
    listed = documented_prefixes() | {"skos", "dct", "prov", "foaf", "owl", "rdfs", "xsd", "rdf"}
    assert used <= listed, sorted(used - listed)


def test_every_psm_iri_in_the_data_is_declared_by_the_ontology(data, onto):
    """Predicates, classes and objects (psm:levelClass values) alike."""
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    used = {n for triple in data for n in triple
            if isinstance(n, URIRef) and str(n).startswith(str(PSM)) and "/" not in str(n)[len(str(PSM)):]}
    assert used
    undeclared = {t for t in used if not any((t, RDF.type, k) in onto for k in kinds)}
    assert not undeclared, sorted(undeclared)


def test_psm_terms_are_used_as_the_ontology_declares_them(data, onto):
    """An object property gets IRIs, a datatype property literals, a class only appears as a type
    (or as a psm:levelClass value)."""
    for s, p, o in data:
        if not str(p).startswith(str(PSM)):
            continue
        if (p, RDF.type, OWL.ObjectProperty) in onto:
            assert isinstance(o, URIRef), (s, p, o)
        elif (p, RDF.type, OWL.DatatypeProperty) in onto:
            assert not isinstance(o, URIRef), (s, p, o)
