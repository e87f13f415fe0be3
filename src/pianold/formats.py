"""RDF serialisations pianold publishes, in one table, and how each is written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
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


def sorted_ntriples(graph: Graph) -> list[bytes]:
    """A graph's N-Triples lines ("<s> <p> <o> ."), sorted and unique: rebuilds are byte-identical."""
    lines = graph.serialize(format="nt", encoding="utf-8").splitlines()  # a graph has no duplicates
    lines.sort()
    return lines[next((i for i, line in enumerate(lines) if line), len(lines)):]  # blank lines sort first


def ntriples_chunks(lines: list[bytes], size: int = 10000) -> Iterator[bytes]:
    """The N-Triples document of sorted lines, `size` lines per chunk."""
    for start in range(0, len(lines), size):
        yield b"\n".join(lines[start:start + size]) + b"\n"


def ntriples_bytes(lines: list[bytes]) -> bytes:
    return b"".join(ntriples_chunks(lines))


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")  # a view: handing out a chunk piece by piece copies nothing twice

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def ntriples_reader(lines: list[bytes], size: int = 10000) -> io.BufferedReader:
    """A binary stream of the N-Triples document of `lines`, for streaming parsers: the document
    is never joined in memory (at a million triples it is 150 MB)."""
    return io.BufferedReader(_ChunkReader(ntriples_chunks(lines, size)), buffer_size=1 << 16)


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    if fmt is NTRIPLES:
        return ntriples_bytes(sorted_ntriples(graph))
    if fmt is NQUADS:
        assert isinstance(graph, Dataset)
        return sorted_lines(graph.serialize(format="nquads"))
    if fmt is JSONLD:
        return jsonld_from_lines(sorted_ntriples(graph))
    if fmt is RDFXML:  # rdflib's RDF/XML follows its sets' order, which changes with the hash seed
        out = io.BytesIO()
        write_from_lines(sorted_ntriples(graph), fmt, out)
        return out.getvalue()
    return graph.serialize(format=fmt.rdflib_name, encoding="utf-8")


def write_from_lines(lines: list[bytes], fmt: RdfFormat, out) -> None:
    """The Turtle or RDF/XML document of sorted N-Triples lines, streamed to `out` by Oxigraph's
    writers in line order (so rebuilds are byte-identical). The lines are parsed, not read from a
    store: Oxigraph's store keeps derived integer types such as xsd:positiveInteger as xsd:integer."""
    import pyoxigraph

    writer = {TURTLE: pyoxigraph.RdfFormat.TURTLE, RDFXML: pyoxigraph.RdfFormat.RDF_XML}[fmt]
    pyoxigraph.serialize(pyoxigraph.parse(ntriples_reader(lines), format=pyoxigraph.RdfFormat.N_TRIPLES),
                         out, writer, prefixes={k: str(v) for k, v in PREFIXES.items()})


_CONTEXT = JSONLD_CONTEXT["@context"]
_BY_LENGTH = sorted(_CONTEXT.items(), key=lambda kv: -len(kv[1]))
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def compact_iri(iri: str) -> str:
    """prefix:local with the longest matching published prefix, or the IRI itself."""
    for prefix, ns in _BY_LENGTH:
        if iri.startswith(ns) and len(iri) > len(ns) and ":" not in iri[len(ns):]:
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def jsonld_from_lines(lines: list[bytes]) -> bytes:
    return b"".join(jsonld_chunks(lines))


def jsonld_chunks(lines: list[bytes]) -> Iterator[bytes]:
    """JSON-LD 1.1 of sorted N-Triples lines: one node object per subject in subject order, compact
    IRIs from the inline @context (the one published at {base}/dumps/context.jsonld), so documents parse
    without fetching anything. Streams: a million triples need no graph, nor the document, in memory."""
    import pyoxigraph

    def term(node) -> dict:
        if isinstance(node, pyoxigraph.NamedNode):
            return {"@id": compact_iri(node.value)}
        if isinstance(node, pyoxigraph.BlankNode):
            return {"@id": f"_:{node.value}"}
        value = {"@value": node.value}
        if node.language:
            value["@language"] = node.language
        elif node.datatype.value != _XSD_STRING:
            value["@type"] = compact_iri(node.datatype.value)
        return value

    yield ('{\n"@context": ' + json.dumps(_CONTEXT, indent=1, sort_keys=True) + ',\n"@graph": [').encode()
    node: dict | None = None
    subject = None
    separator = "\n"
    batch: list[str] = []
    for triple in pyoxigraph.parse(ntriples_reader(lines), format=pyoxigraph.RdfFormat.N_TRIPLES):
        if triple.subject != subject:
            if node is not None:
                batch.append(separator + json.dumps(node, ensure_ascii=False, sort_keys=True))
                separator = ",\n"
                if len(batch) >= 1000:
                    yield "".join(batch).encode("utf-8")
                    batch = []
            subject = triple.subject
            node = {"@id": term(subject)["@id"]}
        if triple.predicate.value == _RDF_TYPE and isinstance(triple.object, pyoxigraph.NamedNode):
            node.setdefault("@type", []).append(compact_iri(triple.object.value))
        else:
            node.setdefault(compact_iri(triple.predicate.value), []).append(term(triple.object))
    if node is not None:
        batch.append(separator + json.dumps(node, ensure_ascii=False, sort_keys=True))
    batch.append("\n]\n}\n")
    yield "".join(batch).encode("utf-8")
