"""The SPARQL endpoint's pages at /sparql: the query page, HTML results, the service description,
and its errors. Query requests for machine formats are answered in front of Flask (sparql_protocol.py)."""

from __future__ import annotations

import json
import re
import shlex
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from pianold.formats import compact_iri
from pianold.sparql_guard import Refused
from pianold.store.base import StoreError
from pianold.store.workers import QueryAnswer, QueryFailed
from pianold.web.caching import Representation, cors, etag_for, preflight
from pianold.web.conneg import named, negotiate
from pianold.web.fastpath import mark_cacheable
from pianold.web.sparql_examples import PREFIXES, gallery, sample_codes, sample_query
from pianold.web.sparql_protocol import ALIASES, EXTENSIONS, PARSED, PATH, ProtocolError, ProtocolRequest, answer, wanted_format

bp = Blueprint("sparql", __name__)
# A result IRI is made by the query (IRI("javascript:…")), so only web IRIs become links; the CSP
# would block a `javascript:` link, but a page should not offer one.
_WEB_LINK = re.compile(r"https?://", re.I)

# The longest link the page offers: RFC 9110 §4.1 asks clients and servers to take URLs of at least
# 8000 octets; longer ones fail somewhere (browsers, proxies, this server's 32 KiB header cap).
# The query page POSTs a longer query (static/sparql-page.js).
MAX_LINK = 8000
# Rows a results page shows (the downloads carry all of them, up to sparql_max_rows): a page is
# rendered in a server thread after the query, and 10,000 rows of 25 columns took 2.3 s.
PAGE_ROWS = 1000
DOWNLOADS = {"solutions": [("JSON", "json"), ("XML", "xml"), ("CSV", "csv"), ("TSV", "tsv")],
             "boolean": [("JSON", "json"), ("XML", "xml")],
             "graph": [("Turtle", "ttl"), ("N-Triples", "nt"), ("RDF/XML", "rdf"), ("JSON-LD", "jsonld")]}


@bp.route(PATH, methods=["GET", "POST", "HEAD", "OPTIONS"])
def endpoint() -> Response:
    """What the protocol layer (sparql_protocol.py) leaves to Flask: OPTIONS, errors, the query
    page, the service description and results as an HTML page."""
    if request.method == "OPTIONS":
        response = preflight(Response(status=200, headers={"Allow": "GET, HEAD, POST, OPTIONS"}))
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"  # queries are POSTed too
        return response
    parsed = request.environ.pop(PARSED, None)  # popped: an error's traceback would hold the environ in a cycle
    if isinstance(parsed, QueryFailed):
        return _error(parsed.status, str(parsed), parsed.retry_after)
    if isinstance(parsed, (ProtocolError, Refused)):
        return _error(parsed.status, str(parsed))
    if isinstance(parsed, HTTPException):
        return _error(parsed.code or 400, parsed.description or parsed.name)
    if isinstance(parsed, Exception):
        raise parsed  # a logged 500 by the site's error handler
    if not isinstance(parsed, ProtocolRequest) or (parsed.query is not None and parsed.media != "text/html"):
        raise RuntimeError("the SPARQL protocol layer (sparql_protocol.py) did not read this request")
    if parsed.query is None:
        return _without_query()
    engine_media = "application/n-triples" if parsed.graph_form else "application/sparql-results+json"
    started = time.perf_counter()
    try:
        result = answer(current_app, g.snapshot, parsed, engine_media)
    except QueryFailed as err:
        return _error(err.status, str(err), err.retry_after)
    took_ms = round((time.perf_counter() - started) * 1000)
    if request.method == "GET" and parsed.repeatable:
        mark_cacheable(request.environ)
    page = _results_page(parsed.query, result, parsed.default_graphs, parsed.named_graphs, took_ms)
    if not parsed.repeatable:
        page.headers["Cache-Control"] = "no-store"
    return page


# Seconds a store that failed the query page's own queries (the examples' elements, the terms to
# complete) is not asked them again: a slow one would hold every view of the page for its whole time limit.
STORE_RETRY = 60


def _from_store(key: str, make, fallback):
    """make() once per data version, kept with the version's documents; fallback() while a store that
    failed it is left alone."""
    snapshot = g.snapshot
    failed = current_app.extensions.get("pianold.page_store_failed")
    if failed is not None and failed[0] == snapshot.version.id and time.monotonic() - failed[1] < STORE_RETRY:
        return fallback()
    try:
        return current_app.extensions["pianold.documents"].get((snapshot.version.id, key), make)
    except StoreError:  # a remote store that cannot answer: the page still works, with less
        current_app.extensions["pianold.page_store_failed"] = (snapshot.version.id, time.monotonic())
        return fallback()


