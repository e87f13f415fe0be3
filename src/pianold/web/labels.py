"""Names for things on HTML pages: Italian first, English where a label exists."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, VOID

from pianold.catalog import CATALOG_PREFIXES, FILE_TYPE, FREQUENCY, IANA, LANGUAGE, SPDX, VCARD
from pianold.vocab import ADMSAPIT, CLV, COV, DCATAPIT, ELI, L0, PREFIXES, TI, VANN

# Classes of resources outside the psm: ontology, in the order a page names a resource's kind by
# (the first of its types found here).
CLASSES = {
    SKOS.Concept: ("concetto SKOS", "SKOS concept"), SKOS.ConceptScheme: ("schema di concetti SKOS", "SKOS concept scheme"),
    TI.TimeInterval: ("intervallo di tempo", "time interval"),
    COV.PublicOrganization: ("organizzazione pubblica", "public organisation"),
    DCAT.Catalog: ("catalogo", "catalogue"), DCAT.Dataset: ("dataset", "dataset"),
    DCAT.DataService: ("servizio di dati", "data service"), DCAT.Distribution: ("distribuzione", "distribution"),
    ELI.LegalResource: ("atto giuridico", "legal resource"), CLV.Identifier: ("identificativo", "identifier"),
    DCTERMS.PeriodOfTime: ("periodo", "period of time"),
    DCTERMS.Location: ("luogo", "location"), DCTERMS.LicenseDocument: ("licenza", "licence"),
    DCTERMS.Standard: ("standard", "standard"), DCTERMS.MediaTypeOrExtent: ("formato", "format"),
    VOID.Linkset: ("insieme di collegamenti", "linkset"), VOID.Dataset: ("dataset", "dataset"),
    FOAF.Organization: ("organizzazione", "organisation"), FOAF.Agent: ("agente", "agent"),
    FOAF.Document: ("documento", "document"), DCATAPIT.Agent: ("agente", "agent"),
    # the catalogue's contact point (dcatapit:Organization, vcard:Organization, vcard:Kind) and checksums
    VCARD.Kind: ("punto di contatto", "contact point"), DCATAPIT.Organization: ("organizzazione", "organisation"),
    VCARD.Organization: ("organizzazione", "organisation"), SPDX.Checksum: ("somma di controllo", "checksum"),
    OWL.FunctionalProperty: ("proprietà funzionale", "functional property"),
}
# Values of the authority tables the catalogue names by IRI only (its records carry no labels for them).
_FREQUENCIES = {
    "ANNUAL": ("annuale", "annual"), "ANNUAL_2": ("due volte l'anno", "semiannual"), "ANNUAL_3": ("tre volte l'anno", "three times a year"),
    "BIENNIAL": ("biennale", "biennial"), "BIMONTHLY": ("bimestrale", "bimonthly"), "BIWEEKLY": ("quindicinale", "biweekly"),
    "CONT": ("continuo", "continuous"), "DAILY": ("giornaliero", "daily"), "IRREG": ("irregolare", "irregular"),
    "MONTHLY": ("mensile", "monthly"), "NEVER": ("mai", "never"), "QUARTERLY": ("trimestrale", "quarterly"),
    "SEMIANNUAL": ("semestrale", "semiannual"), "TRIENNIAL": ("triennale", "triennial"), "UNKNOWN": ("sconosciuta", "unknown"),
    "UPDATE_CONT": ("aggiornato di continuo", "continuously updated"), "WEEKLY": ("settimanale", "weekly"),
}
AUTHORITY = {
    **{FREQUENCY[code]: names for code, names in _FREQUENCIES.items()},
    LANGUAGE.ITA: ("italiano", "Italian"), LANGUAGE.ENG: ("inglese", "English"),
    FILE_TYPE.RDF_TURTLE: ("Turtle", "Turtle"), FILE_TYPE.JSON_LD: ("JSON-LD", "JSON-LD"), FILE_TYPE.RDF_XML: ("RDF/XML", "RDF/XML"),
    FILE_TYPE.RDF_N_TRIPLES: ("N-Triples", "N-Triples"), FILE_TYPE.RDF_N_QUADS: ("N-Quads", "N-Quads"),
    FILE_TYPE.SPARQLQ: ("interrogazione SPARQL", "SPARQL query"),
    SPDX.checksumAlgorithm_sha256: ("SHA-256", "SHA-256"),
}
# Properties and classes outside the psm: ontology (whose own labels come from the ontology).
KNOWN = {
    RDF.type: ("tipo", "type"), RDFS.label: ("etichetta", "label"), RDFS.comment: ("commento", "comment"),
    RDFS.subClassOf: ("sottoclasse di", "subclass of"), RDFS.subPropertyOf: ("sottoproprietà di", "subproperty of"),
    RDFS.domain: ("dominio", "domain"), RDFS.range: ("codominio", "range"), RDFS.isDefinedBy: ("definito da", "defined by"),
    RDFS.seeAlso: ("vedi anche", "see also"),
    SKOS.prefLabel: ("titolo", "label"), SKOS.notation: ("codice", "code"), SKOS.broader: ("fa parte di", "broader"),
    SKOS.narrower: ("comprende", "narrower"), SKOS.inScheme: ("piano", "in scheme"),
    SKOS.topConceptOf: ("asse di", "top concept of"), SKOS.hasTopConcept: ("assi", "top concepts"),
    SKOS.closeMatch: ("corrisponde a", "close match"), SKOS.relatedMatch: ("collegato a", "related match"),
    DCTERMS.identifier: ("identificativo", "identifier"), DCTERMS.title: ("titolo", "title"),
    DCTERMS.description: ("descrizione", "description"), DCTERMS.isPartOf: ("parte di", "is part of"),
    DCTERMS.hasPart: ("contiene", "has part"), DCTERMS.publisher: ("editore", "publisher"),
    DCTERMS.spatial: ("territorio", "spatial coverage"), DCTERMS.license: ("licenza", "licence"),
    DCTERMS.source: ("fonte", "source"), DCTERMS.issued: ("pubblicato il", "issued"),
    DCTERMS.dateAccepted: ("adottato nel", "adopted in"), DCTERMS.subject: ("argomento", "subject"),
    DCTERMS.modified: ("modificato", "modified"), DCTERMS.creator: ("autore", "creator"),
    DCTERMS.rightsHolder: ("titolare", "rights holder"), DCTERMS.language: ("lingua", "language"),
    DCTERMS.accrualPeriodicity: ("frequenza di aggiornamento", "update frequency"),
    DCTERMS.relation: ("relazione", "relation"), DCTERMS.format: ("formato", "format"),
    PROV.wasDerivedFrom: ("derivato da", "derived from"), PROV.wasAttributedTo: ("attribuito a", "attributed to"),
    FOAF.page: ("pagina", "page"), FOAF.homepage: ("sito web", "homepage"), FOAF.name: ("nome", "name"),
    L0.name: ("nome", "name"), L0.description: ("descrizione", "description"),
    TI.hasTemporalCoverage: ("periodo di validità", "period"), TI.startTime: ("inizio", "start"),
    TI.endTime: ("fine", "end"), COV.IPAcode: ("codice IPA", "IPA code"),
    OWL.Ontology: ("ontologia", "ontology"), OWL.Class: ("classe", "class"), OWL.ObjectProperty: ("proprietà", "object property"),
    OWL.DatatypeProperty: ("proprietà di dati", "datatype property"), OWL.versionIRI: ("IRI di versione", "version IRI"),
    OWL.versionInfo: ("versione", "version"), DCAT.theme: ("tema", "theme"), DCAT.keyword: ("parola chiave", "keyword"),
    DCAT.distribution: ("distribuzione", "distribution"), DCAT.landingPage: ("pagina di accesso", "landing page"),
    DCAT.contactPoint: ("punto di contatto", "contact point"), DCAT.accessURL: ("indirizzo di accesso", "access URL"),
    DCAT.downloadURL: ("indirizzo per scaricare", "download URL"), DCAT.mediaType: ("tipo di file", "media type"),
    DCAT.byteSize: ("dimensione in byte", "byte size"), DCAT.dataset: ("dataset", "dataset"),
    DCAT.service: ("servizio", "service"), DCAT.servesDataset: ("dataset servito", "serves dataset"), DCAT.endpointURL: ("indirizzo dell'endpoint", "endpoint URL"),
    DCAT.accessService: ("servizio di accesso", "access service"), DCAT.startDate: ("data di inizio", "start date"),
    DCAT.endDate: ("data di fine", "end date"), DCTERMS.conformsTo: ("conforme a", "conforms to"),
    DCTERMS.temporal: ("copertura temporale", "temporal coverage"),
    VOID.triples: ("triple", "triples"), VOID.entities: ("entità", "entities"), VOID.vocabulary: ("vocabolario", "vocabulary"),
    VOID.sparqlEndpoint: ("endpoint SPARQL", "SPARQL endpoint"), VOID.dataDump: ("file completo", "data dump"),
    VOID.uriSpace: ("spazio degli IRI", "URI space"), VOID.subset: ("sottoinsieme", "subset"),
    VOID.classPartition: ("partizione per classe", "class partition"),
    VOID.propertyPartition: ("partizione per proprietà", "property partition"), VOID.distinctSubjects: ("soggetti distinti", "distinct subjects"),
    VOID.distinctObjects: ("oggetti distinti", "distinct objects"), VOID.linkPredicate: ("proprietà dei collegamenti", "link predicate"),
    VOID.target: ("insieme collegato", "target"), VOID.rootResource: ("risorsa radice", "root resource"),
    VOID["class"]: ("classe", "class"), VOID.property: ("proprietà", "property"), VOID.classes: ("classi", "classes"),
    VOID.properties: ("proprietà", "properties"),
    VOID.subjectsTarget: ("insieme dei soggetti", "subjects target"), VOID.objectsTarget: ("insieme degli oggetti", "objects target"),
    VCARD.fn: ("nome", "formatted name"), VCARD.hasEmail: ("posta elettronica", "email"), VCARD.hasURL: ("sito web", "website"),
    SPDX.checksum: ("somma di controllo", "checksum"), SPDX.algorithm: ("algoritmo", "algorithm"),
    SPDX.checksumValue: ("valore", "checksum value"), DCAT.themeTaxonomy: ("tassonomia dei temi", "theme taxonomy"),
    DCAT.endpointDescription: ("descrizione dell'endpoint", "endpoint description"),
    DCATAPIT.startDate: ("data di inizio", "start date"), DCATAPIT.endDate: ("data di fine", "end date"),
    CLV.hasIdentifier: ("identificativo", "identifier"), CLV.identifierType: ("tipo di identificativo", "identifier type"),
    L0.identifier: ("identificativo", "identifier"), ELI.passed_by: ("approvato da", "passed by"),
    OWL.inverseOf: ("inversa di", "inverse of"), ADMSAPIT.acronym: ("acronimo", "acronym"), ADMSAPIT.prefix: ("prefisso", "prefix"),
    ADMSAPIT.hasSemanticAssetDistribution: ("distribuzione dell'asset semantico", "semantic asset distribution"),
    VANN.preferredNamespacePrefix: ("prefisso preferito", "preferred namespace prefix"),
    VANN.preferredNamespaceUri: ("namespace preferito", "preferred namespace URI"),
    **CLASSES,
    **AUTHORITY,
}
KINDS = tuple(CLASSES)

LABEL_PROPERTIES = (SKOS.prefLabel, RDFS.label, L0.name, DCTERMS.title, FOAF.name, VCARD.fn)


DISPLAY_PREFIXES = {**PREFIXES, **CATALOG_PREFIXES}


def short(iri: str) -> str:
    for prefix, ns in DISPLAY_PREFIXES.items():
        if iri.startswith(str(ns)) and len(iri) > len(str(ns)):
            return f"{prefix}:{iri[len(str(ns)):]}"
    return iri


def literal_in(graph: Graph, node, props=LABEL_PROPERTIES, lang: str = "it") -> Literal | None:
    for prop in props:
        values = list(graph.objects(node, prop))
        for value in values:
            if isinstance(value, Literal) and value.language == lang:
                return value
    if lang == "it":
        for prop in props:
            for value in graph.objects(node, prop):
                if isinstance(value, Literal) and value.language in (None, ""):
                    return value
    return None


class Namer:
    """Label lookups for one page: the page's graph first, then `more` (labels of the resources it
    links to that its graph does not carry), then the ontology's term labels."""

    def __init__(self, graph: Graph, term_labels: dict[str, dict[str, str]], more: Graph | None = None):
        self.graph = graph
        self.terms = term_labels
        self.more = more if more is not None else Graph()

    def it(self, node) -> str:
        named = self.named(node)
        if named is not None:
            return named
        notation = self.graph.value(node, SKOS.notation)
        return str(notation) if notation is not None else short(str(node))

    def named(self, node) -> str | None:
        """The Italian name of `node` if it has one (a label, a term's or a known one), else None."""
        label = literal_in(self.graph, node)
        if label is None:
            label = literal_in(self.more, node)
        if label is not None:
            return str(label)
        if str(node) in self.terms:
            return self.terms[str(node)].get("it") or next(iter(self.terms[str(node)].values()))
        if isinstance(node, URIRef) and node in KNOWN:
            return KNOWN[node][0]
        return _media_type(node)

    def en(self, node) -> str | None:
        label = literal_in(self.graph, node, lang="en")
        if label is None and literal_in(self.graph, node) is None:
            label = literal_in(self.more, node, lang="en")
        if label is not None:
            return str(label)
        if str(node) in self.terms:
            return self.terms[str(node)].get("en")
        if isinstance(node, URIRef) and node in KNOWN:
            return KNOWN[node][1]
        return _media_type(node)


def _media_type(node) -> str | None:
    """An IANA media type's IRI (dcat:mediaType) is named by the type itself: text/turtle."""
    iri = str(node)
    return iri[len(str(IANA)):] if isinstance(node, URIRef) and iri.startswith(str(IANA)) and len(iri) > len(str(IANA)) else None
