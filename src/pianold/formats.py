"""RDF serialisations pianold publishes, in one table, and how each is written."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rdflib import Dataset, Graph

from pianold.vocab import PREFIXES


@dataclass(frozen=True)
class RdfFormat:
    extension: str
    media_type: str
    rdflib_name: str


TURTLE = RdfFormat("ttl", "text/turtle", "turtle")
NTRIPLES = RdfFormat("nt", "application/n-triples", "nt")
JSONLD = RdfFormat("jsonld", "application/ld+json", "json-ld")
RDFXML = RdfFormat("rdf", "application/rdf+xml", "xml")
NQUADS = RdfFormat("nq", "application/n-quads", "nquads")
TRIG = RdfFormat("trig", "application/trig", "trig")

GRAPH_FORMATS = (TURTLE, JSONLD, RDFXML, NTRIPLES)
BY_EXTENSION = {f.extension: f for f in (*GRAPH_FORMATS, NQUADS, TRIG)}

JSONLD_CONTEXT = {"@context": {prefix: str(ns) for prefix, ns in sorted(PREFIXES.items())}}


def sorted_lines(text: str) -> bytes:
    """Canonical line-based output (N-Triples, N-Quads): sorted, so rebuilds are byte-identical."""
    lines = sorted({line for line in text.splitlines() if line.strip()})
    return ("\n".join(lines) + "\n").encode("utf-8")


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    if fmt is NTRIPLES:
        return sorted_lines(graph.serialize(format="nt"))
    if fmt is NQUADS:
        assert isinstance(graph, Dataset)
        return sorted_lines(graph.serialize(format="nquads"))
    if fmt is JSONLD:
        # The context is inlined so documents parse without fetching anything; the same
        # context is published at {base}/context.jsonld.
        data = json.loads(graph.serialize(format="json-ld", context=JSONLD_CONTEXT["@context"], auto_compact=True))
        if isinstance(data, dict) and "@graph" in data:
            data["@graph"] = sorted(data["@graph"], key=lambda n: str(n.get("@id", "")))
        return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return graph.serialize(format=fmt.rdflib_name, encoding="utf-8")
