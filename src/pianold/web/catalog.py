"""What harvesters and crawlers read: the catalogue document, VoID, dumps, sitemap.xml, robots.txt,
and the schema.org records of the catalogue and its datasets (for the HTML pages)."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, g, request
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from pianold.catalog import CatalogUris, Dump, every_dump
from pianold.formats import BY_EXTENSION
from pianold.vocab import ONTOLOGY_IRI
from pianold.web.caching import FileRepresentation, Representation, etag_for
from pianold.web.errors import NotFoundHere
from pianold.web.fastpath import mark_cacheable
from pianold.web.labels import literal_in
from pianold.web.urls import path_for_iri

bp = Blueprint("catalog", __name__)

SITEMAP_LIMIT = 50000  # sitemaps.org: at most 50,000 URLs per file


def catalog_uris() -> CatalogUris:
    return CatalogUris(current_app.config["PIANOLD"].uris)


def catalog_graph() -> Graph:
    """The catalogue of the request's version, parsed once per version."""
    version = g.snapshot.version
    cache = current_app.extensions.setdefault("pianold.catalog", {})
    if version.id not in cache:
        graph = Graph().parse(version.path / "catalog.nt", format="nt")
        cache.clear()
        cache[version.id] = graph
    return cache[version.id]


@bp.route("/.well-known/void", methods=["GET", "HEAD"])
def void():
    """The VoID description lives in the catalogue (RFC 5785 well-known location, VoID §7.2)."""
    from pianold.web.resources import see_other

    mark_cacheable(request.environ)
    return see_other("/catalog")


def _served_files() -> dict[str, str]:
    """Published file name -> Content-Type; only names in the version's manifest can be served."""
    version = g.snapshot.version
    cache = current_app.extensions.setdefault("pianold.dump_types", {})
    if version.id not in cache:
        dumps: dict[str, Dump] = {d.name: d for d in every_dump([p["id"] for p in version.manifest["plans"]])}
        types = {}
        for name in version.manifest["files"]:
            if name in dumps:
                types[name] = dumps[name].content_type
            else:
                types[name] = BY_EXTENSION[name.rsplit(".", 1)[-1]].media_type if "." in name else "application/octet-stream"
            if not types[name].startswith("application/gzip") and not types[name].endswith("octet-stream"):
                types[name] += "; charset=utf-8"
        cache.clear()
        cache[version.id] = types
    return cache[version.id]


@bp.route("/dumps/", methods=["GET", "HEAD", "OPTIONS"], defaults={"name": ""})
@bp.route("/dumps/<path:name>", methods=["GET", "HEAD", "OPTIONS"])
def dump(name: str):
    """A published file, streamed, with its SHA-256 as strong ETag and single byte ranges; the
    preconditions are judged before Range (RFC 9110 §13.2.2), as for every document."""
    version = g.snapshot.version
    files = _served_files()
    if name not in files:  # an allowlist: "..", absolute paths and encodings never reach the disk
        raise NotFoundHere(f"no published file named {name!r}; the catalogue at /catalog lists them all")
    if request.method == "OPTIONS":
        return current_app.make_default_options_response()
    info = version.manifest["files"][name]
    disposition = ("Content-Disposition", f'attachment; filename="{name.rsplit("/", 1)[-1]}"')
    # the file is as it was when first published with this content, maybe several versions ago
    # (manifests of older builds do not say: then the version's build time)
    changed = dt.datetime.fromisoformat(info["modified"]) if "modified" in info else version.built
    return FileRepresentation.build(version.path / name, files[name], info["sha256"], changed, cors=True,
                                    extra=(disposition,)).respond()


@bp.route("/sitemap.xml", methods=["GET", "HEAD"])
def sitemap():
    version = g.snapshot.version
    mark_cacheable(request.environ)
    root = request.url_root.rstrip("/")

    def make() -> Representation:
        built = version.built.date().isoformat()
        # a page changes when its plan does: the day the plan's data last changed (the manifest's)
        changed = {p["iri"]: p.get("modified", built) for p in version.manifest["plans"]}
        pages = [("/", built), ("/sparql", built), ("/catalog.html", built)]
        pages += [(f"{path}.html", max(changed.get(graph, built) for graph in graphs)) for path, graphs in _page_paths().items()]
        urls = "".join(f"<url><loc>{escape(root + p)}</loc><lastmod>{lastmod}</lastmod></url>\n"
                       for p, lastmod in pages[:SITEMAP_LIMIT])
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n")
        return Representation.build(body.encode("utf-8"), "application/xml; charset=utf-8",
                                    etag_for(version.id, "sitemap", root), version.built)

    return _documents().get((version.id, "sitemap", root), make).respond()


