"""The psm: ontology: well formed, labelled in Italian and English, aligned as docs/model.md says,
harvestable by the national semantic catalogue (schema.gov.it)."""

from __future__ import annotations

import re
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, XSD

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "psm.ttl"
NDC_RULES = ROOT / "conformance" / "ndc-harvest-rules" / "Ontologie-rules.shacl.ttl"

ONTO = URIRef("https://w3id.org/pianold/onto/psm")
PSM = "https://w3id.org/pianold/onto/psm/"
VERSION_IRI = URIRef(PSM + "version/0.1.0")

L0 = "https://w3id.org/italia/onto/l0/"
COV = "https://w3id.org/italia/onto/COV/"
IND = "https://w3id.org/italia/onto/Indicator/"
PROJ = "https://w3id.org/italia/onto/Project/"
DUL = "http://www.ontologydesignpatterns.org/ont/dul/DUL.owl#"
ELI = "http://data.europa.eu/eli/ontology#"

TERM_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)


@pytest.fixture(scope="module")
def onto() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def psm(name: str) -> URIRef:
    return URIRef(PSM + name)


def is_term_iri(node) -> bool:
    """A psm: term is a plain local name in the namespace (not .../version/..., .../distribution/...)."""
    return isinstance(node, URIRef) and str(node).startswith(PSM) and "/" not in str(node)[len(PSM):]


def psm_iris(g: Graph) -> set[URIRef]:
    """Every psm: term IRI mentioned anywhere in the graph, in any position."""
    return {n for triple in g for n in triple if is_term_iri(n)}


# ------------------------------------------------------------------ header


def test_file_parses_and_has_ontology_header(onto):
    assert len(onto) > 100
    assert (ONTO, RDF.type, OWL.Ontology) in onto
    assert onto.value(ONTO, OWL.versionIRI) == VERSION_IRI
    assert onto.value(ONTO, OWL.versionInfo) == Literal("0.1.0")
    assert set(onto.subjects(RDF.type, OWL.Ontology)) == {ONTO}


def test_header_titles_and_descriptions_in_it_and_en(onto):
    for prop in (DCTERMS.title, DCTERMS.description, RDFS.label):
        assert {o.language for o in onto.objects(ONTO, prop)} >= {"it", "en"}, prop


def test_header_agent_licence_and_distribution(onto):
    agent = URIRef("https://w3id.org/pianold/data/agent/pianold")
    for prop in (DCTERMS.creator, DCTERMS.publisher, DCTERMS.rightsHolder):
        assert onto.value(ONTO, prop) == agent, prop
    assert (agent, RDF.type, URIRef("http://xmlns.com/foaf/0.1/Agent")) in onto
    assert (agent, URIRef("http://xmlns.com/foaf/0.1/name"), Literal("pianold")) in onto
    assert onto.value(ONTO, DCTERMS.license) == URIRef(
        "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40")
    assert onto.value(ONTO, DCTERMS.accrualPeriodicity) == URIRef(
        "http://publications.europa.eu/resource/authority/frequency/IRREG")
    assert URIRef("http://publications.europa.eu/resource/authority/data-theme/GOVE") in set(
        onto.objects(ONTO, URIRef("http://www.w3.org/ns/dcat#theme")))
    dist = onto.value(ONTO, URIRef("https://w3id.org/italia/onto/ADMS/hasSemanticAssetDistribution"))
    assert dist is not None
    assert onto.value(dist, URIRef("http://www.w3.org/ns/dcat#downloadURL")) == URIRef(
        "https://w3id.org/pianold/onto/psm.ttl")
    assert onto.value(dist, DCTERMS.format) is not None


# ------------------------------------------------------------------ terms


def test_every_psm_term_is_declared(onto):
    """A psm: IRI used anywhere (as subject, superclass, domain, range…) is a declared class or property,
    so a misspelt term cannot slip in."""
    undeclared = {t for t in psm_iris(onto) if not any((t, RDF.type, k) in onto for k in TERM_KINDS)}
    assert not undeclared, sorted(undeclared)


