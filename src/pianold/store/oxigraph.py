"""The embedded backend: the on-disk Oxigraph store that `pianold build` writes, opened read-only."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from pianold.store.base import Store, StoreError

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise StoreError(f"unsupported RDF term {term!r}")


class EmbeddedStore(Store):
    def __init__(self, path: Path):
        try:
            self._store = ox.Store.read_only(str(path))
        except (OSError, ValueError, RuntimeError) as err:  # RocksDB reports corruption as RuntimeError
            raise StoreError(f"cannot open the store at {path}: {err}") from None
        self.path = Path(path)
        self.match_counts: dict = {}  # the store is read-only: a pattern's match count never changes (bounded.py)

    @property
    def oxigraph(self) -> ox.Store:
        return self._store

    def graph_query(self, query: str) -> Graph:
        graph = Graph()
        for triple in self._store.query(query, use_default_graph_as_union=True):
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
        return graph

    def table_query(self, query: str) -> list[dict[str, object]]:
        solutions = self._store.query(query, use_default_graph_as_union=True)
        names = [v.value for v in solutions.variables]
        return [
            {name: to_rdflib(sol[name]) for name in names if sol[name] is not None}
            for sol in solutions
        ]

    def ask(self, query: str) -> bool:
        return bool(self._store.query(query, use_default_graph_as_union=True))

    def close(self) -> None:
        self._store = None