def _examples() -> list[dict]:
    """The gallery, naming elements of the first published plan (Bari's when the store cannot say)."""
    plans = g.snapshot.version.manifest["plans"]

    def make() -> list[dict]:
        return gallery(sample_codes(g.snapshot.store.table_query(sample_query(plans[0]["iri"])) if plans else []))

    return _from_store("sparql-examples", make, lambda: gallery(sample_codes([])))


def _page(query: str, **context) -> str:
    """The query page, with `query` in its editor: the gallery, the prefixes and the words the
    editor completes go with every one of its forms (empty, with results, with an error)."""
    return render_template("sparql.html", max_link=MAX_LINK, query=query, examples=_examples(), prefixes=PREFIXES,
                           words=_completions(), curl=_curl(query), **context)


def _curl(query: str) -> str:
    """The query as a curl command for a POSIX shell, its answer in CSV (a graph's in Turtle, which
    the endpoint gives a CONSTRUCT asked for CSV); static/sparql-page.js writes the same command
    for the query in the editor."""
    return f"curl -H 'Accept: text/csv' --data-urlencode {shlex.quote('query=' + query)} {request.host_url}sparql"


def _completions() -> list[list[str]]:
    """What the editor offers to complete (Ctrl-Space): the prefixes the gallery declares, then the
    ontology's terms as CURIEs with their Italian labels, as [text, label] pairs."""
    from pianold.web.pages import term_labels

    prefixes = [[name + ":", iri] for name, iri in _PREFIX_LINE.findall(PREFIXES)]

    def make() -> list[list[str]]:
        words = list(prefixes)
        for iri, labels in sorted(term_labels().items()):
            curie = compact_iri(iri)
            if curie != iri:
                words.append([curie, labels.get("it") or labels.get("en") or next(iter(labels.values()), "")])
        return words

    return _from_store("sparql-words", make, lambda: prefixes)


_PREFIX_LINE = re.compile(r"PREFIX (\w*): <([^>]*)>")


def _without_query() -> Response:
    """A bare GET: the query page for a browser, the service description for a machine."""
    media = negotiate(request.headers.get("Accept"), ["text/html", "text/turtle", "application/n-triples",
                                                      "application/rdf+xml", "application/ld+json", "application/json"],
                      {"application/json": "application/ld+json"})  # a graph: plain JSON is JSON-LD, as in dereference
    if media == "text/html":
        response = Response(_page(request.args.get("example_query") or _examples()[0]["query"], answer=None),
                            content_type="text/html; charset=utf-8")
        response.vary.add("Accept")  # the service description answers the same URL
        return response
    from pianold.formats import BY_EXTENSION, serialize
    from pianold.web.service_description import service_description

    ext = EXTENSIONS.get(ALIASES[True].get(media, media), "ttl")  # a graph's formats, plain JSON its JSON-LD
    version = g.snapshot.version
    settings = current_app.config["PIANOLD"]
    body = serialize(service_description(settings.base + "/sparql", version.manifest, bool(settings.sparql_service_allowlist)),
                     BY_EXTENSION[ext])
    rep = Representation.build(body, BY_EXTENSION[ext].media_type + "; charset=utf-8", etag_for(version.id, "sd", ext),
                               version.built, cors=True, vary_accept=True)
    return rep.respond()


def _results_page(query: str, result: QueryAnswer, dgs, ngs, took_ms: int) -> Response:
    """The results as a page; took_ms is the time the server spent answering the query (measured
    when the page was made: a cached page tells the time of its first run)."""
    from pianold.web.pages import link_for

    table = {"kind": result.kind, "truncated": result.truncated, "took_ms": took_ms}
    if result.kind in ("solutions", "boolean"):
        data = json.loads(result.body)
        if "boolean" in data:
            table["kind"], table["boolean"] = "boolean", data["boolean"]
        else:
            table["vars"] = data["head"]["vars"]
            bindings = data["results"]["bindings"]
            table["total"] = len(bindings)
            table["rows"] = [[_cell(row.get(v), link_for) for v in table["vars"]] for row in bindings[:PAGE_ROWS]]
    else:  # N-Triples, from the engine (RDF 1.2 triple terms included)
        import pyoxigraph

        from pianold.store.results import json_term

        triples = sorted(pyoxigraph.parse(result.body, format=pyoxigraph.RdfFormat.N_TRIPLES), key=str)
        table["vars"] = ["subject", "predicate", "object"]
        table["total"] = len(triples)
        table["rows"] = [[_cell(json_term(t), link_for) for t in (q.subject, q.predicate, q.object)] for q in triples[:PAGE_ROWS]]
    if "rows" in table:
        _name_cells(table["rows"])
    params = [("query", query)] + [("default-graph-uri", x) for x in dgs] + [("named-graph-uri", x) for x in ngs]
    share = "/sparql?" + urlencode(params + [("format", "html")])
    # a query too long for a URL is downloaded by POSTing it, and has no link to share
    downloads = [(name, fmt, "/sparql?" + urlencode(params + [("format", fmt)])) for name, fmt in DOWNLOADS[table["kind"]]]
    long_query = len(share) > MAX_LINK
    body = _page(query, answer=table, downloads=downloads, share=None if long_query else share, params=params)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    return response


