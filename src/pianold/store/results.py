"""SPARQL results in the W3C formats (JSON, XML, CSV, TSV) and graphs in the RDF formats,
written from pyoxigraph terms. Kept free of rdflib: query workers import it."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

SOLUTION_TYPES = {
    "application/sparql-results+json": "json", "application/sparql-results+xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "TURTLE", "application/n-triples": "N_TRIPLES", "application/rdf+xml": "RDF_XML",
    "application/ld+json": "JSON_LD",
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _kind(term) -> str:
    name = type(term).__name__
    return {"NamedNode": "uri", "BlankNode": "bnode", "Literal": "literal"}.get(name, "triple")


def json_term(term) -> dict:
    kind = _kind(term)
    if kind == "literal":
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            if term.direction is not None:  # RDF 1.2 base direction, as Oxigraph's writer has it
                out["its:dir"] = term.direction.value
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if kind == "triple":
        return {"type": "triple", "value": {"subject": json_term(term.subject), "predicate": json_term(term.predicate),
                                            "object": json_term(term.object)}}
    return {"type": kind, "value": term.value}


def _xml_term(term) -> str:
    kind = _kind(term)
    if kind == "literal":
        if term.language:
            direction = ("" if term.direction is None else
                         f' its:dir="{term.direction.value}" xmlns:its="http://www.w3.org/2005/11/its" its:version="2.0"')
            return f"<literal xml:lang={quoteattr(term.language)}{direction}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if kind == "uri":
        return f"<uri>{escape(term.value)}</uri>"
    if kind == "triple":  # RDF 1.2 / SPARQL-star results, as Oxigraph's writer has them
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    return f"<bnode>{escape(str(term.value))}</bnode>"


def _tsv_term(term) -> str:
    if term is None:
        return ""
    if _kind(term) == "triple":
        return f"<<( {_tsv_term(term.subject)} {_tsv_term(term.predicate)} {_tsv_term(term.object)} )>>"
    return str(term)  # pyoxigraph terms print in N-Triples/Turtle syntax, as TSV wants


def _csv_value(term) -> str:
    if term is None:
        return ""
    kind = _kind(term)
    if kind == "triple":  # its terms' values, space-separated, as Oxigraph's CSV writer has it
        return " ".join(map(_csv_value, (term.subject, term.predicate, term.object)))
    return f"_:{term.value}" if kind == "bnode" else term.value


class AnswerNotExpressible(Exception):
    """The answer holds what the wanted format cannot carry (RDF 1.2 triple terms in JSON-LD)."""


class AnswerTooLarge(Exception):
    """The answer grew past the bytes an answer may have."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        super().__init__(f"the answer is larger than {max_bytes} bytes")


class AnswerBuffer(io.RawIOBase):
    """An answer being written, refused as soon as it grows past `max_bytes`. The writers below
    and Oxigraph's write into it as they go, so the rest of an oversized answer is never computed."""

    def __init__(self, max_bytes: int):
        super().__init__()
        self.max_bytes = max_bytes
        self._data = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._data.tell() + len(data) > self.max_bytes:
            raise AnswerTooLarge(self.max_bytes)
        return self._data.write(data)

    def getvalue(self) -> bytes:
        return self._data.getvalue()


# XML 1.0 has no form for the C0 control characters other than tab, line feed and carriage return,
# not even a character reference; and a parser reads a carriage return written as it is as a line
# feed. Nor has it one for U+FFFE and U+FFFF (its characters end at U+FFFD). Both Oxigraph's XML
# writers and the one below write literals' characters as they are.
_XML_UNSAFE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|\xef\xbf[\xbe\xbf]")
_XML_FORBIDDEN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


class _WellFormedXml(io.RawIOBase):
    """Writes an XML answer (SPARQL results or RDF/XML) into `out` as XML parsers read it back:
    a carriage return, which these writers put only in a literal's text, as `&#13;`; a control
    character XML 1.0 cannot carry refuses the answer (AnswerNotExpressible) instead of sending a
    document no client can parse."""

    def __init__(self, out, instead: str):
        super().__init__()
        self.out = out
        self.instead = instead  # the formats that can carry it, for the message
        self.tail = b""  # the last bytes written: a writer's chunk may end inside U+FFFE's three

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        seen, self.tail = self.tail + data, (self.tail + data)[-2:]
        if _XML_UNSAFE.search(seen) is None:
            return self.out.write(data)
        bad = _XML_FORBIDDEN.search(seen)
        if bad is not None:
            char = bad.group().decode()
            raise AnswerNotExpressible(f"this answer holds the {'control ' if char < ' ' else ''}character U+{ord(char):04X}, "
                                       f"which XML 1.0 cannot carry; ask for {self.instead}")
        self.out.write(data.replace(b"\r", b"&#13;"))
        return len(data)


_NOT_XML_RESULTS = "JSON, CSV or TSV"
_OXIGRAPH_RESULTS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                     "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}