def test_every_psm_term_labelled_and_commented_in_it_and_en(onto):
    terms = psm_iris(onto)
    assert {psm(n) for n in [*CLASSES, *PROPERTIES]} <= terms
    for term in sorted(terms):
        for prop in (RDFS.label, RDFS.comment):
            langs = {o.language for o in onto.objects(term, prop) if isinstance(o, Literal)}
            assert {"it", "en"} <= langs, f"{term} lacks {prop} in it and en (has {langs})"
        assert onto.value(term, RDFS.isDefinedBy) == ONTO, f"{term} lacks rdfs:isDefinedBy the ontology"


CLASSES = {
    "StrategicPlan": {L0 + "Description", DUL + "Plan"},
    "PlanElement": {L0 + "Description"},
    "Axis": {PSM + "PlanElement"},
    "Objective": {PSM + "PlanElement", IND + "Purpose", DUL + "Goal"},
    "SpecificObjective": {PSM + "PlanElement", IND + "Purpose", DUL + "Goal"},
    "Action": {PSM + "PlanElement", DUL + "Plan"},
    "Level": set(),
}


@pytest.mark.parametrize("name,parents", sorted(CLASSES.items()))
def test_class_and_its_alignment(onto, name, parents):
    assert (psm(name), RDF.type, OWL.Class) in onto
    supers = {str(o) for o in onto.objects(psm(name), RDFS.subClassOf)}
    assert parents <= supers, parents - supers


def test_specific_objective_is_not_an_objective(onto):
    """Specific objectives are a level of their own, not a kind of objective (docs/model.md)."""
    assert (psm("SpecificObjective"), RDFS.subClassOf, psm("Objective")) not in onto


# name: (kind, domain, range, superproperty)
PROPERTIES = {
    "adoptedBy": (OWL.ObjectProperty, PSM + "StrategicPlan", COV + "PublicOrganization", str(PROV.wasAttributedTo)),
    "adoptionAct": (OWL.ObjectProperty, None, ELI + "LegalResource", None),
    "hasLevel": (OWL.ObjectProperty, PSM + "StrategicPlan", PSM + "Level", None),
    "level": (OWL.ObjectProperty, PSM + "PlanElement", PSM + "Level", None),
    "levelClass": (OWL.ObjectProperty, PSM + "Level", None, None),
    "inPlan": (OWL.ObjectProperty, PSM + "Level", PSM + "StrategicPlan", None),
    "contributesTo": (OWL.ObjectProperty, PSM + "PlanElement", None, str(DCTERMS.relation)),
    "implementedBy": (OWL.ObjectProperty, PSM + "PlanElement", PROJ + "PublicInvestmentProject", None),
    "motto": (OWL.DatatypeProperty, None, str(RDF.langString), None),
    "depth": (OWL.DatatypeProperty, PSM + "Level", str(XSD.positiveInteger), None),
    "notationPattern": (OWL.DatatypeProperty, PSM + "Level", str(XSD.string), None),
}


@pytest.mark.parametrize("name,spec", sorted(PROPERTIES.items()))
def test_property_kind_domain_range_and_alignment(onto, name, spec):
    kind, domain, range_, parent = spec
    p = psm(name)
    assert (p, RDF.type, kind) in onto
    if domain is not None:
        assert onto.value(p, RDFS.domain) == URIRef(domain)
    if range_ is not None:
        assert onto.value(p, RDFS.range) == URIRef(range_)
    if parent is not None:
        assert (p, RDFS.subPropertyOf, URIRef(parent)) in onto


def test_external_superterms_are_declared_not_imported(onto):
    """Superclasses and superproperties from other vocabularies are declared minimally; nothing is imported."""
    assert not list(onto.objects(ONTO, OWL.imports))
    for s, _, o in onto.triples((None, RDFS.subClassOf, None)):
        if not str(o).startswith(PSM):
            assert (o, RDF.type, OWL.Class) in onto, o
            assert onto.value(o, RDFS.label) is None and onto.value(o, RDFS.subClassOf) is None, o
    for s, _, o in onto.triples((None, RDFS.subPropertyOf, None)):
        assert (o, RDF.type, OWL.ObjectProperty) in onto, o


# ------------------------------------------------------------------ OWL 2 DL, checked without a reasoner

RESERVED = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
            "http://www.w3.org/2002/07/owl#")
# datatypes of the reserved namespaces a datatype property may have as range (OWL 2 datatype map, RDF 1.1)
RESERVED_DATATYPES = {RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString, RDFS.Literal, OWL.real, OWL.rational}
PROPERTY_KINDS = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


