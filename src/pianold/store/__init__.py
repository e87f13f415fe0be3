"""SPARQL stores behind one interface: every route talks to `Store`, never to a concrete backend."""

from pianold.store.base import Store, StoreError
from pianold.store.oxigraph import EmbeddedStore

__all__ = ["EmbeddedStore", "Store", "StoreError"]
