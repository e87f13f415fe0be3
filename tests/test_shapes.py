"""Every SHACL constraint in shapes/ is shown to fire: a graph that breaks it gets that exact violation."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from pianold.ingest import load_plan
from pianold.model import plan_graph
from pianold.uris import Uris
from pianold.validate import shapes_graph, validate
from pianold.vocab import COV, L0, PSM, TI

from conftest import BARI, ROOT

URIS = Uris("https://w3id.org/pianold")
PLAN = URIS.plan("bari-psm-2030")
AXIS5 = URIS.element("bari-psm-2030", "axis", "5")
OBJ51 = URIS.element("bari-psm-2030", "objective", "5.1")
SPEC511 = URIS.element("bari-psm-2030", "specific-objective", "5.1.1")
ACTION = URIS.element("bari-psm-2030", "action", "5.1.1.a")
ACTION_B = URIS.element("bari-psm-2030", "action", "5.1.1.b")
SPEC512 = URIS.element("bari-psm-2030", "specific-objective", "5.1.2")
PERIOD = URIS.period("bari-psm-2030")
ORG = URIS.organization("cmba")
LEVEL = URIS.level("bari-psm-2030", "action")
PSMSH = "https://w3id.org/pianold/shapes/psm#"
OTHER_PLAN = URIS.plan("altro-piano")
OTHER_LEVEL = URIS.level("altro-piano", "action")


@pytest.fixture(scope="module")
def bari_graph():
    return plan_graph(load_plan(BARI), URIS)


def _drop(*triples):
    def mutate(g):
        for t in triples:
            g.remove(t)
    return mutate


def _add(*triples):
    def mutate(g):
        for t in triples:
            g.add(t)
    return mutate


def _both(*mutations):
    def mutate(g):
        for m in mutations:
            m(g)
    return mutate


def _set(s, p, o):
    """Replace every value of (s, p) by o."""
    return _both(_drop((s, p, None)), _add((s, p, o)))


def _retype(node, old, new):
    return _both(_drop((node, RDF.type, old)), _add((node, RDF.type, new)))


def _move_child(child, old_parent, new_parent, *predicates):
    """Move the parent's side of the link (parent -> child) to another parent: the child still says old_parent."""
    return _both(*[_drop((old_parent, p, child)) for p in predicates], *[_add((new_parent, p, child)) for p in predicates])


# (constraint, focus node, result path or None, mutation)
ADOPTION, ADOPTION_BODY = URIRef(f"{PLAN}/adoption"), URIRef(f"{PLAN}/adoption-body")
ELI_PASSED_BY, FOAF_NAME = URIRef("http://data.europa.eu/eli/ontology#passed_by"), URIRef("http://xmlns.com/foaf/0.1/name")

