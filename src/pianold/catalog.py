"""The catalogue graph: DCAT-AP_IT + DCAT-AP 3 records and a VoID description of what a build publishes.

Every value comes from plan.toml, the ontology or the build itself (sizes and checksums of the
dumps): nothing here is typed twice. Each plan is its own dataset (the plan IRI is at once a
psm:StrategicPlan, a skos:ConceptScheme and a dcat:Dataset, as the national vocabulary catalogue
expects); the ontology is another; "everything" (all plans + ontology) is a third kind, whose
distributions are the full dumps. The catalogue lives in its own named graph, {base}/catalog.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, VOID, XSD

from pianold import __version__, vocabularies
from pianold.eu_authority import DATA_THEMES
from pianold.formats import JSONLD, NQUADS, NTRIPLES, RDFXML, TURTLE, RdfFormat, compact_iri
from pianold.ingest.records import PlanRecord
from pianold.model import dataset_identifier, en, it
from pianold.resources import resource_dir
from pianold.uris import Uris
from pianold.vocab import DCATAPIT, ONTOLOGY_IRI, PSM, bind_prefixes

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
NDC = Namespace("https://w3id.org/italia/onto/NDC/")
EU = "http://publications.europa.eu/resource/authority/"
THEME = Namespace(EU + "data-theme/")
FREQUENCY = Namespace(EU + "frequency/")
LANGUAGE = Namespace(EU + "language/")
FILE_TYPE = Namespace(EU + "file-type/")
IANA = Namespace("http://www.iana.org/assignments/media-types/")
LICENCE_TYPE_ATTRIBUTION = URIRef("http://purl.org/adms/licencetype/Attribution")
ITALIAN_LICENCES = "https://w3id.org/italia/controlled-vocabulary/licences/"
LEGACY_LICENCES = "http://dati.gov.it/onto/controlledvocabulary/License/"

# External datasets a plan links to, by the IRI space of the link targets
EXTERNAL = {
    "sdg": ("http://metadata.un.org/sdg/", "Obiettivi di sviluppo sostenibile (UN SDG)", "UN Sustainable Development Goals"),
    "eurovoc": ("http://eurovoc.europa.eu/", "EuroVoc", "EuroVoc"),
    "italia": ("https://w3id.org/italia/controlled-vocabulary/", "Vocabolari controllati OntoPiA", "OntoPiA controlled vocabularies"),
}
LINK_PROPERTIES = (PSM.contributesTo, DCTERMS.subject, SKOS.closeMatch, SKOS.relatedMatch, SKOS.exactMatch, DCTERMS.spatial)


@dataclass(frozen=True)
class VoidStats:
    """What the VoID description says of one graph, counted while the graph is in memory so the
    graph itself can be released before the dumps are written (at a million triples it is ~0.7 GB)."""

    triples: int
    entities: int  # distinct IRI subjects
    distinct_subjects: int
    distinct_objects: int
    classes: dict  # class IRI -> instances
    properties: dict  # property IRI -> triples
    links: dict  # (link property, target IRI) -> triples

    @classmethod
    def of(cls, data: Graph) -> "VoidStats":
        subjects = set(data.subjects())
        return cls(
            triples=len(data),
            entities=sum(isinstance(s, URIRef) for s in subjects),
            distinct_subjects=len(subjects),
            distinct_objects=len(set(data.objects())),
            classes=dict(Counter(data.objects(None, RDF.type))),
            properties=dict(Counter(data.predicates())),
            links=dict(Counter((prop, target) for prop in LINK_PROPERTIES for _, target in data.subject_objects(prop))),
        )


@dataclass(frozen=True)
class Dump:
    """A published file: its path in the version folder (and under {base}/dumps/) and its format."""

    name: str
    fmt: RdfFormat
    gzip: bool = False

    @property
    def content_type(self) -> str:
        return "application/gzip" if self.gzip else self.fmt.media_type


EU_FILE_TYPES = {"ttl": "RDF_TURTLE", "nt": "RDF_N_TRIPLES", "jsonld": "JSON_LD", "rdf": "RDF_XML", "nq": "RDF_N_QUADS"}
FORMAT_NAMES = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdf": "RDF/XML", "nq": "N-Quads"}


def plan_dumps(plan_id: str) -> list[Dump]:
    return _graph_dumps(f"plans/{plan_id}")


def ontology_dumps() -> list[Dump]:
    return _graph_dumps("ontology/psm")


def all_dumps() -> list[Dump]:
    return [Dump("all.nq", NQUADS), Dump("all.ttl", TURTLE), Dump("all.jsonld", JSONLD), Dump("all.nt.gz", NTRIPLES, gzip=True)]


def _graph_dumps(stem: str) -> list[Dump]:
    return [Dump(f"{stem}.ttl", TURTLE), Dump(f"{stem}.jsonld", JSONLD), Dump(f"{stem}.rdf", RDFXML),
            Dump(f"{stem}.nt", NTRIPLES), Dump(f"{stem}.nt.gz", NTRIPLES, gzip=True)]


def every_dump(plan_ids: list[str]) -> list[Dump]:
    return [*all_dumps(), *ontology_dumps(), *(d for p in plan_ids for d in plan_dumps(p))]


class CatalogUris:
    """IRIs of catalogue resources: {base}/catalog and below it."""

    def __init__(self, uris: Uris):
        self.base = uris.base
        self.catalog = URIRef(f"{uris.base}/catalog")

    def of(self, kind: str, name: str) -> URIRef:
        return URIRef(f"{self.catalog}/{kind}/{name}")

    def dump_url(self, dump: Dump) -> URIRef:
        return URIRef(f"{self.base}/dumps/{dump.name}")

    @property
    def sparql(self) -> URIRef:
        return URIRef(f"{self.base}/sparql")

    @property
    def everything(self) -> URIRef:
        return self.of("dataset", "all")

    @property
    def void(self) -> URIRef:
        return URIRef(f"{self.base}/.well-known/void")


class MixedLicences(Exception):
    """The parts of the dataset of everything are published under different licences."""

    def __init__(self, licences: dict[str, str]):
        self.licences = licences  # part (plan id, or "ontology") -> its licence
        super().__init__(", ".join(f"{part}: {licence}" for part, licence in licences.items()))


def combined_licence(plans: list[PlanRecord], ontology: Graph, chosen: str | None = None) -> str:
    """The licence of the dataset of everything: `chosen` (the combined_license setting), or the
    one licence all plans and the ontology share; MixedLicences otherwise, since declaring one
    part's licence for the whole would misstate the others' (CC0 for CC BY data)."""
    if chosen:
        return chosen
    licences = {plan.id: plan.license for plan in plans}
    licences.update({"ontology": str(o) for o in ontology.objects(URIRef(ONTOLOGY_IRI), DCTERMS.license)})
    if len(set(licences.values())) > 1:
        raise MixedLicences(licences)
    return next(iter(licences.values()))


class SeveralPublishers(Exception):
    """The plans have several publishers and none was chosen to publish the catalogue."""

    def __init__(self, publishers: dict[str, str], chosen: str | None):
        self.publishers = publishers  # IPA code -> name
        self.chosen = chosen
        super().__init__(", ".join(publishers))


def catalog_publisher(plans: list[PlanRecord], chosen: str | None = None):
    """The publisher of the catalogue and of the dataset of everything: the plans' one publisher,
    or the one `chosen` (the catalog_publisher setting, an IPA code) among several. Taking the
    first plan's would let a plan added later change the catalogue's publisher and the identifier
    of the dataset of everything, which harvesters then see as a new dataset."""
    publishers = {plan.publisher.ipa: plan.publisher for plan in plans}
    if chosen is not None and chosen in publishers:
        return publishers[chosen]
    if chosen is None and len(publishers) == 1:
        return next(iter(publishers.values()))
    raise SeveralPublishers({ipa: p.name for ipa, p in publishers.items()}, chosen)


# the prefixes the catalogue's files bind besides the common ones (vocab.PREFIXES); pages use them too
CATALOG_PREFIXES = {"vcard": VCARD, "spdx": SPDX, "void": VOID, "ndc": NDC, "adms": ADMS}


def catalog_graph(uris: Uris, plans: list[PlanRecord], stats: dict[str, VoidStats], ontology: Graph,
                  files: dict[str, dict], built: dt.datetime, modified: dict[str, dt.date] | None = None,
                  issued: dt.date | None = None, combined_license: str | None = None, publisher_ipa: str | None = None,
                  everything_triples: int | None = None) -> Graph:
    """The catalogue of one build. `stats` maps the plan and ontology IRIs to their VoID statistics;
    `files` maps dump names to {"bytes", "sha256"} and, when known, "modified" (the manifest's:
    since when the file has its content). A plan's dataset was last modified on
    `modified[plan id]` (the day its data last changed; default: the build's), and the catalogue
    first issued on `issued` (default: the build's day). The dataset of everything is offered under
    combined_licence(plans, ontology, combined_license), and the catalogue published by
    catalog_publisher(plans, publisher_ipa); it holds `everything_triples` distinct triples (void:triples)."""
    c = CatalogUris(uris)
    g = bind_prefixes(Graph(identifier=c.catalog))
    for prefix, ns in CATALOG_PREFIXES.items():
        g.bind(prefix, ns)
    day = Literal(built.date().isoformat(), datatype=XSD.date)
    modified = modified or {}
    if not plans:  # only hand-made test builds have no plan (`pianold build` needs one)
        g.add((c.catalog, RDF.type, DCAT.Catalog))
        g.add((c.catalog, DCTERMS.modified, day))
        return g
    publisher = catalog_publisher(plans, publisher_ipa)
    publisher_iri = uris.organization(publisher.ipa)

    cat = c.catalog
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, RDF.type, DCATAPIT.Catalog))
    g.add((cat, DCTERMS.title, it("Catalogo dei Piani Strategici Metropolitani")))
    g.add((cat, DCTERMS.title, en("Catalogue of Metropolitan Strategic Plans")))
    g.add((cat, DCTERMS.description, it(
        "Piani strategici metropolitani pubblicati come dati aperti collegati: "
        + "; ".join(p.title for p in plans) + ". Con l'ontologia che li descrive e l'endpoint SPARQL.")))
    g.add((cat, DCTERMS.description, en(
        "Metropolitan strategic plans published as linked open data: "
        + "; ".join(p.title_en or p.title for p in plans) + ". With the ontology describing them and a SPARQL endpoint.")))
    g.add((cat, DCTERMS.publisher, publisher_iri))
    g.add((cat, DCTERMS.modified, day))
    g.add((cat, DCTERMS.issued, Literal((issued or built.date()).isoformat(), datatype=XSD.date)))
    g.add((cat, FOAF.homepage, URIRef(f"{uris.base}/")))
    g.add((URIRef(f"{uris.base}/"), RDF.type, FOAF.Document))
    _languages(g, cat)
    g.add((cat, DCAT.themeTaxonomy, URIRef(EU + "data-theme")))
    g.add((URIRef(EU + "data-theme"), RDF.type, SKOS.ConceptScheme))
    g.add((URIRef(EU + "data-theme"), DCTERMS.title, en("Data theme")))
    g.add((cat, DCAT.service, c.of("service", "sparql")))
    g.add((cat, RDFS.seeAlso, c.void))

    _sparql_service(g, c, publisher_iri)
    agents = {}
    for plan in plans:
        agents[plan.publisher.ipa] = plan.publisher
        dataset = uris.plan(plan.id)
        g.add((cat, DCAT.dataset, dataset))
        plan_day = Literal(modified[plan.id].isoformat(), datatype=XSD.date) if plan.id in modified else day
        _plan_dataset(g, c, uris, plan, dataset, plan_day)
        _distributions(g, c, dataset, plan_dumps(plan.id), files, plan.license, plan_day,
                       f"Piano «{plan.title}»", f"plan “{plan.title_en or plan.title}”")
        _void_partitions(g, c, dataset, stats[str(dataset)], plan.id)
    for agent in agents.values():
        _agent(g, uris.organization(agent.ipa), agent.name, agent.ipa)
        _contact(g, c, agent)

    onto = URIRef(ONTOLOGY_IRI)
    g.add((cat, DCAT.dataset, onto))
    _ontology_dataset(g, c, ontology, onto, publisher, day, files)
    _void_partitions(g, c, onto, stats[ONTOLOGY_IRI], "psm")

    everything = c.everything
    g.add((cat, DCAT.dataset, everything))
    everything_licence = combined_licence(plans, ontology, combined_license)
    _everything_dataset(g, c, uris, plans, everything, publisher, day, files, everything_licence)
    if everything_triples is not None:
        g.add((everything, VOID.triples, Literal(everything_triples, datatype=XSD.integer)))
    for dataset in sorted(g.objects(cat, DCAT.dataset)):  # the endpoint holds each (a named graph) and their union
        g.add((c.of("service", "sparql"), DCAT.servesDataset, dataset))

    for license_iri in {p.license for p in plans} | set(map(str, ontology.objects(onto, DCTERMS.license))) | {everything_licence}:
        _licence(g, URIRef(license_iri))
    return g


def _languages(g: Graph, subject) -> None:
    for code in ("ITA", "ENG"):
        g.add((subject, DCTERMS.language, LANGUAGE[code]))
        g.add((LANGUAGE[code], RDF.type, DCTERMS.LinguisticSystem))


def _dataset_core(g: Graph, c: CatalogUris, dataset, *, identifier: str, publisher_iri, contact, themes,
                  frequency: str, keywords, day, version: str) -> None:
    for cls in (DCAT.Dataset, DCATAPIT.Dataset, VOID.Dataset):
        g.add((dataset, RDF.type, cls))
    g.add((dataset, DCTERMS.identifier, Literal(identifier)))
    g.add((dataset, DCTERMS.publisher, publisher_iri))
    g.add((dataset, DCTERMS.rightsHolder, publisher_iri))
    g.add((dataset, DCAT.contactPoint, contact))
    g.add((dataset, DCTERMS.modified, day))
    g.add((dataset, OWL.versionInfo, Literal(version)))
    for theme in themes:
        g.add((dataset, DCAT.theme, THEME[theme]))
        g.add((THEME[theme], RDF.type, SKOS.Concept))
        g.add((THEME[theme], SKOS.inScheme, URIRef(EU + "data-theme")))
        label_it, label_en = DATA_THEMES[theme]
        g.add((THEME[theme], SKOS.prefLabel, it(label_it)))
        g.add((THEME[theme], SKOS.prefLabel, en(label_en)))
    g.add((dataset, DCTERMS.accrualPeriodicity, FREQUENCY[frequency]))
    g.add((FREQUENCY[frequency], RDF.type, DCTERMS.Frequency))
    for keyword in keywords:
        g.add((dataset, DCAT.keyword, keyword))
    _languages(g, dataset)
    g.add((dataset, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))
    g.add((dataset, VOID.sparqlEndpoint, c.sparql))
    g.add((dataset, VOID.vocabulary, URIRef(ONTOLOGY_IRI + "/")))
    g.add((dataset, DCAT.distribution, c.of("distribution", _slug(dataset) + "-sparql")))


def _slug(iri) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _plan_dataset(g: Graph, c: CatalogUris, uris: Uris, plan: PlanRecord, dataset: URIRef, day) -> None:
    _dataset_core(g, c, dataset, identifier=dataset_identifier(plan), publisher_iri=uris.organization(plan.publisher.ipa),
                  contact=c.of("contact", plan.publisher.ipa), themes=plan.themes, frequency=plan.frequency,
                  keywords=[it(k) for k in plan.keywords] or [it(plan.title)], day=day, version=plan.id + "@" + day)
    # the title, descriptions and identifier are the plan graph's own; repeated here so the
    # catalogue document is complete on its own, as harvesters read it
    g.add((dataset, DCTERMS.title, it(plan.title)))
    if plan.title_en:
        g.add((dataset, DCTERMS.title, en(plan.title_en)))
    g.add((dataset, DCTERMS.description, it(plan.description or plan.title)))
    if plan.description_en:
        g.add((dataset, DCTERMS.description, en(plan.description_en)))
    g.add((dataset, DCAT.landingPage, URIRef(f"{dataset}.html")))
    g.add((URIRef(f"{dataset}.html"), RDF.type, FOAF.Document))
    g.add((dataset, NDC.keyConcept, Literal(plan.id)))
    _subjects(g, dataset, [plan])

    period = uris.period(plan.id)
    g.add((dataset, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    for prop in (DCAT.startDate, DCATAPIT.startDate):
        g.add((period, prop, Literal(plan.start, datatype=XSD.date)))
    for prop in (DCAT.endDate, DCATAPIT.endDate):
        g.add((period, prop, Literal(plan.end, datatype=XSD.date)))
    place = URIRef(f"https://w3id.org/italia/controlled-vocabulary/territorial-classifications/provinces/{plan.province}")
    g.add((dataset, DCTERMS.spatial, place))
    g.add((place, RDF.type, DCTERMS.Location))
    g.add((dataset, VOID.uriSpace, Literal(f"{dataset}/")))
    g.add((dataset, VOID.rootResource, dataset))


def _subjects(g: Graph, dataset, plans: list[PlanRecord]) -> None:
    """The dataset's EuroVoc subjects: those of its elements (links.csv), with their labels (pianold's
    list's, or the links' own for a concept it does not list)."""
    subjects = {link.target: link.label for plan in plans for link in plan.links if link.property == "dct:subject"}
    for iri, own_label in sorted(subjects.items()):
        _subject(g, dataset, iri, own_label)


def _subject(g: Graph, dataset, iri: str, own_label: str | None) -> None:
    """dataset dct:subject a EuroVoc concept, labelled from pianold's list (or `own_label`, a links.csv row's)."""
    concept = vocabularies.concept(iri)
    g.add((dataset, DCTERMS.subject, URIRef(iri)))
    g.add((URIRef(iri), RDF.type, SKOS.Concept))
    labels = ((concept.label_it, "it"), (concept.label_en, "en")) if concept is not None else ((own_label, "it"),)
    for label, lang in labels:
        if label:
            g.add((URIRef(iri), SKOS.prefLabel, Literal(label, lang=lang)))


def _ontology_dataset(g: Graph, c: CatalogUris, ontology: Graph, onto: URIRef, publisher, day, files) -> None:
    version = str(ontology.value(onto, OWL.versionInfo) or __version__)
    owner = ontology.value(onto, DCTERMS.publisher)
    # the ontology's own date, not the build's, for it and its distributions: its files change when it does
    day = ontology.value(onto, DCTERMS.modified) or day
    _dataset_core(g, c, onto, identifier=str(ontology.value(onto, DCTERMS.identifier)), publisher_iri=owner,
                  contact=c.of("contact", publisher.ipa), themes=[_slug(t) for t in ontology.objects(onto, DCAT.theme)],
                  frequency=_slug(ontology.value(onto, DCTERMS.accrualPeriodicity)),
                  keywords=ontology.objects(onto, DCAT.keyword), day=day, version=version)
    for prop in (DCTERMS.title, DCTERMS.description):
        for value in ontology.objects(onto, prop):
            g.add((onto, prop, value))
    for subject in sorted(ontology.objects(onto, DCTERMS.subject)):  # EuroVoc concepts, with pianold's labels
        _subject(g, onto, str(subject), None)
    g.add((onto, RDF.type, DCTERMS.Standard))
    g.add((onto, RDF.type, DCATAPIT.Standard))
    g.add((onto, DCAT.landingPage, URIRef(f"{onto}.html")))
    g.add((URIRef(f"{onto}.html"), RDF.type, FOAF.Document))
    g.add((onto, VOID.uriSpace, Literal(f"{onto}/")))
    g.add((onto, VOID.rootResource, onto))
    _agent(g, owner, str(ontology.value(owner, FOAF.name)), str(ontology.value(owner, DCTERMS.identifier)))
    license_iri = str(ontology.value(onto, DCTERMS.license))
    _distributions(g, c, onto, ontology_dumps(), files, license_iri, day, "Ontologia PSM", "PSM ontology")


def _everything_dataset(g: Graph, c: CatalogUris, uris: Uris, plans, everything, publisher, day, files, license_iri: str) -> None:
    first = plans[0]
    _dataset_core(g, c, everything, identifier=f"{publisher.ipa}:pianold-all", publisher_iri=uris.organization(publisher.ipa),
                  contact=c.of("contact", publisher.ipa), themes=list(dict.fromkeys(t for p in plans for t in p.themes)),
                  frequency=_joint_frequency(plans), keywords=[it(k) for p in plans for k in p.keywords] or [it(first.title)],
                  day=day, version=day)  # every plan's themes: it holds them all, not only the first plan's
    g.add((everything, DCTERMS.title, it("Tutti i piani strategici metropolitani e l'ontologia PSM")))
    g.add((everything, DCTERMS.title, en("All metropolitan strategic plans and the PSM ontology")))
    g.add((everything, DCTERMS.description, it(
        "Tutti i dati pubblicati in un unico file: un grafo per piano e l'ontologia (N-Quads), o la loro unione (Turtle, JSON-LD, N-Triples).")))
    g.add((everything, DCTERMS.description, en(
        "Everything published, in one file: one graph per plan and the ontology (N-Quads), or their union (Turtle, JSON-LD, N-Triples).")))
    for plan in plans:
        g.add((everything, DCTERMS.hasPart, uris.plan(plan.id)))
        g.add((everything, VOID.subset, uris.plan(plan.id)))
    g.add((everything, DCTERMS.hasPart, URIRef(ONTOLOGY_IRI)))
    g.add((everything, VOID.subset, URIRef(ONTOLOGY_IRI)))
    g.add((everything, VOID.uriSpace, Literal(f"{uris.base}/")))
    _subjects(g, everything, plans)
    _distributions(g, c, everything, all_dumps(), files, license_iri, day, "Tutti i dati", "all data")


def _joint_frequency(plans) -> str:
    """How often the dataset of everything changes: its plans' frequency when they share one;
    otherwise with each of theirs, so at no regular interval (IRREG), not the first plan's."""
    frequencies = {plan.frequency for plan in plans}
    return frequencies.pop() if len(frequencies) == 1 else "IRREG"


