"""PlanRecord -> RDF. The only module that knows which ontology terms describe a plan."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, XSD

from pianold.ingest.records import ElementRecord, PlanRecord
from pianold.uris import Uris
from pianold import vocabularies
from pianold.vocab import CLV, COV, ELI, L0, PROVINCES, PSM, TI, bind_prefixes


def it(text: str) -> Literal:
    return Literal(text, lang="it")


def en(text: str) -> Literal:
    return Literal(text, lang="en")


def dataset_identifier(plan: PlanRecord) -> str:
    return f"{plan.publisher.ipa}:{plan.id}"


def plan_graph(plan: PlanRecord, uris: Uris) -> Graph:
    """The named graph of one plan."""
    g = bind_prefixes(Graph(identifier=uris.plan(plan.id)))
    p = uris.plan(plan.id)
    org = uris.organization(plan.publisher.ipa)

    g.add((p, RDF.type, PSM.StrategicPlan))
    g.add((p, RDF.type, SKOS.ConceptScheme))
    # DCAT-AP_IT's dataset identifier form, "codiceIPA:identifier": the plan is also the catalogue's dataset
    g.add((p, DCTERMS.identifier, Literal(dataset_identifier(plan))))
    for prop in (SKOS.prefLabel, DCTERMS.title, L0.name):
        g.add((p, prop, it(plan.title)))
        if plan.title_en:
            g.add((p, prop, en(plan.title_en)))
    if plan.description:
        g.add((p, DCTERMS.description, it(plan.description)))
    if plan.description_en:
        g.add((p, DCTERMS.description, en(plan.description_en)))
    g.add((p, PSM.adoptedBy, org))
    g.add((p, DCTERMS.publisher, org))
    g.add((p, DCTERMS.spatial, PROVINCES[plan.province]))
    g.add((p, DCTERMS.license, URIRef(plan.license)))
    g.add((p, PROV.wasDerivedFrom, URIRef(plan.source)))
    if plan.adoption_year:
        g.add((p, DCTERMS.dateAccepted, Literal(str(plan.adoption_year), datatype=XSD.gYear)))
    if plan.adoption_body:
        # [adoption] body: the act (not identified: its number is not always published) passed by that body
        act, body = URIRef(f"{p}/adoption"), URIRef(f"{p}/adoption-body")
        g.add((p, PSM.adoptionAct, act))
        g.add((act, RDF.type, ELI.LegalResource))
        g.add((act, RDFS.label, it("Atto di adozione del piano")))
        g.add((act, RDFS.label, en("Adoption act of the plan")))
        g.add((act, ELI.passed_by, body))
        g.add((body, RDF.type, FOAF.Agent))
        g.add((body, FOAF.name, it(plan.adoption_body)))  # DCAT-AP requires a name on every foaf:Agent
        g.add((body, RDFS.label, it(plan.adoption_body)))

    period = uris.period(plan.id)
    g.add((p, TI.hasTemporalCoverage, period))
    g.add((period, RDF.type, TI.TimeInterval))
    g.add((period, TI.startTime, Literal(plan.start, datatype=XSD.date)))
    g.add((period, TI.endTime, Literal(plan.end, datatype=XSD.date)))
    g.add((period, RDFS.label, Literal(f"{plan.start.year}–{plan.end.year}")))

    g.add((org, RDF.type, COV.PublicOrganization))
    g.add((org, COV.IPAcode, Literal(plan.publisher.ipa)))
    g.add((org, L0.name, it(plan.publisher.name)))
    g.add((org, RDFS.label, it(plan.publisher.name)))
    if plan.publisher.website:
        g.add((org, FOAF.homepage, URIRef(plan.publisher.website)))

    for level in plan.levels:
        lv = uris.level(plan.id, level.key)
        g.add((p, PSM.hasLevel, lv))
        g.add((lv, RDF.type, PSM.Level))
        g.add((lv, PSM.inPlan, p))
        g.add((lv, SKOS.prefLabel, it(level.name)))
        if level.name_en:
            g.add((lv, SKOS.prefLabel, en(level.name_en)))
        g.add((lv, PSM.depth, Literal(level.depth, datatype=XSD.positiveInteger)))
        g.add((lv, PSM.notationPattern, Literal(level.pattern)))
        if level.level_class:
            g.add((lv, PSM.levelClass, PSM[level.level_class]))

    if plan.istat:
        istat = URIRef(f"{org}/identifier/istat-{plan.istat}")
        g.add((org, CLV.hasIdentifier, istat))
        g.add((istat, RDF.type, CLV.Identifier))
        g.add((istat, L0.identifier, Literal(plan.istat)))
        g.add((istat, CLV.identifierType, it("Codice ISTAT della città metropolitana")))
        g.add((istat, RDFS.label, it(f"Codice ISTAT {plan.istat}")))

    by_code = {e.code: e for e in plan.elements}
    for element in plan.elements:
        _add_element(g, plan, element, by_code, uris)
    _add_links(g, plan, by_code, uris)
    return g


LINK_PREDICATES = {"psm:contributesTo": PSM.contributesTo, "dct:subject": DCTERMS.subject,
                   "skos:closeMatch": SKOS.closeMatch, "skos:relatedMatch": SKOS.relatedMatch,
                   "skos:exactMatch": SKOS.exactMatch}


def _add_links(g: Graph, plan: PlanRecord, by_code: dict, uris: Uris) -> None:
    """links.csv, with the labels of the targets, so a plan's graph is readable on its own."""
    for link in plan.links:
        e = by_code[link.code]
        target = URIRef(link.target)
        g.add((uris.element(plan.id, e.level.key, e.code), LINK_PREDICATES[link.property], target))
        concept = vocabularies.concept(link.target)
        if concept is not None:
            g.add((target, SKOS.notation, Literal(concept.notation)))
            if concept.label_it:
                g.add((target, SKOS.prefLabel, it(concept.label_it)))
            if concept.label_en:
                g.add((target, SKOS.prefLabel, en(concept.label_en)))
        elif link.label:
            g.add((target, SKOS.prefLabel, it(link.label)))


