"""The store interface (after Prez's `Repo`): graph queries, tabular queries, raw SPARQL."""

from __future__ import annotations

from abc import ABC, abstractmethod

from rdflib import Graph


class StoreError(Exception):
    """The store could not answer (unreachable, corrupt, timed out); the message says why."""


class Store(ABC):
    @abstractmethod
    def graph_query(self, query: str) -> Graph:
        """Run a CONSTRUCT or DESCRIBE query; the result as an rdflib Graph."""

    @abstractmethod
    def table_query(self, query: str) -> list[dict[str, object]]:
        """Run a SELECT query; one dict per solution, variable name -> rdflib term (unbound: absent)."""

    @abstractmethod
    def ask(self, query: str) -> bool:
        """Run an ASK query."""

    def close(self) -> None:
        """Release the store's resources."""