def _distributions(g: Graph, c: CatalogUris, dataset, dumps: list[Dump], files: dict, license_iri: str, day,
                   title_it: str, title_en: str) -> None:
    license_ref = URIRef(license_iri)
    for dump in dumps:
        info = files[dump.name]
        ext = dump.fmt.extension
        dist = c.of("distribution", dump.name.replace("/", "-").replace(".", "-"))
        url = c.dump_url(dump)
        packed = " compresso con gzip" if dump.gzip else ""
        packed_en = ", gzip-compressed" if dump.gzip else ""
        g.add((dataset, DCAT.distribution, dist))
        g.add((dataset, VOID.dataDump, url))
        for cls in (DCAT.Distribution, DCATAPIT.Distribution):
            g.add((dist, RDF.type, cls))
        g.add((dist, DCTERMS.title, it(f"{title_it} in {FORMAT_NAMES[ext]}{packed}")))
        g.add((dist, DCTERMS.title, en(f"{title_en} in {FORMAT_NAMES[ext]}{packed_en}")))
        g.add((dist, DCTERMS.description, it(f"{title_it}: file {FORMAT_NAMES[ext]}{packed}, {info['bytes']} byte.")))
        g.add((dist, DCTERMS.description, en(f"{title_en}: {FORMAT_NAMES[ext]} file{packed_en}, {info['bytes']} bytes.")))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.downloadURL, url))
        g.add((url, RDF.type, RDFS.Resource))
        fmt = FILE_TYPE[EU_FILE_TYPES[ext]]
        g.add((dist, DCTERMS["format"], fmt))
        g.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
        media = IANA[dump.fmt.media_type]
        g.add((dist, DCAT.mediaType, media))
        g.add((media, RDF.type, DCTERMS.MediaType))
        g.add((media, RDF.type, DCTERMS.MediaTypeOrExtent))
        if dump.gzip:
            packing = IANA["application/gzip"]
            g.add((dist, DCAT.compressFormat, packing))
            g.add((packing, RDF.type, DCTERMS.MediaType))
            g.add((packing, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((dist, DCAT.byteSize, Literal(str(info["bytes"]), datatype=XSD.nonNegativeInteger)))
        checksum = URIRef(f"{dist}/checksum")
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
        g.add((checksum, SPDX.checksumValue, Literal(info["sha256"], datatype=XSD.hexBinary)))
        g.add((dist, DCTERMS.license, license_ref))
        g.add((dist, DCTERMS.modified, _file_day(info, day)))
        g.add((dist, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))

    service = c.of("distribution", _slug(dataset) + "-sparql")
    for cls in (DCAT.Distribution, DCATAPIT.Distribution):
        g.add((service, RDF.type, cls))
    g.add((service, DCTERMS.title, it(f"{title_it}: endpoint SPARQL")))
    g.add((service, DCTERMS.title, en(f"{title_en}: SPARQL endpoint")))
    g.add((service, DCTERMS.description, it(f"Interrogazione SPARQL 1.1 di {title_it.lower() if title_it.islower() else title_it}.")))
    g.add((service, DCTERMS.description, en(f"SPARQL 1.1 queries over {title_en}.")))
    g.add((service, DCAT.accessURL, c.sparql))
    g.add((c.sparql, RDF.type, RDFS.Resource))
    g.add((service, DCAT.accessService, c.of("service", "sparql")))
    fmt = FILE_TYPE["SPARQLQ"]
    g.add((service, DCTERMS["format"], fmt))
    g.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
    g.add((service, DCTERMS.license, license_ref))
    g.add((service, DCTERMS.modified, day))


def _file_day(info: dict, day: Literal) -> Literal:
    """A file distribution's dct:modified: the day its file got its content (`info["modified"]`, the
    manifest's), which a change only the catalogue shows (keywords, a contact) does not move; never
    later than its dataset's `day`."""
    changed = info.get("modified")
    if changed is None:
        return day
    return min(day, Literal(changed[:10], datatype=XSD.date), key=lambda d: d.toPython())


def _sparql_service(g: Graph, c: CatalogUris, publisher_iri) -> None:
    service = c.of("service", "sparql")
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, it("Endpoint SPARQL dei Piani Strategici Metropolitani")))
    g.add((service, DCTERMS.title, en("SPARQL endpoint of Metropolitan Strategic Plans")))
    g.add((service, DCAT.endpointURL, c.sparql))
    g.add((service, DCAT.endpointDescription, c.sparql))
    protocol = URIRef("https://www.w3.org/TR/sparql11-protocol/")
    g.add((service, DCTERMS.conformsTo, protocol))
    g.add((protocol, RDF.type, DCTERMS.Standard))
    g.add((protocol, RDF.type, DCATAPIT.Standard))
    g.add((protocol, DCTERMS.identifier, Literal("SPARQL 1.1 Protocol")))
    g.add((protocol, DCTERMS.title, en("SPARQL 1.1 Protocol")))
    g.add((service, DCTERMS.publisher, publisher_iri))
    g.add((c.catalog, DCAT.service, service))