def _add_element(g: Graph, plan: PlanRecord, e: ElementRecord, by_code: dict, uris: Uris) -> None:
    p = uris.plan(plan.id)
    node = uris.element(plan.id, e.level.key, e.code)
    g.add((node, RDF.type, PSM.PlanElement))
    g.add((node, RDF.type, SKOS.Concept))
    if e.level.level_class:
        g.add((node, RDF.type, PSM[e.level.level_class]))
    g.add((node, PSM.level, uris.level(plan.id, e.level.key)))
    g.add((node, SKOS.notation, Literal(e.code)))
    g.add((node, DCTERMS.identifier, Literal(e.code)))
    g.add((node, SKOS.prefLabel, it(e.title)))
    g.add((node, L0.name, it(e.title)))
    g.add((node, SKOS.inScheme, p))
    if e.parent is None:
        g.add((node, SKOS.topConceptOf, p))
        g.add((p, SKOS.hasTopConcept, node))
        g.add((node, DCTERMS.isPartOf, p))
        g.add((p, DCTERMS.hasPart, node))
    else:
        parent = by_code[e.parent]
        up = uris.element(plan.id, parent.level.key, parent.code)
        g.add((node, SKOS.broader, up))
        g.add((up, SKOS.narrower, node))
        g.add((node, DCTERMS.isPartOf, up))
        g.add((up, DCTERMS.hasPart, node))
    if e.motto:
        g.add((node, PSM.motto, it(e.motto)))
    if e.description:
        g.add((node, DCTERMS.description, it(e.description)))
        g.add((node, L0.description, it(e.description)))
    if e.page:
        g.add((node, FOAF.page, URIRef(e.page)))
    if e.derived_from:
        g.add((node, PROV.wasDerivedFrom, URIRef(e.derived_from)))
        g.add((node, DCTERMS.source, URIRef(e.derived_from)))
