"""The psm: ontology: well formed, labelled in Italian and English, harvestable by schema.gov.it."""

from __future__ import annotations

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from conftest import ROOT

ONTO = URIRef("https://w3id.org/pianold/onto/psm")
PSM = "https://w3id.org/pianold/onto/psm/"


@pytest.fixture(scope="module")
def onto():
    return Graph().parse(ROOT / "ontology/psm.ttl", format="turtle")


def psm_terms(g):
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    return sorted({s for k in kinds for s in g.subjects(RDF.type, k) if str(s).startswith(PSM)})


def test_header(onto):
    assert (ONTO, RDF.type, OWL.Ontology) in onto
    assert str(onto.value(ONTO, OWL.versionIRI)).startswith(PSM + "version/")
    assert onto.value(ONTO, OWL.versionInfo) is not None


def test_every_term_labelled_and_commented_in_it_and_en(onto):
    terms = psm_terms(onto)
    assert len(terms) >= 17
    for term in terms:
        for prop in (RDFS.label, RDFS.comment):
            langs = {o.language for o in onto.objects(term, prop)}
            assert {"it", "en"} <= langs, f"{term} lacks {prop} in it/en"
        assert onto.value(term, RDFS.isDefinedBy) == ONTO


@pytest.mark.parametrize("child,parents", [
    ("StrategicPlan", ["https://w3id.org/italia/onto/l0/Description", "http://www.ontologydesignpatterns.org/ont/dul/DUL.owl#Plan"]),
    ("PlanElement", ["https://w3id.org/italia/onto/l0/Description"]),
    ("Axis", [PSM + "PlanElement"]),
    ("Objective", [PSM + "PlanElement", "https://w3id.org/italia/onto/Indicator/Purpose", "http://www.ontologydesignpatterns.org/ont/dul/DUL.owl#Goal"]),
    ("SpecificObjective", [PSM + "PlanElement", "https://w3id.org/italia/onto/Indicator/Purpose"]),
    ("Action", [PSM + "PlanElement", "http://www.ontologydesignpatterns.org/ont/dul/DUL.owl#Plan"]),
])
def test_class_alignment(onto, child, parents):
    supers = {str(o) for o in onto.objects(URIRef(PSM + child), RDFS.subClassOf)}
    assert set(parents) <= supers


@pytest.mark.parametrize("prop,parent", [
    ("adoptedBy", "http://www.w3.org/ns/prov#wasAttributedTo"),
    ("contributesTo", "http://purl.org/dc/terms/relation"),
])
def test_property_alignment(onto, prop, parent):
    assert (URIRef(PSM + prop), RDFS.subPropertyOf, URIRef(parent)) in onto


def test_terms_used_by_the_model_are_defined(onto):
    """Every psm: term that model.py writes exists in the ontology."""
    import re

    model = (ROOT / "src/pianold/model.py").read_text(encoding="utf-8")
    used = set(re.findall(r"PSM\.([A-Za-z]+)", model))
    defined = {str(t)[len(PSM):] for t in psm_terms(onto)}
    assert used and used <= defined, used - defined


def test_no_known_ontopia_typos():
    for path in [*(ROOT / "ontology").glob("*.ttl"), *(ROOT / "src/pianold").rglob("*.py"), *(ROOT / "shapes").glob("*.ttl")]:
        text = path.read_text(encoding="utf-8")
        assert "IPACode" not in text, path
        assert "TI/startDate" not in text and "ti:startDate" not in text, path


def _ndc_report(graph):
    rules = Graph().parse(ROOT / "conformance/ndc-harvest-rules/Ontologie-rules.shacl.ttl", format="turtle")
    conforms, _, text = pyshacl.validate(graph, shacl_graph=rules, advanced=True)
    return conforms, text


def test_passes_national_catalogue_rules(onto):
    conforms, text = _ndc_report(onto)
    assert conforms, text


def test_national_rules_catch_a_missing_version_iri(onto):
    broken = Graph()
    for t in onto:
        broken.add(t)
    broken.remove((ONTO, OWL.versionIRI, None))
    conforms, text = _ndc_report(broken)
    assert not conforms and "versionIRI" in text