def _agent(g: Graph, iri, name: str, identifier: str) -> None:
    for cls in (DCATAPIT.Agent, FOAF.Agent):
        g.add((iri, RDF.type, cls))
    g.add((iri, FOAF.name, Literal(name)))
    g.add((iri, DCTERMS.identifier, Literal(identifier)))


def _contact(g: Graph, c: CatalogUris, publisher) -> None:
    contact = c.of("contact", publisher.ipa)
    for cls in (DCATAPIT.Organization, VCARD.Organization, VCARD.Kind):
        g.add((contact, RDF.type, cls))
    g.add((contact, VCARD.fn, Literal(publisher.name)))
    if publisher.email:
        g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{publisher.email}")))
    if publisher.website:
        g.add((contact, VCARD.hasURL, URIRef(publisher.website)))


def _licence(g: Graph, iri: URIRef) -> None:
    for cls in (DCATAPIT.LicenseDocument, DCTERMS.LicenseDocument):
        g.add((iri, RDF.type, cls))
    known = _italian_licences()
    entry = str(iri).rsplit("/", 1)[-1] if str(iri).startswith(ITALIAN_LICENCES) else None
    legacy = URIRef(LEGACY_LICENCES + entry) if entry else None
    if legacy is not None and (legacy, None, None) in known:
        for name in known.objects(legacy, FOAF.name):
            g.add((iri, FOAF.name, name))
        version = known.value(legacy, OWL.versionInfo)
        if version is not None:
            g.add((iri, OWL.versionInfo, version))
        broader = known.value(legacy, SKOS.broader)
        if broader is not None and known.value(broader, SKOS.exactMatch) is not None:
            licence_type = known.value(broader, SKOS.exactMatch)
            g.add((iri, DCTERMS.type, licence_type))
            g.add((licence_type, RDF.type, SKOS.Concept))
            for label in known.objects(broader, SKOS.prefLabel):
                g.add((licence_type, SKOS.prefLabel, label))


