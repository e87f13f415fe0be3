"""Request paths <-> IRIs. The data's IRIs start with the configured base; a server answers on
any host, so a request path is mapped onto the base (and the ontology's fixed namespace)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from pianold.vocab import ONTOLOGY_IRI

ONTOLOGY_ROOT = ONTOLOGY_IRI.rsplit("/onto/", 1)[0]  # https://w3id.org/pianold
_SAFE = "/:@!$&'()*+,;=-._~"


def normalise_path(path: str) -> str:
    """One spelling per path: raw UTF-8 and percent-encoded requests map to the same IRI."""
    return quote(unquote(path, errors="strict"), safe=_SAFE)


def iri_for_path(base: str, path: str) -> str:
    path = normalise_path(path)
    if path == "/onto" or path.startswith("/onto/"):
        return ONTOLOGY_ROOT + path
    return base.rstrip("/") + path


def path_for_iri(base: str, iri: str) -> str | None:
    """The local path of an IRI this server describes, or None for an external IRI."""
    onto_prefix = ONTOLOGY_ROOT + "/onto/"
    if iri == ONTOLOGY_IRI or iri.startswith(onto_prefix):
        return iri[len(ONTOLOGY_ROOT):]
    base = base.rstrip("/")
    if iri.startswith(base + "/"):
        return iri[len(base):]
    return None
