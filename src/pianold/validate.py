"""SHACL validation with pyshacl, on a plain rdflib Graph, and its human report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pyshacl import validate as shacl_validate
from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
from rdflib import Graph, Node, URIRef
from rdflib.namespace import RDF, SKOS
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.sparql import Query

from pianold.resources import shapes_files
from pianold.vocab import PSM, SH


@dataclass(frozen=True)
class Result:
    focus: Node
    path: Node | None
    message: str
    severity: str  # Violation, Warning, Info
    shape: Node | None
    value: Node | None


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def render(self, labels: Graph | None = None) -> str:
        if not self.results:
            return "OK: the data conforms to the shapes (0 violations)."
        lines = []
        for r in sorted(self.results, key=lambda r: (r.severity != "Violation", str(r.focus), str(r.path))):
            lines.append(f"{r.severity}: {_name(r.focus, labels)}")
            if r.path is not None:
                lines.append(f"  path:    {_short(r.path)}")
            if r.value is not None:
                lines.append(f"  value:   {_short(r.value)}")
            lines.append(f"  message: {r.message}")
            if r.shape is not None and isinstance(r.shape, URIRef):
                lines.append(f"  shape:   {_short(r.shape)}")
        counts = {s: sum(r.severity == s for r in self.results) for s in ("Violation", "Warning", "Info")}
        lines.append(", ".join(f"{n} {s.lower()}{'s' if n != 1 else ''}" for s, n in counts.items() if n))
        return "\n".join(lines)


@lru_cache(maxsize=256)
def _prepared(query: str, base: str | None, namespaces: tuple) -> Query:
    return translateQuery(parseQuery(query), base, dict(namespaces))


def _query_with_parse_cache(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
    # pyshacl sends the same SPARQL constraint text once per focus node and rdflib parses it
    # every time (80% of validation time); a parsed query is immutable and reusable, as
    # rdflib's own prepareQuery shows, so parse each text once.
    if isinstance(strOrQuery, str):
        try:
            strOrQuery = _prepared(strOrQuery, base, tuple(sorted((initNs or {}).items())))
        except TypeError:  # unhashable namespaces: parse as rdflib would
            pass
    return _original_query(self, strOrQuery, initBindings, initNs, base, DEBUG)


_original_query = SPARQLProcessor.query
SPARQLProcessor.query = _query_with_parse_cache


@lru_cache(maxsize=256)
def _checked(sparql_text: str, with_value: bool, extravars: frozenset) -> bool:
    _original_check(SPARQLQueryHelper, sparql_text, True if with_value else None, extravars)  # raises on a bad constraint
    return True


def _check_once(self, sparql_text, valuenode=None, extravars=None):
    # pyshacl checks each SPARQL constraint's text with a dozen regular expressions before every
    # focus node (a third of validation time); the verdict depends only on the text and on which
    # variables may be pre-bound (the helper reads nothing of its own but the class's expressions),
    # so it is reached once per text. A failure is not cached: it raises again, as before.
    return _checked(sparql_text, valuenode is not None, frozenset(extravars or ()))


_original_check = SPARQLQueryHelper.check_invalid_sparql
SPARQLQueryHelper.check_invalid_sparql = _check_once


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    g = Graph()
    for path in shapes_files():
        g.parse(path, format="turtle")
    return g


def validate(data: Graph, shapes: Graph | None = None) -> Report:
    """Validate a plain rdflib Graph (never an oxrdflib-backed one: pyshacl misreports there).

    A plain in-memory Graph is validated in place (no inference, so nothing is added to it);
    anything else is copied into one first."""
    if type(data) is Graph and type(data.store).__name__ == "Memory":
        plain = data
    else:
        plain = Graph()
        for triple in data:
            plain.add(triple)
    if bad_patterns := _unreadable_patterns(plain):
        return Report(bad_patterns)
    _, report_graph, _ = shacl_validate(
        plain, shacl_graph=shapes if shapes is not None else shapes_graph(),
        inference="none", advanced=True, allow_warnings=True, inplace=True,
    )
    results = []
    for node in report_graph.subjects(RDF.type, SH.ValidationResult):
        severity = report_graph.value(node, SH.resultSeverity)
        results.append(Result(
            focus=report_graph.value(node, SH.focusNode),
            path=report_graph.value(node, SH.resultPath),
            message=str(report_graph.value(node, SH.resultMessage) or ""),
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            shape=report_graph.value(node, SH.sourceConstraint) or report_graph.value(node, SH.sourceShape),
            value=report_graph.value(node, SH.value),
        ))
    return Report(tuple(results))


def _unreadable_patterns(data: Graph) -> tuple[Result, ...]:
    """A level's code pattern that is no regular expression, each a violation. The shapes match the
    codes against it with REGEX, which stops the whole validation there (a Python re.error, out of
    pyshacl), so these are reported alone: the rest is checked once they are mended."""
    found = []
    for level, pattern in data.subject_objects(PSM.notationPattern):
        try:
            re.compile(str(pattern))
        except re.error as err:
            found.append(Result(level, PSM.notationPattern,
                                f"Lo schema dei codici non è un'espressione regolare ({err}) / "
                                f"The code pattern is not a regular expression ({err})", "Violation", None, pattern))
    return tuple(found)


def _short(node: Node) -> str:
    from pianold.vocab import PREFIXES

    text = str(node)
    for prefix, ns in PREFIXES.items():
        if isinstance(node, URIRef) and text.startswith(str(ns)):
            return f"{prefix}:{text[len(str(ns)):]}"
    if text.startswith("https://w3id.org/pianold/shapes/psm#"):
        return "psmsh:" + text.split("#", 1)[1]
    return f"<{text}>" if isinstance(node, URIRef) else repr(text)


def _name(node: Node, labels: Graph | None) -> str:
    label = labels.value(node, SKOS.notation) if labels is not None else None
    return f"<{node}>" + (f" ({label})" if label else "")