@lru_cache(maxsize=1)
def _italian_licences() -> Graph:
    """The national licence vocabulary (names, versions, types), vendored in conformance/."""
    return Graph().parse(resource_dir("conformance") / "dcat-ap-it-rules" / "Licenze.ttl", format="turtle")


def _void_partitions(g: Graph, c: CatalogUris, dataset, stats: VoidStats, name: str) -> None:
    g.add((dataset, VOID.triples, Literal(stats.triples, datatype=XSD.integer)))
    g.add((dataset, VOID.entities, Literal(stats.entities, datatype=XSD.integer)))
    g.add((dataset, VOID.distinctSubjects, Literal(stats.distinct_subjects, datatype=XSD.integer)))
    g.add((dataset, VOID.distinctObjects, Literal(stats.distinct_objects, datatype=XSD.integer)))
    g.add((dataset, VOID.classes, Literal(len(stats.classes), datatype=XSD.integer)))
    for cls, count in sorted(stats.classes.items()):
        part = c.of("partition", f"{name}/class/{_partition_key(cls)}")
        g.add((dataset, VOID.classPartition, part))
        g.add((part, VOID["class"], cls))
        _name_part(g, part, f"Partizione per classe {compact_iri(str(cls))}", f"Class partition {compact_iri(str(cls))}")
        g.add((part, VOID.entities, Literal(count, datatype=XSD.integer)))
    g.add((dataset, VOID.properties, Literal(len(stats.properties), datatype=XSD.integer)))
    for prop, count in sorted(stats.properties.items()):
        part = c.of("partition", f"{name}/property/{_partition_key(prop)}")
        g.add((dataset, VOID.propertyPartition, part))
        g.add((part, VOID.property, prop))
        _name_part(g, part, f"Partizione per proprietà {compact_iri(str(prop))}", f"Property partition {compact_iri(str(prop))}")
        g.add((part, VOID.triples, Literal(count, datatype=XSD.integer)))
    _linksets(g, c, dataset, stats, name)


