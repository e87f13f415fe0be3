"""The one place that builds pianold IRIs (see docs/model.md, "URIs")."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rdflib import URIRef

DEFAULT_BASE = "https://w3id.org/pianold"
NOT_IN_IRIS = '<>"{}|\\^`'  # characters no IRI may hold (RFC 3987), besides spaces and control characters


def not_in_iri(text: str) -> str | None:
    """The first character of a web address that no IRI may hold, if any: published as an IRI
    (a base, a licence, a table's Link), the address would make every RDF writer fail."""
    return next((c for c in text if c in NOT_IN_IRIS or c.isspace() or ord(c) < 32), None)


@dataclass(frozen=True)
class Uris:
    base: str = DEFAULT_BASE

    def __post_init__(self):
        object.__setattr__(self, "base", self.base.rstrip("/"))

    def plan(self, plan_id: str) -> URIRef:
        return URIRef(f"{self.base}/data/plan/{quote(plan_id, safe='')}")

    def level(self, plan_id: str, level_key: str) -> URIRef:
        return URIRef(f"{self.plan(plan_id)}/level/{level_key}")

    def element(self, plan_id: str, level_key: str, code: str) -> URIRef:
        return URIRef(f"{self.plan(plan_id)}/{level_key}/{quote(code, safe='.-_~')}")

    def period(self, plan_id: str) -> URIRef:
        return URIRef(f"{self.plan(plan_id)}/period")

    def organization(self, ipa: str) -> URIRef:
        return URIRef(f"{self.base}/data/public-organization/{quote(ipa, safe='')}")

    def is_local(self, iri: str) -> bool:
        return iri == self.base or iri.startswith(self.base + "/")
