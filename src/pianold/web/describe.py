"""The queries behind a resource's description, over any `Store` (embedded or remote)."""

from __future__ import annotations

import re

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, XSD

from pianold.store import Store
from pianold.vocab import ONTOLOGY_IRI, PSM

_IRI_OK = re.compile(r'^[^\s<>"{}|^`\\]+$')
INCOMING_LIMIT = 500
LABELS_LIMIT = 500  # IRIs whose labels one page asks for (labels_of)
LABEL_PROPS = "skos:prefLabel rdfs:label skos:notation foaf:name"  # foaf:name: of a licence, an organisation
PREFIXES = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX psm: <https://w3id.org/pianold/onto/psm/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""


def safe_iri(iri: str) -> str:
    """An IRI that can be written between <> in a query (request paths are normalised before)."""
    if not _IRI_OK.match(iri):
        raise ValueError(f"not an IRI: {iri!r}")
    return iri


def labels_of(store: Store, iris) -> Graph:
    """The literal labels (labels.LABEL_PROPERTIES) of the first LABELS_LIMIT of `iris` (in IRI order),
    in one query; an IRI a query cannot hold is left out."""
    from pianold.web.labels import LABEL_PROPERTIES

    values = []
    for iri in sorted(iris):
        try:
            values.append(f"<{safe_iri(iri)}>")
        except ValueError:
            continue
    if not values:
        return Graph()
    props = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
    return store.graph_query(f"""CONSTRUCT {{ ?s ?p ?label }} WHERE {{
        VALUES ?s {{ {" ".join(values[:LABELS_LIMIT])} }} VALUES ?p {{ {props} }}
        ?s ?p ?label FILTER(isLiteral(?label)) }}""")


def exists(store: Store, iri: str) -> bool:
    return store.ask(f"ASK {{ <{safe_iri(iri)}> ?p ?o }}")


def alias_of(store: Store, iri: str) -> str | None:
    """The described resource an IRI stands for, when the data links to the IRI but says nothing
    about it: an ontology's version IRI (owl:versionIRI) names the ontology, and a namespace IRI
    (`…/onto/psm/`, the void:vocabulary of the datasets) the resource without its last slash."""
    iri = safe_iri(iri)
    rows = store.table_query(f"SELECT ?s WHERE {{ ?s <http://www.w3.org/2002/07/owl#versionIRI> <{iri}> }} LIMIT 1")
    if rows:
        return str(rows[0]["s"])
    if iri.endswith("/") and len(iri) > 1 and exists(store, iri[:-1]):
        return iri[:-1]
    return None


# Literals of a derived integer type, by property, as the build writes them (model.py, catalog.py).
# Oxigraph stores them as xsd:integer ("1"^^xsd:positiveInteger comes back "1"^^xsd:integer), so a
# document made from the store would contradict the dumps, the ontology's range and the shapes.
PUBLISHED_DATATYPES = {PSM.depth: XSD.positiveInteger, DCAT.byteSize: XSD.nonNegativeInteger}


def as_published(graph: Graph) -> Graph:
    """`graph` with the literals of PUBLISHED_DATATYPES' properties typed as the build wrote them."""
    for prop, datatype in PUBLISHED_DATATYPES.items():
        for s, o in list(graph.subject_objects(prop)):
            if isinstance(o, Literal) and o.datatype == XSD.integer:
                graph.remove((s, prop, o))
                graph.add((s, prop, Literal(str(o), datatype=datatype)))
    return graph


def describe(store: Store, iri: str) -> Graph:
    """Own triples, labels of the resources they point at (parent, children, plan …),
    and incoming links with their subjects' labels. The ontology IRI describes the whole ontology."""
    iri = safe_iri(iri)
    if iri == ONTOLOGY_IRI:
        return as_published(store.graph_query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"))
    return as_published(store.graph_query(PREFIXES + f"""
        CONSTRUCT {{ <{iri}> ?p ?o . ?o ?lp ?label . ?s ?ip <{iri}> . ?s ?slp ?slabel . }}
        WHERE {{
          {{ <{iri}> ?p ?o .
             OPTIONAL {{ ?o ?lp ?label . VALUES ?lp {{ {LABEL_PROPS} }} }} }}
          UNION
          {{ {{ SELECT DISTINCT ?s ?ip WHERE {{ ?s ?ip <{iri}> }} LIMIT {INCOMING_LIMIT} }}
             OPTIONAL {{ ?s ?slp ?slabel . VALUES ?slp {{ {LABEL_PROPS} }} }} }}
        }}"""))


def ancestors(store: Store, iri: str) -> list[dict]:
    """The chain from the top element down to the resource's parent, outermost first."""
    rows = store.table_query(PREFIXES + f"""
        SELECT ?a ?code ?label ?depth WHERE {{
          <{safe_iri(iri)}> skos:broader+ ?a .
          ?a skos:notation ?code ; psm:level/psm:depth ?depth .
          OPTIONAL {{ ?a skos:prefLabel ?label FILTER(lang(?label) = "it") }}
        }} ORDER BY ?depth""")
    return rows


def siblings(store: Store, iri: str) -> list[dict]:
    iri = safe_iri(iri)
    return store.table_query(PREFIXES + f"""
        SELECT DISTINCT ?s ?code ?label WHERE {{
          {{ <{iri}> skos:broader ?up . ?s skos:broader ?up . }}
          UNION {{ <{iri}> skos:topConceptOf ?up . ?s skos:topConceptOf ?up . }}
          FILTER(?s != <{iri}>)
          ?s skos:notation ?code .
          OPTIONAL {{ ?s skos:prefLabel ?label FILTER(lang(?label) = "it") }}
        }}""")


def plan_elements(store: Store, plan: str) -> list[dict]:
    return store.table_query(PREFIXES + f"""
        SELECT ?e ?code ?label ?parent ?depth ?level WHERE {{
          ?e skos:inScheme <{safe_iri(plan)}> ; skos:notation ?code ; psm:level ?l .
          ?l psm:depth ?depth ; skos:prefLabel ?level FILTER(lang(?level) = "it")
          OPTIONAL {{ ?e skos:prefLabel ?label FILTER(lang(?label) = "it") }}
          OPTIONAL {{ ?e skos:broader ?parent }}
        }}""")


def term_labels(store: Store) -> dict[str, dict[str, str]]:
    """Labels of the ontology's terms by language, to name properties and classes on pages."""
    rows = store.table_query(f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?t ?label WHERE {{ GRAPH <{ONTOLOGY_IRI}> {{ ?t rdfs:label ?label }} }}""")
    labels: dict[str, dict[str, str]] = {}
    for row in rows:
        labels.setdefault(str(row["t"]), {})[row["label"].language or ""] = str(row["label"])
    return labels


def as_uri(value) -> URIRef:
    return URIRef(str(value))