def _name_part(g: Graph, part, name_it: str, name_en: str) -> None:
    """A VoID partition's or linkset's name, for pages and readers of the catalogue (it has no other)."""
    g.add((part, RDFS.label, it(name_it)))
    g.add((part, RDFS.label, en(name_en)))


def _partition_key(iri) -> str:
    """A readable IRI segment for a class or property: psm-Action, or a digest of an unknown IRI."""
    text = str(iri)
    compact = compact_iri(text)
    prefix, _, local = compact.partition(":")
    if local and compact != text and local.replace("_", "").replace("-", "").isalnum():
        return f"{prefix}-{local}"
    return "iri-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _linksets(g: Graph, c: CatalogUris, dataset, stats: VoidStats, name: str) -> None:
    """One void:Linkset per (link property, target dataset): SDG, EuroVoc, OntoPiA, other plans."""
    counts: Counter = Counter()
    for (prop, target), n in stats.links.items():
        key = _target_dataset(c, str(target), str(dataset))
        if key is not None:
            counts[(prop, key)] += n
    for (prop, key), count in sorted(counts.items()):
        target = _external(g, c, key) if key in EXTERNAL else URIRef(key)
        linkset = c.of("linkset", f"{name}/{_partition_key(prop)}/{_slug(target)}")
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((dataset, VOID.subset, linkset))
        g.add((linkset, VOID.subjectsTarget, dataset))
        g.add((linkset, VOID.objectsTarget, target))
        g.add((linkset, VOID.linkPredicate, prop))
        names = EXTERNAL[key][1:] if key in EXTERNAL else (compact_iri(key),) * 2
        _name_part(g, linkset, f"Collegamenti {compact_iri(str(prop))} verso {names[0]}", f"{compact_iri(str(prop))} links to {names[1]}")
        g.add((linkset, VOID.triples, Literal(count, datatype=XSD.integer)))


def _target_dataset(c: CatalogUris, target: str, dataset: str) -> str | None:
    for key, (space, *_labels) in EXTERNAL.items():
        if target.startswith(space):
            return key
    # a plan published by pianold, here or by another city (any base): its elements are under the plan's IRI
    found = _PIANOLD_PLAN.match(target)
    if found and found.group(1) != dataset:
        return found.group(1)
    return None


_PIANOLD_PLAN = re.compile(r"(https?://[^\s?#]+?/data/plan/[^/\s?#.]+)(?:/|$)")  # a plan IRI, or an element's under it


def _external(g: Graph, c: CatalogUris, key: str) -> URIRef:
    space, label_it, label_en = EXTERNAL[key]
    iri = c.of("external", key)
    g.add((iri, RDF.type, VOID.Dataset))
    g.add((iri, VOID.uriSpace, Literal(space)))
    g.add((iri, DCTERMS.title, it(label_it)))
    g.add((iri, DCTERMS.title, en(label_en)))
    return iri
