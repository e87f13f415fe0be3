"""The SPARQL 1.1 Service Description of the endpoint (sd: vocabulary)."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from pianold.vocab import ONTOLOGY_IRI

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")


def service_description(endpoint: str, manifest: dict, federated: bool = False) -> Graph:
    """federated: SERVICE may call some endpoint (the allowlist is not empty)."""
    g = Graph()
    g.bind("sd", SD)
    g.bind("formats", FORMATS)
    service = URIRef(endpoint)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, service))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federated:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                "Turtle", "N-Triples", "RDF_XML", "JSON-LD"):
        g.add((service, SD.resultFormat, FORMATS[fmt]))
    g.add((service, DCTERMS.title, Literal("Endpoint SPARQL dei Piani Strategici Metropolitani", lang="it")))
    g.add((service, DCTERMS.title, Literal("SPARQL endpoint of Italian metropolitan strategic plans", lang="en")))
    dataset = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, DCTERMS.description, Literal("L'unione dei grafi con nome: ogni tripla una volta sola.", lang="it")))
    g.add((default, DCTERMS.description, Literal("The merge of all named graphs: each triple once.", lang="en")))
    graphs = [(plan["iri"], plan["title"]) for plan in manifest.get("plans", [])]
    graphs += [(ONTOLOGY_IRI, None)] + ([(manifest["catalog"], None)] if manifest.get("catalog") else [])
    for name, title in graphs:
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        if title:
            g.add((named, DCTERMS.title, Literal(title, lang="it")))
    return g