CASES = [
    ("AdoptionAct-passedBy", ADOPTION, ELI_PASSED_BY, _drop((ADOPTION, ELI_PASSED_BY, None))),
    ("AdoptionAct-passedBy", ADOPTION, ELI_PASSED_BY, _drop((ADOPTION_BODY, RDF.type, None))),
    ("AdoptionBody-name", ADOPTION_BODY, FOAF_NAME, _set(ADOPTION_BODY, FOAF_NAME, Literal("  ", lang="it"))),
    ("AdoptionBody-name", ADOPTION_BODY, FOAF_NAME, _drop((ADOPTION_BODY, FOAF_NAME, None))),
    ("PlanElement-typePlanElement", ACTION, RDF.type, _drop((ACTION, RDF.type, PSM.PlanElement))),
    ("PlanElement-typeConcept", ACTION, RDF.type, _drop((ACTION, RDF.type, SKOS.Concept))),
    ("PlanElement-levelClass", ACTION, RDF.type, _retype(ACTION, PSM.Action, PSM.Axis)),
    ("PlanElement-levelClass", ACTION, RDF.type, _add((ACTION, RDF.type, PSM.Objective))),
    ("PlanElement-notation", ACTION, SKOS.notation, _drop((ACTION, SKOS.notation, None))),
    ("PlanElement-notation", ACTION, SKOS.notation, _add((ACTION, SKOS.notation, Literal("5.1.1.z")))),
    ("PlanElement-notation", ACTION, SKOS.notation, _both(_drop((ACTION, SKOS.notation, None)), _add((ACTION, SKOS.notation, Literal(5))))),
    ("PlanElement-identifier", ACTION, DCTERMS.identifier, _drop((ACTION, DCTERMS.identifier, None))),
    ("PlanElement-identifier", ACTION, DCTERMS.identifier, _set(ACTION, DCTERMS.identifier, Literal("5.1.1.b"))),
    ("PlanElement-identifier", ACTION, DCTERMS.identifier, _set(ACTION, DCTERMS.identifier, Literal("cmba:5.1.1.a"))),
    ("PlanElement-identifier", ACTION, DCTERMS.identifier, _add((ACTION, DCTERMS.identifier, Literal("5.1.1.b")))),
    ("PlanElement-prefLabel", ACTION, SKOS.prefLabel, _add((ACTION, SKOS.prefLabel, Literal("Un altro titolo", lang="it")))),
    ("PlanElement-prefLabelIt", ACTION, SKOS.prefLabel, _both(_drop((ACTION, SKOS.prefLabel, None)), _add((ACTION, SKOS.prefLabel, Literal("Strengthening", lang="en"))))),
    ("PlanElement-inScheme", ACTION, SKOS.inScheme, _drop((ACTION, SKOS.inScheme, None))),
    ("PlanElement-inScheme", ACTION, SKOS.inScheme, _add((ACTION, SKOS.inScheme, URIRef("https://example.org/other-plan")))),
    ("PlanElement-level", ACTION, PSM.level, _drop((ACTION, PSM.level, None))),
    ("PlanElement-broader", ACTION, SKOS.broader, _add((ACTION, SKOS.broader, URIRef("https://example.org/not-an-element")))),
    ("PlanElement-contributesTo", ACTION, PSM.contributesTo, _add((ACTION, PSM.contributesTo, URIRef("http://metadata.un.org/sdg/18")))),
    ("PlanElement-contributesTo", ACTION, PSM.contributesTo, _add((ACTION, PSM.contributesTo, Literal("11.1")))),
    ("PlanElement-contributesTo", ACTION, PSM.contributesTo, _add((ACTION, PSM.contributesTo, URIRef("http://metadata.un.org/sdg/1.9")))),
    ("PlanElement-subject", ACTION, DCTERMS.subject, _add((ACTION, DCTERMS.subject, URIRef("http://eurovoc.europa.eu/housing")))),
    ("PlanElement-matchOutsidePlan", ACTION, SKOS.closeMatch, _add((ACTION, SKOS.closeMatch, OBJ51))),
    ("PlanElement-matchOutsidePlan", ACTION, SKOS.relatedMatch, _add((ACTION, SKOS.relatedMatch, Literal("5.1")))),
    ("PlanElement-matchOutsidePlan", ACTION, SKOS.exactMatch, _add((ACTION, SKOS.exactMatch, ACTION))),
    ("PlanElement-oneParent", ACTION, None, _drop((ACTION, SKOS.broader, None))),
    ("PlanElement-oneParent", ACTION, None, _add((ACTION, SKOS.topConceptOf, PLAN))),
    # SKOS: a notation identifies one concept within its scheme (5.1.1.b renamed 5.1.1.a, identifier and all)
    ("PlanElement-uniqueNotation", ACTION, SKOS.notation, _both(
        _set(ACTION_B, SKOS.notation, Literal("5.1.1.a")), _set(ACTION_B, DCTERMS.identifier, Literal("5.1.1.a")))),
    ("PlanElement-notationPattern", ACTION, SKOS.notation, _both(_drop((ACTION, SKOS.notation, None)), _add((ACTION, SKOS.notation, Literal("5.1.1.A"))))),
    ("PlanElement-notationPrefix", ACTION, SKOS.notation, _both(_drop((ACTION, SKOS.notation, None)), _add((ACTION, SKOS.notation, Literal("5.2.1.a"))))),
    ("PlanElement-parentLevel", ACTION, SKOS.broader, _both(_drop((ACTION, SKOS.broader, None)), _add((ACTION, SKOS.broader, OBJ51)))),
    ("PlanElement-sameScheme", ACTION, SKOS.inScheme, _both(
        _add((URIRef("https://example.org/p2"), RDF.type, PSM.StrategicPlan)),
        _drop((SPEC511, SKOS.inScheme, None)),
        _add((SPEC511, SKOS.inScheme, URIRef("https://example.org/p2"))))),
    ("PlanElement-topOfOwnScheme", AXIS5, SKOS.topConceptOf, _both(
        _drop((AXIS5, SKOS.topConceptOf, None)), _add((AXIS5, SKOS.topConceptOf, URIRef("https://example.org/p2"))))),
    # dct:isPartOf agrees with skos:broader (or, at the top, skos:topConceptOf), even when dct:hasPart agrees with it
    ("PlanElement-isPartOf", ACTION, DCTERMS.isPartOf, _both(
        _set(ACTION, DCTERMS.isPartOf, OBJ51), _move_child(ACTION, SPEC511, OBJ51, DCTERMS.hasPart))),
    ("PlanElement-isPartOf", ACTION, DCTERMS.isPartOf, _drop((ACTION, DCTERMS.isPartOf, None))),
    ("PlanElement-isPartOf", AXIS5, DCTERMS.isPartOf, _drop((AXIS5, DCTERMS.isPartOf, None))),
    ("PlanElement-isPartOf", AXIS5, DCTERMS.isPartOf, _add((AXIS5, DCTERMS.isPartOf, OBJ51))),
    # each link of the hierarchy is stated both ways
    ("Hierarchy-children", SPEC512, SKOS.narrower, _move_child(ACTION, SPEC511, SPEC512, SKOS.narrower)),
    ("Hierarchy-children", SPEC511, SKOS.narrower, _drop((SPEC511, SKOS.narrower, ACTION))),
    ("Hierarchy-children", SPEC511, SKOS.narrower, _drop((ACTION, SKOS.broader, None))),
    ("Hierarchy-children", SPEC511, DCTERMS.hasPart, _drop((SPEC511, DCTERMS.hasPart, ACTION))),
    ("Hierarchy-children", OBJ51, DCTERMS.hasPart, _add((OBJ51, DCTERMS.hasPart, ACTION))),
    ("Hierarchy-children", PLAN, DCTERMS.hasPart, _drop((PLAN, DCTERMS.hasPart, AXIS5))),
    ("Hierarchy-children", PLAN, DCTERMS.hasPart, _add((PLAN, DCTERMS.hasPart, OBJ51))),
    ("StrategicPlan-topConcepts", PLAN, SKOS.hasTopConcept, _drop((PLAN, SKOS.hasTopConcept, AXIS5))),
    ("StrategicPlan-topConcepts", PLAN, SKOS.hasTopConcept, _add((PLAN, SKOS.hasTopConcept, OBJ51))),
    # names, titles, labels and codes say something
    ("Text-prefLabel", ACTION, SKOS.prefLabel, _set(ACTION, SKOS.prefLabel, Literal("", lang="it"))),
    ("Text-prefLabel", ACTION, SKOS.prefLabel, _set(ACTION, SKOS.prefLabel, Literal(" \t\n ", lang="it"))),
    ("Text-prefLabel", ACTION, SKOS.prefLabel, _add((ACTION, SKOS.prefLabel, Literal("\u00a0", lang="en")))),
    ("Text-prefLabel", PLAN, SKOS.prefLabel, _add((PLAN, SKOS.prefLabel, Literal("  ", lang="en")))),
    ("Text-prefLabel", LEVEL, SKOS.prefLabel, _set(LEVEL, SKOS.prefLabel, Literal("", lang="it"))),
    ("Text-name", ACTION, L0.name, _set(ACTION, L0.name, Literal(" ", lang="it"))),
    ("Text-name", ORG, L0.name, _set(ORG, L0.name, Literal("", lang="it"))),
    ("Text-title", PLAN, DCTERMS.title, _add((PLAN, DCTERMS.title, Literal("", lang="en")))),
    ("Text-label", ORG, RDFS.label, _set(ORG, RDFS.label, Literal("", lang="it"))),
    ("Text-label", PERIOD, RDFS.label, _set(PERIOD, RDFS.label, Literal("  "))),
    ("Text-notation", ACTION, SKOS.notation, _set(ACTION, SKOS.notation, Literal(""))),
    ("Text-identifier", PLAN, DCTERMS.identifier, _set(PLAN, DCTERMS.identifier, Literal(" "))),
    ("StrategicPlan-prefLabelIt", PLAN, SKOS.prefLabel, _drop((PLAN, SKOS.prefLabel, Literal("Piano Strategico Metropolitano – PSM BARI 20>30", lang="it")))),
    ("StrategicPlan-identifier", PLAN, DCTERMS.identifier, _drop((PLAN, DCTERMS.identifier, None))),
    ("StrategicPlan-identifierForm", PLAN, DCTERMS.identifier, _set(PLAN, DCTERMS.identifier, Literal("bari-psm-2030"))),
    ("StrategicPlan-identifierForm", PLAN, DCTERMS.identifier, _set(PLAN, DCTERMS.identifier, Literal("cmba:"))),
    ("StrategicPlan-identifierForm", PLAN, DCTERMS.identifier, _set(PLAN, DCTERMS.identifier, Literal("c_a662:bari-psm-2030"))),
    ("StrategicPlan-publisher", PLAN, DCTERMS.publisher, _drop((PLAN, DCTERMS.publisher, None))),
    ("StrategicPlan-adoptedBy", PLAN, PSM.adoptedBy, _drop((PLAN, PSM.adoptedBy, None))),
    ("StrategicPlan-period", PLAN, TI.hasTemporalCoverage, _drop((PLAN, TI.hasTemporalCoverage, None))),
    ("StrategicPlan-level", PLAN, PSM.hasLevel, _drop((PLAN, PSM.hasLevel, None))),
    ("StrategicPlan-license", PLAN, DCTERMS.license, _drop((PLAN, DCTERMS.license, None))),
    ("StrategicPlan-license", PLAN, DCTERMS.license, _both(_drop((PLAN, DCTERMS.license, None)), _add((PLAN, DCTERMS.license, Literal("CC BY 4.0"))))),
    ("StrategicPlan-conceptScheme", PLAN, None, _drop((PLAN, RDF.type, SKOS.ConceptScheme))),
    ("TimeInterval-start", PERIOD, TI.startTime, _drop((PERIOD, TI.startTime, None))),
    ("TimeInterval-start", PERIOD, TI.startTime, _both(_drop((PERIOD, TI.startTime, None)), _add((PERIOD, TI.startTime, Literal("2031-01-01", datatype=XSD.date))))),
    ("TimeInterval-end", PERIOD, TI.endTime, _both(_drop((PERIOD, TI.endTime, None)), _add((PERIOD, TI.endTime, Literal("2030"))))),
    ("PublicOrganization-ipa", ORG, COV.IPAcode, _drop((ORG, COV.IPAcode, None))),
    ("PublicOrganization-ipa", ORG, COV.IPAcode, _add((ORG, COV.IPAcode, Literal("c m b a")))),
    ("PublicOrganization-name", ORG, L0.name, _drop((ORG, L0.name, None))),
    ("Level-prefLabelIt", LEVEL, SKOS.prefLabel, _drop((LEVEL, SKOS.prefLabel, Literal("Azione", lang="it")))),
    ("Level-depth", LEVEL, PSM.depth, _drop((LEVEL, PSM.depth, None))),
    ("Level-pattern", LEVEL, PSM.notationPattern, _drop((LEVEL, PSM.notationPattern, None))),
    ("Level-inPlan", LEVEL, PSM.inPlan, _drop((LEVEL, PSM.inPlan, None))),
    # SKOS allows one skos:prefLabel per language on any resource, not only on elements
    ("StrategicPlan-prefLabel", PLAN, SKOS.prefLabel, _add((PLAN, SKOS.prefLabel, Literal("Un altro titolo", lang="it")))),
    ("Level-prefLabel", LEVEL, SKOS.prefLabel, _add((LEVEL, SKOS.prefLabel, Literal("Intervento", lang="it")))),
    # a level's class is at most one of the four generic classes (docs/model.md)
    ("Level-levelClass", LEVEL, PSM.levelClass, _set(LEVEL, PSM.levelClass, SKOS.Concept)),
    ("Level-levelClass", LEVEL, PSM.levelClass, _add((LEVEL, PSM.levelClass, PSM.Objective))),
    # psm:hasLevel and psm:inPlan (owl:inverseOf) are stated both ways; an element's level is one of its own plan's
    ("Level-hasLevel", LEVEL, PSM.inPlan, _drop((PLAN, PSM.hasLevel, LEVEL))),
    ("Level-hasLevel", LEVEL, PSM.inPlan, _add((LEVEL, PSM.inPlan, OTHER_PLAN), (OTHER_PLAN, RDF.type, PSM.StrategicPlan))),
    ("Level-elementsOfItsPlan", OTHER_LEVEL, None, _both(
        _set(ACTION, PSM.level, OTHER_LEVEL), _add((OTHER_LEVEL, RDF.type, PSM.Level), (OTHER_LEVEL, PSM.inPlan, OTHER_PLAN)))),
]