def _page_paths() -> dict[str, set[str]]:
    """Local paths of every resource with a page (subjects of the plan graphs and the ontology),
    in order, each with the graphs describing it."""
    base = current_app.config["PIANOLD"].base
    rows = g.snapshot.store.table_query(
        f"SELECT DISTINCT ?s ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(isIRI(?s) && ?g != <{catalog_uris().catalog}>) }}")
    paths: dict[str, set[str]] = {}
    for row in rows:
        path = path_for_iri(base, str(row["s"]))
        if path is not None and path != "/catalog" and "/catalog/" not in path:
            paths.setdefault(path, set()).add(str(row["g"]))
    return dict(sorted(paths.items()))


@bp.route("/robots.txt", methods=["GET", "HEAD"])
def robots():
    root = request.url_root.rstrip("/")
    body = ("User-agent: *\n"
            "Allow: /\n"
            "# query results are endless variations of the same data\n"
            "Disallow: /sparql?\n"
            f"Sitemap: {root}/sitemap.xml\n")
    return Response(body, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})


def _documents():
    from pianold.web.resources import _cache

    return _cache()


# ---------------------------------------------------------------- schema.org, from the catalogue

def schema_dataset(catalog: Graph, dataset: URIRef) -> dict:
    data = {"@type": "Dataset", "@id": str(dataset), "url": str(catalog.value(dataset, DCAT.landingPage) or dataset),
            "name": lang_of(catalog, dataset), "description": lang_of(catalog, dataset, DCTERMS.description),
            "identifier": str(catalog.value(dataset, DCTERMS.identifier)), "inLanguage": ["it", "en"],
            "keywords": sorted(str(k) for k in catalog.objects(dataset, DCAT.keyword)),
            "dateModified": str(catalog.value(dataset, DCTERMS.modified))}
    publisher = catalog.value(dataset, DCTERMS.publisher)
    if publisher is not None:
        data["publisher"] = {"@type": "Organization", "@id": str(publisher), "name": str(catalog.value(publisher, FOAF.name))}
    licence = catalog.value(dataset, DCTERMS.license) or next(
        (catalog.value(d, DCTERMS.license) for d in catalog.objects(dataset, DCAT.distribution)), None)
    if licence is not None:
        data["license"] = str(licence)
    period = catalog.value(dataset, DCTERMS.temporal)
    if period is not None:
        data["temporalCoverage"] = f"{catalog.value(period, DCAT.startDate)}/{catalog.value(period, DCAT.endDate)}"
    place = catalog.value(dataset, DCTERMS.spatial)
    if place is not None:
        data["spatialCoverage"] = {"@type": "Place", "@id": str(place)}
    downloads = []
    for dist in sorted(catalog.objects(dataset, DCAT.distribution), key=str):
        url = catalog.value(dist, DCAT.downloadURL)
        if url is None:
            continue
        downloads.append({"@type": "DataDownload", "contentUrl": str(url),
                          "encodingFormat": str(catalog.value(dist, DCAT.mediaType)).rsplit("media-types/", 1)[-1],
                          "contentSize": f"{catalog.value(dist, DCAT.byteSize)} B", "name": lang_of(catalog, dist)})
    data["distribution"] = downloads
    return {k: v for k, v in data.items() if v not in (None, [], "None")}


def lang_of(catalog: Graph, node, prop=DCTERMS.title, code: str = "it") -> str | None:
    """The node's value of `prop` (its title by default) in a language."""
    value = literal_in(catalog, node, (prop,), code)
    return str(value) if value is not None else None


def schema_catalog(catalog: Graph, home: str) -> dict:
    cat = next(catalog.subjects(RDF.type, DCAT.Catalog))
    datasets = sorted(catalog.objects(cat, DCAT.dataset), key=lambda d: (str(d) == ONTOLOGY_IRI, str(d)))
    return {"@context": "https://schema.org", "@type": "DataCatalog", "@id": str(cat), "url": home,
            "name": lang_of(catalog, cat), "description": lang_of(catalog, cat, DCTERMS.description),
            "inLanguage": ["it", "en"], "dataset": [schema_dataset(catalog, d) for d in datasets]}


def downloads(catalog: Graph, dataset: URIRef) -> list[dict]:
    """The dataset's downloadable files for an HTML list: title, local href, size, media type."""
    base = current_app.config["PIANOLD"].base
    rows = []
    for dist in catalog.objects(dataset, DCAT.distribution):
        url = catalog.value(dist, DCAT.downloadURL)
        if url is None:
            continue
        rows.append({"title": lang_of(catalog, dist), "href": path_for_iri(base, str(url)) or str(url),
                     "bytes": int(catalog.value(dist, DCAT.byteSize)),
                     "media": str(catalog.value(dist, DCAT.mediaType)).rsplit("media-types/", 1)[-1],
                     "gzip": catalog.value(dist, DCAT.compressFormat) is not None})
    return sorted(rows, key=lambda r: r["href"])