def _name_cells(rows: list[list[dict]]) -> None:
    """Give the cells holding IRIs their names (label_it, label_en): the ontology's terms and the
    common vocabularies' (skos:Concept) from the labels at hand, this site's resources from one
    store query for the whole page."""
    from rdflib import Graph, URIRef

    from pianold.web.describe import labels_of
    from pianold.web.labels import Namer
    from pianold.web.pages import term_labels

    cells = [c for row in rows for c in row if c.get("iri")]
    if not cells:
        return
    try:
        labels = labels_of(g.snapshot.store, {c["iri"] for c in cells if c["local"]})
    except StoreError:  # a remote store that cannot answer: the IRIs are shown without names
        labels = Graph()
    namer = Namer(Graph(), term_labels(), labels)
    for cell in cells:
        node = URIRef(cell["iri"])
        cell["label_it"] = namer.named(node)
        if cell["label_it"] is not None:
            en = namer.en(node)
            cell["label_en"] = en if en != cell["label_it"] else None


def _cell(value: dict | None, link_for) -> dict:
    if value is None:
        return {}
    if value["type"] == "uri":
        href, local = link_for(value["value"])
        if not local and not _WEB_LINK.match(href):  # `javascript:`, `data:`… from the query itself: shown, not linked
            href = None
        # a published prefix shortens the IRI on the page (psm:Action), the whole IRI in its title
        curie = compact_iri(value["value"])
        return {"iri": value["value"], "href": href, "local": local, "curie": curie if curie != value["value"] else None}
    if value["type"] == "triple":  # an RDF 1.2 triple term, written as in N-Triples
        return {"text": "<<( " + " ".join(_nt(value["value"][k]) for k in ("subject", "predicate", "object")) + " )>>"}
    return {"text": value["value"], "lang": value.get("xml:lang"), "datatype": value.get("datatype")}


def _nt(value: dict) -> str:
    if value["type"] == "uri":
        return f"<{value['value']}>"
    if value["type"] == "bnode":
        return f"_:{value['value']}"
    if value["type"] == "triple":
        return _cell(value, None)["text"]
    text = json.dumps(value["value"], ensure_ascii=False)
    return text + (f"@{value['xml:lang']}" if "xml:lang" in value else f"^^<{value['datatype']}>" if "datatype" in value else "")


def _asked_for_a_page() -> bool:
    """Whether the client asked for HTML itself: the query page's form (`format=html`) or an
    Accept naming text/html, as browsers send. A SPARQL client's `*/*` (curl, urllib, SPARQLWrapper
    for some formats, YASGUI's `application/sparql-results+json,*/*;q=0.9`) or no Accept at all is
    a program, which shows or logs an error's body as it is: it gets the message as plain text, as
    from Fuseki, not a 12 KB page."""
    form = request.form.to_dict(flat=False) if request.method == "POST" else {}
    if (wanted_format(request.args.to_dict(flat=False), form) or "").lower() == "html":
        return True
    return named(request.headers.get("Accept"), "text/html")


def _error(status: int, message: str, retry_after: int | None = None) -> Response:
    """The error as the site gives it; to a browser that sent a query, the query page again, with
    the query in the editor and the message above it, so it can be mended."""
    from pianold.web.errors import TITLES, error_response, wants_html

    query = request.form.get("query") if request.method == "POST" else request.args.get("query")
    page = wants_html() and _asked_for_a_page()
    if query is not None and page:
        title_it, title_en = TITLES.get(status, ("Errore", "Error"))
        body = _page(query, answer=None, error={"status": status, "title_it": title_it, "title_en": title_en, "message": message})
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
        response.vary.add("Accept")
    elif wants_html() and not page:  # `*/*` or no Accept: a program, which shows or logs the message as text
        response = Response(f"{status} {TITLES.get(status, ('', 'Error'))[1]}: {message}\n", status=status,
                            content_type="text/plain; charset=utf-8")
        response.vary.add("Accept")
    else:
        response = error_response(status, message)
    response = cors(response)
    if retry_after is not None:  # not after a timeout: the same query would only run out of time again
        response.headers["Retry-After"] = str(retry_after)
    return response