def test_bari_conforms(bari_graph):
    report = validate(bari_graph)
    assert report.conforms, report.render(bari_graph)
    assert report.results == ()


@pytest.mark.parametrize("constraint,focus,path,mutate", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_constraint_fires(bari_graph, constraint, focus, path, mutate):
    g = bari_graph.__class__()
    for t in bari_graph:
        g.add(t)
    mutate(g)
    report = validate(g)
    assert not report.conforms
    hits = [r for r in report.results if str(r.shape) == PSMSH + constraint]
    assert hits, f"expected a violation of {constraint}, got:\n{report.render(g)}"
    assert all(r.severity == "Violation" for r in hits)
    assert any(r.focus == focus and (path is None or r.path == path) for r in hits), report.render(g)
    assert hits[0].message  # every constraint explains itself


def test_sdg_pattern_names_exactly_the_goals_and_targets_of_the_2030_agenda():
    """`pianold validate FILE` takes what the build's check_target takes: the 17 goals and their 169
    targets (1.1-1.5, 1.a, 1.b, ...), not any goal.number the pattern's shape allows (1.9, 17.a)."""
    import re

    from pianold.vocabularies import SDG, SDG_CODES

    pattern = shapes_graph().value(URIRef(PSMSH + "PlanElement-contributesTo"), URIRef("http://www.w3.org/ns/shacl#pattern"))
    candidates = {str(g) for g in range(20)} | {f"{g}.{t}" for g in range(20) for t in [*map(str, range(25)), *"abcdef"]}
    accepted = {code for code in candidates if re.search(str(pattern), SDG + code)}
    assert accepted == SDG_CODES, (sorted(accepted - SDG_CODES), sorted(SDG_CODES - accepted))


def test_unique_notation_looks_up_the_code_not_every_element_of_the_plan():
    """PlanElement-uniqueNotation runs once per element (pyshacl binds $this): it must find the other
    element by the code, as the other constraints look only at the focus node's neighbours; joining
    the plan's elements first made it scan them all for each element (a 1,500-element plan took 35 s
    more to validate)."""
    import time

    from rdflib.plugins.sparql import prepareQuery

    g = Graph()
    for n in range(3000):
        element = URIRef(f"{PLAN}/action/{n}")
        g.add((element, SKOS.notation, Literal(str(n))))
        g.add((element, SKOS.inScheme, PLAN))
    shapes = shapes_graph()
    text = str(shapes.value(URIRef(PSMSH + "PlanElement-uniqueNotation"), URIRef("http://www.w3.org/ns/shacl#select")))
    ns = {"skos": SKOS, "psm": PSM, "rdf": RDF, "dct": DCTERMS}

    def per_focus(query: str) -> float:
        prepared = prepareQuery(query, initNs=ns)
        focus = [URIRef(f"{PLAN}/action/{n}") for n in range(0, 3000, 100)]
        start = time.perf_counter()
        for node in focus:
            list(g.query(prepared, initBindings={"this": node}))
        return (time.perf_counter() - start) / len(focus)

    baseline = per_focus("SELECT $this ?value WHERE { $this skos:notation ?value ; skos:inScheme ?plan }")
    assert per_focus(text) < 20 * baseline + 0.002, "the query scans the plan for each element"


def test_every_constraint_has_a_breaking_case():
    shapes = shapes_graph()
    named = {str(s) for s in shapes.subjects(RDF.type, URIRef("http://www.w3.org/ns/shacl#PropertyShape"))}
    named |= {str(s) for s in shapes.subjects(RDF.type, URIRef("http://www.w3.org/ns/shacl#SPARQLConstraint"))}
    tested = {PSMSH + c[0] for c in CASES}
    assert named - tested == set(), f"constraints without a test: {sorted(named - tested)}"


def test_report_names_focus_path_message_severity(bari_graph):
    g = bari_graph.__class__()
    for t in bari_graph:
        g.add(t)
    for prop in (SKOS.notation, DCTERMS.identifier):  # the identifier is the code
        g.remove((ACTION, prop, None))
        g.add((ACTION, prop, Literal("9.9.9.z")))
    text = validate(g).render(g)
    assert "Violation: <" + str(ACTION) + "> (9.9.9.z)" in text
    assert "path:    skos:notation" in text
    assert "psmsh:PlanElement-notationPrefix" in text
    assert text.rstrip().endswith("1 violation")


# ---------------------------------------------------------------- what the review found
# Each of these variants of the published Turtle passed `pianold validate FILE` before the shapes
# were fixed (exit 0). They are made from the built plan by removing and adding triples.

def _variant_action_typed_only_action(g):
    for t in (PSM.PlanElement, SKOS.Concept):
        g.remove((ACTION, RDF.type, t))
    g.remove((ACTION, SKOS.prefLabel, None))
    g.remove((ACTION, SKOS.broader, None))


def _variant_blank_label(text):
    def mutate(g):
        g.remove((ACTION, SKOS.prefLabel, None))
        g.add((ACTION, SKOS.prefLabel, Literal(text, lang="it")))
    return mutate


REVIEW = [
    # 1. only psm:Action (no psm:PlanElement, no skos:Concept), no label, no parent
    ("typed-only-action", _variant_action_typed_only_action,
     {"PlanElement-typePlanElement", "PlanElement-typeConcept", "PlanElement-prefLabelIt", "PlanElement-oneParent", "Hierarchy-children"}),
    # 2. an action typed psm:Axis
    ("action-typed-axis", _retype(ACTION, PSM.Action, PSM.Axis), {"PlanElement-levelClass"}),
    # 3. dct:isPartOf / dct:hasPart saying another parent than skos:broader, consistently with each other
    ("isPartOf-contradicts-broader", _both(_set(ACTION, DCTERMS.isPartOf, OBJ51), _move_child(ACTION, SPEC511, OBJ51, DCTERMS.hasPart)),
     {"PlanElement-isPartOf"}),
    #    skos:narrower on another parent than skos:broader says
    ("narrower-contradicts-broader", _move_child(ACTION, SPEC511, SPEC512, SKOS.narrower), {"Hierarchy-children"}),
    # 4. empty or blank label
    ("empty-label", _variant_blank_label(""), {"Text-prefLabel"}),
    ("blank-label", _variant_blank_label("   "), {"Text-prefLabel"}),
    # 5. the scheme lists no top concept
    ("no-hasTopConcept", _drop((PLAN, SKOS.hasTopConcept, None)), {"StrategicPlan-topConcepts"}),
    # 6. dct:identifier is not the notation
    ("identifier-not-notation", _set(ACTION, DCTERMS.identifier, Literal("5.1.1.b")), {"PlanElement-identifier"}),
]


@pytest.fixture(scope="module")
def published(built_dist):
    """The plan's graph as published: the Turtle dump of the built version."""
    return Graph().parse(built_dist.dist_dir / "current/plans/bari-psm-2030.ttl", format="turtle")


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated")  # inside rdflib's JSON-LD parser
@pytest.mark.parametrize("name", ["plans/bari-psm-2030.ttl", "plans/bari-psm-2030.nt", "plans/bari-psm-2030.rdf",
                                  "plans/bari-psm-2030.jsonld", "all.ttl"])
def test_published_files_conform(built_dist, name):
    """Every published serialisation of the plan, and the dump with the ontology and the catalogue."""
    from rdflib.util import guess_format

    g = Graph().parse(built_dist.dist_dir / "current" / name, format=guess_format(name))
    report = validate(g)
    assert report.conforms and report.results == (), report.render(g)


@pytest.mark.parametrize("name,mutate,expected", REVIEW, ids=[r[0] for r in REVIEW])
def test_review_variants_fail_validate_file(published, tmp_path, name, mutate, expected):
    from pianold.cli import main

    g = Graph()
    for t in published:
        g.add(t)
    mutate(g)
    path = tmp_path / f"{name}.ttl"
    g.serialize(path, format="turtle")
    run = CliRunner().invoke(main, ["validate", str(path)])
    assert run.exit_code == 1, run.output
    shown = {line.split("psmsh:", 1)[1].strip() for line in run.output.splitlines() if line.startswith("  shape:   psmsh:")}
    assert expected <= shown, run.output


@pytest.mark.parametrize("cls", [PSM.Axis, PSM.Objective, PSM.SpecificObjective, PSM.Action])
def test_every_level_class_is_validated_without_plan_element(bari_graph, cls):
    """No inference and no ontology at validation: an element typed only with its level's class is still checked."""
    node = next(n for n in bari_graph.subjects(RDF.type, cls))
    g = Graph()
    for t in bari_graph:
        if t[0] == node and (t[1] in (PSM.level, SKOS.notation, DCTERMS.identifier) or (t[1] == RDF.type and t[2] != cls)):
            continue  # of these, keep only `node a cls`
        g.add(t)
    report = validate(g)
    hits = {str(r.shape).split("#")[1] for r in report.results if r.focus == node}
    assert {"PlanElement-typePlanElement", "PlanElement-typeConcept", "PlanElement-level", "PlanElement-notation", "PlanElement-identifier"} <= hits, report.render(g)


def test_element_with_a_level_but_no_type_is_validated(bari_graph):
    g = Graph()
    for t in bari_graph:
        if not (t[0] == ACTION and t[1] == RDF.type):
            g.add(t)
    report = validate(g)
    assert any(r.focus == ACTION and str(r.shape) == PSMSH + "PlanElement-typePlanElement" for r in report.results), report.render(g)


def test_element_typed_with_a_declared_level_class_is_validated(bari_graph):
    """Anything typed with a class a level declares (psm:levelClass) is an element, whatever that class is."""
    g = Graph()
    for t in bari_graph:
        g.add(t)
    custom = URIRef("https://example.org/onto/Strategia")
    g.add((URIS.level("bari-psm-2030", "action"), PSM.levelClass, custom))
    stray = URIRef("https://example.org/stray")
    g.add((stray, RDF.type, custom))
    report = validate(g)
    assert any(r.focus == stray and str(r.shape) == PSMSH + "PlanElement-typePlanElement" for r in report.results), report.render(g)


# ---------------------------------------------------------------- plans of other shapes still conform

def test_three_level_fixture_conforms():
    """Asse > Strategia > Azione, with a level (Strategia) that declares no class."""
    g = plan_graph(load_plan(ROOT / "tests/fixtures/three-level-plan"), URIS)
    report = validate(g)
    assert report.conforms and report.results == (), report.render(g)


def test_generated_plan_conforms(tmp_path):
    """The plan folder bench/build_scale.py generates (the build benchmark's input), small."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from build_scale import write_plan
    finally:
        sys.path.remove(str(ROOT / "bench"))
    write_plan(tmp_path / "plan", 2000)
    g = plan_graph(load_plan(tmp_path / "plan"), URIS)
    report = validate(g)
    assert report.conforms and report.results == (), report.render(g)


def test_a_sparql_constraint_the_shacl_rules_forbid_is_refused_every_time():
    """validate.py reaches pyshacl's verdict on a constraint's text once; a refusal is not cached away."""
    from pyshacl import validate as shacl_validate
    from pyshacl.errors import ValidationFailure

    from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper

    import pianold.validate

    assert SPARQLQueryHelper.check_invalid_sparql is pianold.validate._check_once  # the patch under test

    shapes = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
            sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?o MINUS { $this ex:q ?o } }" ] .
    """, format="turtle")
    data = Graph().parse(data="<http://example.org/a> a <http://example.org/C> .", format="turtle")
    for _ in range(2):  # pyshacl hands the failure back in place of a report
        conforms, report, text = shacl_validate(data, shacl_graph=shapes, advanced=True)
        assert conforms is False and isinstance(report, ValidationFailure) and "MINUS" in text
