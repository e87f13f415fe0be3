"""Namespaces used by pianold's data, in one place."""

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

ONTOLOGY_IRI = "https://w3id.org/pianold/onto/psm"
PSM = Namespace(ONTOLOGY_IRI + "/")
L0 = Namespace("https://w3id.org/italia/onto/l0/")
COV = Namespace("https://w3id.org/italia/onto/COV/")
TI = Namespace("https://w3id.org/italia/onto/TI/")
CLV = Namespace("https://w3id.org/italia/onto/CLV/")
IND = Namespace("https://w3id.org/italia/onto/Indicator/")
PROJ = Namespace("https://w3id.org/italia/onto/Project/")
DUL = Namespace("http://www.ontologydesignpatterns.org/ont/dul/DUL.owl#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
ADMSAPIT = Namespace("https://w3id.org/italia/onto/ADMS/")
VANN = Namespace("http://purl.org/vocab/vann/")
SH = Namespace("http://www.w3.org/ns/shacl#")
PROVINCES = Namespace("https://w3id.org/italia/controlled-vocabulary/territorial-classifications/provinces/")

PREFIXES = {
    "psm": PSM, "l0": L0, "cov": COV, "clv": CLV, "ti": TI, "ind": IND, "proj": PROJ, "dul": DUL, "eli": ELI,
    "dcatapit": DCATAPIT, "dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "owl": OWL, "prov": PROV,
    "admsapit": ADMSAPIT, "vann": VANN, "rdf": RDF, "rdfs": RDFS, "skos": SKOS, "xsd": XSD,
}


def bind_prefixes(graph):
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    return graph
