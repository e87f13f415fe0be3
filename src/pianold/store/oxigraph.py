"""The embedded backend: the on-disk Oxigraph store that `pianold build` writes, opened read-only.

Each plan (and the ontology, and the catalogue) is a named graph, and the store's default graph
holds their RDF merge, each triple once. Oxigraph 0.5's own union of the graphs
(`use_default_graph_as_union`) is a multiset: a triple in two graphs (a plan's title is in its
graph and in the catalogue) matched twice, doubling rows and counts."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from pianold.store.base import Store, StoreError

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
STORE_LAYOUT = "named graphs, their merge as the default graph"  # a store built otherwise is rebuilt (publish.sources_digest)


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


def merge_named_graphs(store: ox.Store) -> None:
    """Write the merge of the store's named graphs into its default graph (a set: a triple found
    in several graphs is stored once). For a store being built, not yet flushed."""
    for graph in list(store.named_graphs()):
        store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph))


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
        for triple in self._store.query(query):
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
        return graph

    def table_query(self, query: str) -> list[dict[str, object]]:
        solutions = self._store.query(query)
        names = [v.value for v in solutions.variables]
        return [
            {name: to_rdflib(sol[name]) for name in names if sol[name] is not None}
            for sol in solutions
        ]

    def ask(self, query: str) -> bool:
        return bool(self._store.query(query))

    def close(self) -> None:
        self._store = None
