"""The SPARQL 1.1 Protocol endpoint at /sparql, read-only and bounded, with a query page."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request

from pianold.sparql_guard import Refused, check_query
from pianold.store.bounded import is_bounded, solution_limit
from pianold.store.workers import QueryAnswer, QueryFailed, QueryJob, WorkerPool, execute
from pianold.web.caching import CORS_HEADERS, Representation, etag_for
from pianold.web.conneg import negotiate
from pianold.web.fastpath import mark_cacheable
from pianold.web.resources import _cache
from pianold.web.sparql_examples import EXAMPLES, PREFIXES

bp = Blueprint("sparql", __name__)

SOLUTION_OFFERS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                   "text/tab-separated-values", "text/html", "application/json"]
GRAPH_OFFERS = ["text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json", "text/html"]
FORMAT_PARAM = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
    "tsv": "text/tab-separated-values", "ttl": "text/turtle", "turtle": "text/turtle", "nt": "application/n-triples",
    "rdf": "application/rdf+xml", "jsonld": "application/ld+json", "html": "text/html",
}
DOWNLOADS = {"solutions": [("JSON", "json"), ("XML", "xml"), ("CSV", "csv"), ("TSV", "tsv")],
             "boolean": [("JSON", "json"), ("XML", "xml")],
             "graph": [("Turtle", "ttl"), ("N-Triples", "nt"), ("RDF/XML", "rdf"), ("JSON-LD", "jsonld")]}
_FORM = re.compile(r"^\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)


def pool() -> WorkerPool:
    app = current_app
    if "pianold.sparql_pool" not in app.extensions:
        settings = app.config["PIANOLD"]
        app.extensions["pianold.sparql_pool"] = WorkerPool(settings.sparql_workers)
    return app.extensions["pianold.sparql_pool"]


def start_workers(app) -> None:
    """Start the query workers (a server calls it once it listens), so the first query does not
    wait for them. Called from the thread that will serve: a worker asks to die with the thread
    that started it (PR_SET_PDEATHSIG), so a short-lived starter thread would take them along.
    Starting returns at once; the processes finish booting in the background."""
    if app.config["PIANOLD"].store_url:
        return  # a remote store answers the queries itself
    with app.app_context():
        pool().start()


class ProtocolError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _params() -> tuple[str | None, list[str], list[str]]:
    """(query, default graphs, named graphs) from GET, POST form or POST direct (SPARQL 1.1 Protocol §2.1)."""
    args = request.args
    if "update" in args or (request.method == "POST" and "update" in request.form):
        raise ProtocolError(403, "this endpoint is read-only: SPARQL Update is not accepted")
    if request.method == "POST":
        kind = (request.mimetype or "").lower()
        if kind == "application/x-www-form-urlencoded":
            source = request.form
            if "query" in args:
                raise ProtocolError(400, "give the query in the form body or in the URL, not in both")
        elif kind == "application/sparql-query":
            if "query" in args:
                raise ProtocolError(400, "with a direct POST the query is the body; do not also give a query parameter")
            try:
                text = request.get_data(cache=True).decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the query body is not UTF-8") from None
            return text, args.getlist("default-graph-uri"), args.getlist("named-graph-uri")
        elif kind == "application/sparql-update":
            raise ProtocolError(403, "this endpoint is read-only: SPARQL Update is not accepted")
        else:
            raise ProtocolError(415, "POST a query as application/x-www-form-urlencoded (query=…) or as application/sparql-query")
    else:
        source = args
    queries = source.getlist("query")
    if len(queries) > 1:
        raise ProtocolError(400, "exactly one query parameter is allowed")
    dgs = source.getlist("default-graph-uri") + (args.getlist("default-graph-uri") if source is not args else [])
    ngs = source.getlist("named-graph-uri") + (args.getlist("named-graph-uri") if source is not args else [])
    return (queries[0] if queries else None), dgs, ngs


def _unique(graphs: list[str]) -> list[str]:
    """A graph named twice is the same graph (the default graph is their merge); passed twice,
    the engine would repeat every match once per copy and per pattern."""
    return list(dict.fromkeys(graphs))


def _media_for(query: str, kind_hint: str | None) -> str | None:
    wanted = request.args.get("format") or (request.form.get("format") if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded" else None)
    form = _FORM.match(query)
    graph_form = bool(form) and form.group(1).upper() in ("CONSTRUCT", "DESCRIBE")
    offers = GRAPH_OFFERS if graph_form else SOLUTION_OFFERS
    if wanted:
        media = FORMAT_PARAM.get(wanted.lower())
        if media is None or media not in offers:
            raise ProtocolError(400, f"format={wanted!r} is not available for this query; use one of "
                                     + ", ".join(k for k, v in FORMAT_PARAM.items() if v in offers))
        return media
    media = negotiate(request.headers.get("Accept"), offers)
    if media is None:
        raise ProtocolError(406, "none of the media types in the Accept header can carry this query's results; available: " + ", ".join(offers))
    return "application/sparql-results+json" if media == "application/json" else media


@bp.route("/sparql", methods=["GET", "POST", "HEAD", "OPTIONS"])
def endpoint() -> Response:
    if request.method == "OPTIONS":
        response = Response(status=204, headers=CORS_HEADERS)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response.headers["Access-Control-Max-Age"] = "86400"
        return response
    settings = current_app.config["PIANOLD"]
    try:
        if request.content_length and request.content_length > settings.sparql_max_query_bytes:
            raise ProtocolError(413, f"the request is larger than the {settings.sparql_max_query_bytes} bytes a query may have")
        query, dgs, ngs = _params()
        dgs, ngs = _unique(dgs), _unique(ngs)
        if query is None:
            if request.method == "POST":
                raise ProtocolError(400, "no query: give query=… (form) or a body of type application/sparql-query")
            return _without_query()
        if len(query.encode("utf-8")) > settings.sparql_max_query_bytes:
            raise ProtocolError(413, f"the query is longer than the {settings.sparql_max_query_bytes} bytes allowed")
        if not query.strip():
            raise ProtocolError(400, "the query is empty")
        check_query(query, settings.sparql_service_allowlist)
        media = _media_for(query, None)
    except (ProtocolError, Refused) as err:
        return _error(err.status, str(err))
    html = media == "text/html"
    engine_media = ("application/sparql-results+json" if not _is_graph_form(query) else "application/n-triples") if html else media
    version = g.snapshot.version
    key = (version.id, "sparql", query, engine_media, tuple(dgs), tuple(ngs))
    try:
        answer: QueryAnswer = _cache().get(key, lambda: _run(QueryJob(
            str(version.store_path), query, engine_media, settings.sparql_max_rows, tuple(dgs), tuple(ngs),
            base_iri=settings.base + "/sparql")))
    except QueryFailed as err:
        return _error(err.status, str(err), query=query)
    if request.method == "GET":
        mark_cacheable(request.environ)
    if html:
        return _results_page(query, answer, dgs, ngs)
    extra = [("X-Pianold-Truncated", str(settings.sparql_max_rows))] if answer.truncated else []
    content_type = answer.media_type + ("; charset=utf-8" if not answer.media_type.endswith("json") else "")
    rep = Representation.build(answer.body, content_type, etag_for(version.id, "sparql", *map(str, key[2:])),
                               version.built, cors=True, vary_accept=True, extra=tuple(extra), max_age=60)
    return rep.respond()


def _is_graph_form(query: str) -> bool:
    form = _FORM.match(query)
    return bool(form) and form.group(1).upper() in ("CONSTRUCT", "DESCRIBE")


def _run(job: QueryJob) -> QueryAnswer:
    settings = current_app.config["PIANOLD"]
    store = g.snapshot.store
    if hasattr(store, "sparql"):  # a remote store answers the protocol itself
        from pianold.store.remote import StoreTimeout
        from pianold.store.base import StoreError

        try:
            return store.sparql(job, settings.sparql_timeout)
        except StoreTimeout as err:
            raise QueryFailed(504, str(err)) from None
        except StoreError as err:
            raise QueryFailed(502, str(err)) from None
    if is_bounded(store.oxigraph, job.query, settings.sparql_inline_budget, store.match_counts):  # provably small: no worker round trip
        return execute(store.oxigraph, replace(job, at_most=settings.sparql_inline_budget))
    return pool().run(replace(job, at_most=solution_limit(job.query)), settings.sparql_timeout)


def _without_query() -> Response:
    """A bare GET: the query page for a browser, the service description for a machine."""
    media = negotiate(request.headers.get("Accept"), ["text/html", "text/turtle", "application/n-triples",
                                                      "application/rdf+xml", "application/ld+json"])
    if media == "text/html":
        return Response(render_template("sparql.html", query=request.args.get("example_query") or EXAMPLES[0]["query"],
                                        examples=EXAMPLES, prefixes=PREFIXES, answer=None),
                        content_type="text/html; charset=utf-8")
    from pianold.formats import BY_EXTENSION, serialize
    from pianold.web.service_description import service_description

    ext = {"text/turtle": "ttl", "application/n-triples": "nt", "application/rdf+xml": "rdf", "application/ld+json": "jsonld"}.get(media, "ttl")
    version = g.snapshot.version
    endpoint = current_app.config["PIANOLD"].base + "/sparql"
    body = serialize(service_description(endpoint, version.manifest), BY_EXTENSION[ext])
    rep = Representation.build(body, BY_EXTENSION[ext].media_type + "; charset=utf-8", etag_for(version.id, "sd", ext),
                               version.built, cors=True, vary_accept=True)
    return rep.respond()


def _results_page(query: str, answer: QueryAnswer, dgs, ngs) -> Response:
    import json

    from pianold.web.pages import link_for

    table = {"kind": answer.kind, "truncated": answer.truncated}
    if answer.kind == "solutions":
        data = json.loads(answer.body)
        if "boolean" in data:
            table["kind"], table["boolean"] = "boolean", data["boolean"]
        else:
            table["vars"] = data["head"]["vars"]
            table["rows"] = [[_cell(row.get(v), link_for) for v in table["vars"]] for row in data["results"]["bindings"]]
    else:
        from rdflib import Graph

        graph = Graph().parse(data=answer.body.decode("utf-8"), format="nt")
        table["vars"] = ["subject", "predicate", "object"]
        table["rows"] = [[_cell(_as_json(t), link_for) for t in triple] for triple in sorted(graph)]
    params = [("query", query)] + [("default-graph-uri", x) for x in dgs] + [("named-graph-uri", x) for x in ngs]
    downloads = [(name, "/sparql?" + urlencode(params + [("format", fmt)])) for name, fmt in DOWNLOADS[table["kind"]]]
    share = "/sparql?" + urlencode(params + [("format", "html")])
    body = render_template("sparql.html", query=query, examples=EXAMPLES, prefixes=PREFIXES, answer=table,
                           downloads=downloads, share=share, max_rows=current_app.config["PIANOLD"].sparql_max_rows)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    return response


def _as_json(term) -> dict:
    from rdflib import BNode, Literal

    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype:
            out["datatype"] = str(term.datatype)
        return out
    return {"type": "bnode" if isinstance(term, BNode) else "uri", "value": str(term)}


def _cell(value: dict | None, link_for) -> dict:
    if value is None:
        return {}
    if value["type"] == "uri":
        href, local = link_for(value["value"])
        return {"iri": value["value"], "href": href, "local": local}
    return {"text": value["value"], "lang": value.get("xml:lang"), "datatype": value.get("datatype")}


def _error(status: int, message: str, query: str | None = None) -> Response:
    from pianold.web.errors import error_response

    response = error_response(status, message)
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response
