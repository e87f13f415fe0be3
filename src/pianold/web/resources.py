"""Dereference: every IRI under the base answers 303 to the document the client prefers;
documents (.html .ttl .jsonld .rdf .nt) answer 200 with strong per-format ETags."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, g, request

from pianold.catalog import CatalogUris
from pianold.formats import BY_EXTENSION, serialize
from pianold.vocab import bind_prefixes
from pianold.web import describe
from pianold.web.caching import Representation, SizedLRU, cors, etag_for
from pianold.web.conneg import negotiate
from pianold.web.errors import NotAcceptable, NotFoundHere
from pianold.web.fastpath import mark_cacheable
from pianold.web.urls import iri_for_path, path_for_iri, request_path

bp = Blueprint("resources", __name__)

# media type offered -> document extension, in the server's order of preference
OFFERS = [
    ("text/html", "html"), ("text/turtle", "ttl"), ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdf"), ("application/n-triples", "nt"),
    ("application/json", "jsonld"), ("application/xml", "rdf"), ("text/plain", "nt"),
    # Turtle is N3 too: rdflib's parse(format="n3") and older clients ask for text/n3 (else they get HTML)
    ("text/n3", "ttl"), ("application/x-turtle", "ttl"),
]
DOCUMENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "ttl": "text/turtle; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
    "nt": "application/n-triples; charset=utf-8",
}
# offers answered by a document of another type (negotiate never picks one whose document type the client excluded)
ALIASES = {m: DOCUMENT_TYPES[e].split(";")[0] for m, e in OFFERS if m != DOCUMENT_TYPES[e].split(";")[0]}


class DocumentCache:
    """Rendered documents and SPARQL answers per data version (the version is in every key, so a
    new version starts afresh), bounded by count and by the bytes of their bodies."""

    def __init__(self, max_bytes: int, size: int = 4096):  # max_bytes: pianold's cache_mb
        self._lru = SizedLRU(size, max_bytes)

    def get(self, key, make):
        value = self._lru.get(key)
        if value is None:
            value = make()
            self._lru.put(key, value, len(getattr(value, "body", b"")))
        return value


def _cache() -> DocumentCache:
    return current_app.extensions["pianold.documents"]


def split_extension(path: str) -> tuple[str, str | None]:
    stem, dot, ext = path.rpartition(".")
    if dot and ext in DOCUMENT_TYPES and "/" not in ext:
        return stem, ext
    return path, None


@bp.route("/data/<path:rest>", methods=["GET", "HEAD", "OPTIONS"])
@bp.route("/onto/<path:rest>", methods=["GET", "HEAD", "OPTIONS"])
@bp.route("/catalog", methods=["GET", "HEAD", "OPTIONS"], defaults={"rest": ""})
@bp.route("/catalog.<rest>", methods=["GET", "HEAD", "OPTIONS"])
@bp.route("/catalog/<path:rest>", methods=["GET", "HEAD", "OPTIONS"])
def resource(rest: str) -> Response:
    version = g.snapshot.version
    path = request_path(request.path)
    kind, iri, ext = _cache().get((version.id, "resolve", path), lambda: resolve(path))
    if request.method == "OPTIONS" and kind != "missing":  # a preflight, or a client asking what it may do
        return current_app.make_default_options_response()
    mark_cacheable(request.environ)
    if kind == "document":
        return document(iri, ext)
    if kind == "resource":
        return see_other(path)
    if kind == "alias":  # iri: the resource it stands for, which negotiates its own documents
        return _see(path_for_iri(current_app.config["PIANOLD"].base, iri))
    raise NotFoundHere(f"<{iri}> is not described here")


def resolve(path: str) -> tuple[str, str, str | None]:
    """What a request path names in the current version: a document, a resource, or nothing."""
    base = current_app.config["PIANOLD"].base
    store = g.snapshot.store
    stem, ext = split_extension(path)
    if ext is not None:
        iri = iri_for_path(base, stem)
        if describe.exists(store, iri):
            return "document", iri, ext
    iri = iri_for_path(base, path)
    if describe.exists(store, iri):
        return "resource", iri, None
    alias = describe.alias_of(store, iri)
    if alias is not None and path_for_iri(base, alias) is not None:
        return "alias", alias, None
    return "missing", iri, None


def see_other(path: str) -> Response:
    media = negotiate(request.headers.get("Accept"), [m for m, _ in OFFERS], ALIASES)
    if media is None:
        raise NotAcceptable(path, available=[(DOCUMENT_TYPES[e].split(";")[0], f"{path}.{e}") for e in DOCUMENT_TYPES])
    response = _see(f"{path}.{dict(OFFERS)[media]}")
    response.vary.add("Accept")
    return response


def _see(path: str) -> Response:
    """303 See Other to a local path, cacheable for five minutes."""
    response = Response(status=303, headers={"Location": request.script_root + path})
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return cors(response)


def document(iri: str, ext: str) -> Response:
    version = g.snapshot.version
    stem = request_path(request.path).rpartition(".")[0]

    def make() -> Representation:
        alternates = ", ".join(
            f'<{request.script_root}{stem}.{e}>; rel="alternate"; type="{DOCUMENT_TYPES[e].split(";")[0]}"'
            for e in DOCUMENT_TYPES if e != ext
        )
        body = render(iri, ext)
        # by its bytes, not by the data version: a document a rebuild leaves as it was keeps its ETag,
        # so a harvester revalidating after every build gets 304 for what did not change (an HTML
        # page names the data version in its footer, so pages change with every version anyway)
        return Representation.build(body, DOCUMENT_TYPES[ext], etag_for("document", ext, hashlib.sha256(body).hexdigest()),
                                    version.built, cors=ext != "html", extra=(("Link", alternates),))

    return _cache().get((version.id, iri, ext, request.script_root), make).respond()


def render(iri: str, ext: str) -> bytes:
    if ext != "html" and iri == str(CatalogUris(current_app.config["PIANOLD"].uris).catalog):
        # the whole catalogue, as written by the build (see publish.py: the store's copy is not exact)
        return (g.snapshot.version.path / f"catalog.{ext}").read_bytes()
    graph = bind_prefixes(describe.describe(g.snapshot.store, iri))
    if ext == "html":
        from pianold.web.pages import resource_page

        return resource_page(iri, graph).encode("utf-8")
    return serialize(graph, BY_EXTENSION[ext])


__all__ = ["bp", "OFFERS", "DOCUMENT_TYPES"]