def test_no_reserved_vocabulary_used_as_a_class(onto):
    """OWL 2 DL forbids rdf:, rdfs: and owl: IRIs (but owl:Thing) as classes: `rdfs:range owl:Class`
    makes the ontology OWL Full, and OWL tools drop or reject the axiom. Values that are classes
    (psm:levelClass psm:Axis) are punned individuals, which OWL 2 DL allows."""
    bad = []
    for prop in (RDFS.domain, RDFS.range, RDFS.subClassOf, OWL.equivalentClass):
        for s, o in onto.subject_objects(prop):
            if not str(o).startswith(RESERVED) or o == OWL.Thing:
                continue
            if prop == RDFS.range and (s, RDF.type, OWL.DatatypeProperty) in onto and o in RESERVED_DATATYPES:
                continue
            bad.append((s.n3(onto.namespace_manager), prop.n3(onto.namespace_manager), o.n3(onto.namespace_manager)))
    assert not bad, bad


def test_every_predicate_is_declared_with_one_property_kind(onto):
    """OWL 2 DL needs every property declared, as exactly one of object, datatype or annotation property."""
    for p in set(onto.predicates()):
        if str(p).startswith(RESERVED):
            continue
        kinds = {k for k in PROPERTY_KINDS if (p, RDF.type, k) in onto}
        assert len(kinds) == 1, (p, kinds)
    for p in set(onto.subjects(RDF.type, None)):
        kinds = {k for k in PROPERTY_KINDS if (p, RDF.type, k) in onto}
        assert len(kinds) <= 1, (p, kinds)


def test_object_properties_have_iri_values_and_datatype_properties_literals(onto):
    for s, p, o in onto:
        if (p, RDF.type, OWL.ObjectProperty) in onto:
            assert isinstance(o, URIRef), (s, p, o)
        if (p, RDF.type, OWL.DatatypeProperty) in onto:
            assert isinstance(o, Literal), (s, p, o)


def test_every_class_used_as_a_type_is_declared(onto):
    for cls in set(onto.objects(None, RDF.type)):
        if not str(cls).startswith(RESERVED):
            assert (cls, RDF.type, OWL.Class) in onto, cls


def test_terms_used_by_the_model_are_defined(onto):
    """Every psm: term that the model code writes exists in the ontology."""
    model = (ROOT / "src" / "pianold" / "model.py").read_text(encoding="utf-8")
    used = set(re.findall(r"PSM\.([A-Za-z]+)", model)) | set(re.findall(r'PSM\["([A-Za-z]+)"\]', model))
    defined = {str(t)[len(PSM):] for t in psm_iris(onto)}
    assert used and used <= defined, used - defined


def test_no_known_ontopia_typos():
    """OntoPiA spells it cov:IPAcode and ti:startTime: neither misspelling may appear in ontology/."""
    files = [p for p in (ROOT / "ontology").rglob("*") if p.is_file()]
    assert ONTOLOGY_FILE in files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "IPACode" not in text, path
        assert "startDate" not in text, path


# ------------------------------------------------------------------ national catalogue harvest rules


def ndc_report(graph: Graph) -> tuple[bool, str]:
    rules = Graph().parse(NDC_RULES, format="turtle")
    conforms, _, text = pyshacl.validate(graph, shacl_graph=rules, advanced=True)
    return conforms, text


def test_passes_national_catalogue_ontology_rules(onto):
    conforms, text = ndc_report(onto)
    assert conforms, text


def test_national_rules_catch_a_missing_version_iri(onto):
    broken = Graph()
    for triple in onto:
        broken.add(triple)
    broken.remove((ONTO, OWL.versionIRI, None))
    conforms, text = ndc_report(broken)
    assert not conforms
    assert "versionIRI" in text


def test_published_prefixes_cover_the_ontology_file():
    """The build re-serialises the ontology with pianold.vocab's prefixes only: a prefix of ontology/psm.ttl
    missing there (vann:, admsapit:) turns into full IRIs in the published psm.ttl and psm.jsonld."""
    from pianold.vocab import PREFIXES

    declared = dict(re.findall(r"^@prefix\s+([a-z0-9]+):\s+<([^>]+)>", ONTOLOGY_FILE.read_text(encoding="utf-8"), re.M))
    published = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
    missing = {p: ns for p, ns in declared.items() if published.get(p) != ns}
    assert not missing, missing