def serialize_all_solutions(result, media_type: str, out: AnswerBuffer) -> str:
    """Every solution of a pyoxigraph result, by Oxigraph's own writer (several times faster than
    serialize_solutions, but it cannot stop at a row cap: only for results known to be small)."""
    media = media_type if media_type in SOLUTION_TYPES else "application/sparql-results+json"
    if media == "application/sparql-results+xml":
        out = _WellFormedXml(out, _NOT_XML_RESULTS)
    result.serialize(out, format=_OXIGRAPH_RESULTS[SOLUTION_TYPES[media]])
    return media


def serialize_solutions(variables: list[str] | None, rows, media_type: str, out: AnswerBuffer) -> str:
    """rows: pyoxigraph QuerySolution list, or a bool for ASK (variables None)."""
    fmt = SOLUTION_TYPES.get(media_type, "json")
    media = media_type if media_type in SOLUTION_TYPES else "application/sparql-results+json"
    if fmt == "xml":
        out = _WellFormedXml(out, _NOT_XML_RESULTS)
    if variables is None:  # ASK
        if fmt == "xml":
            out.write((f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                       f"<boolean>{'true' if rows else 'false'}</boolean></sparql>\n").encode())
        elif fmt == "csv":  # not in the CSV/TSV results spec (SELECT only): Jena's form, a column with one cell,
            out.write(b"_askResult\r\n" + (b"true" if rows else b"false") + b"\r\n")  # so a CSV reader finds a row
        elif fmt == "tsv":
            out.write(b"?_askResult\n" + (b"true" if rows else b"false") + b"\n")
        else:
            out.write(json.dumps({"head": {}, "boolean": bool(rows)}).encode())
        return media
    if fmt == "json":
        out.write(b'{"head": {"vars": ' + json.dumps(variables, ensure_ascii=False).encode() + b'}, "results": {"bindings": [')
        for i, r in enumerate(rows):
            binding = {v: json_term(t) for v, t in zip(variables, r) if t is not None}
            out.write((", " if i else "").encode() + json.dumps(binding, ensure_ascii=False).encode())
        out.write(b"]}}")
    elif fmt == "xml":
        out.write(('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
                   + "".join(f"<variable name={quoteattr(v)}/>" for v in variables) + "</head><results>").encode())
        for r in rows:
            out.write(("<result>" + "".join(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                                            for v, t in zip(variables, r) if t is not None) + "</result>").encode())
        out.write(b"</results></sparql>\n")
    elif fmt == "csv":
        line = io.StringIO()
        writer = csv.writer(line, lineterminator="\r\n")
        cells = ([_csv_value(t) for t in r] for r in rows)
        for row in itertools.chain([variables], cells):
            writer.writerow(row)
            out.write(line.getvalue().encode())
            line.seek(0)
            line.truncate()
    else:
        out.write(("\t".join(f"?{v}" for v in variables) + "\n").encode())
        for r in rows:
            out.write(("\t".join(map(_tsv_term, r)) + "\n").encode())
    return media


def serialize_graph(triples, media_type: str, out: AnswerBuffer) -> str:
    media = media_type if media_type in GRAPH_TYPES else "text/turtle"
    fmt = getattr(ox.RdfFormat, GRAPH_TYPES[media])
    prefixes = {"skos": "http://www.w3.org/2004/02/skos/core#", "dct": "http://purl.org/dc/terms/",
                "psm": "https://w3id.org/pianold/onto/psm/"} if media == "text/turtle" else None
    kwargs = {"prefixes": prefixes} if prefixes else {}
    if media == "application/ld+json":
        triples = _without_triple_terms(triples, "JSON-LD")
    elif media == "application/rdf+xml":
        triples = _with_xml_names(triples)
        out = _WellFormedXml(out, "Turtle, N-Triples or JSON-LD")
    ox.serialize(triples, out, format=fmt, **kwargs)
    return media


_NAME_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
               "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_NAME_CHARS = re.compile(f"[{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f\u2040]*")
_NAME_START_CHAR = re.compile(f"[{_NAME_START}]")


def _ends_in_xml_name(iri: str) -> bool:
    """Whether an XML name without colons (NCName) ends the IRI: RDF/XML writes a predicate as
    an element named by a namespace and that name, so an IRI ending otherwise (`…/123`, `…/p/`,
    `…#`) has no form. Linear: the trailing run of name characters, read backwards, must hold a
    character a name may start with."""
    run = _NAME_CHARS.match(iri[::-1]).end()
    return _NAME_START_CHAR.search(iri, len(iri) - run) is not None


def _with_xml_names(triples):
    """The triples, refused (AnswerNotExpressible) at the first predicate RDF/XML cannot name:
    Oxigraph's writer would write it as an element named `oxprefix:`, which is no XML."""
    for t in triples:
        if not _ends_in_xml_name(t.predicate.value):
            raise AnswerNotExpressible(f"this answer holds the predicate <{t.predicate.value}>, which RDF/XML cannot write "
                                       "(its IRI does not end in an XML name); ask for Turtle, N-Triples or JSON-LD")
        yield t


def _without_triple_terms(triples, name: str):
    for t in triples:
        if isinstance(t.subject, ox.Triple) or isinstance(t.object, ox.Triple):
            raise AnswerNotExpressible(f"this answer holds RDF 1.2 triple terms, which {name} cannot carry; "
                                       "ask for Turtle, N-Triples or RDF/XML")
        yield t
