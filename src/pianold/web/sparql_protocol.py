"""The SPARQL 1.1 Protocol at /sparql: reading a request, running its query, answering it.

Query requests are answered by `SparqlProtocol`, a plain WSGI layer in front of Flask (inside the
fast path), because a query's own work is often a fraction of a millisecond and Flask's request
machinery and hooks would double it. The layer reads every request to /sparql once, into a
`ProtocolRequest` (or the error it makes) kept in the environ, and answers the ones that want
results in a machine format. Everything else goes on to Flask's view (web/sparql.py), which reads
the same `ProtocolRequest`: the query page, the HTML results, the service description, OPTIONS,
and every error, so that errors are rendered by the one error handler the whole site uses (the
layer itself sends only 200s and the empty 304/412 of a conditional request)."""

from __future__ import annotations

import functools
import io
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from pianold.sparql_guard import READ_ONLY, Refused, check_query
from pianold.sparql_tokens import Unreadable, form_of, query_form, tokens
from pianold.store.bounded import MAX_INLINE_GRAPHS, proven_solutions, solution_limit
from pianold.store.workers import QueryAnswer, QueryFailed, QueryJob, WorkerPool, execute
from pianold.web import ops
from pianold.web.caching import Representation, etag_for
from pianold.web.conneg import excluded, negotiate, parse_accept
from pianold.web.fastpath import mark_cacheable
from pianold.web.published import Snapshot

PATH = "/sparql"
PARSED = "pianold.sparql.request"  # environ key: the ProtocolRequest, or the error met reading or answering it

SOLUTION_OFFERS = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                   "text/tab-separated-values", "text/html")
GRAPH_OFFERS = ("text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json", "text/html")
# Other names clients use for these formats, answered in the format they stand for (by graph_form),
# after the formats' own names: Fuseki takes them all. Plain JSON and XML are the answer's JSON and
# XML forms; N3 clients (rdflib's returnFormat="n3" sends text/n3) read Turtle, which is N3; text/plain
# was N-Triples' type before RDF 1.1.
ALIASES = {
    False: {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml"},
    True: {"application/json": "application/ld+json", "application/xml": "application/rdf+xml", "text/n3": "text/turtle",
           "application/n3": "text/turtle", "text/rdf+n3": "text/turtle", "application/x-turtle": "text/turtle",
           "text/plain": "application/n-triples"},
}
# The `format` parameter (not in the protocol: for browsers' download links, and sent by clients
# such as SPARQLWrapper with an Accept header that agrees). A name means what it means for the
# query's kind of answer, as in Fuseki: `xml` and `json` are results formats for a SELECT or ASK,
# RDF/XML and JSON-LD for a CONSTRUCT or DESCRIBE.
FORMAT_PARAMETERS = ("format", "output")
SOLUTION_FORMATS = {
    "json": "application/sparql-results+json", "srj": "application/sparql-results+json",
    "xml": "application/sparql-results+xml", "srx": "application/sparql-results+xml",
    "csv": "text/csv", "tsv": "text/tab-separated-values", "html": "text/html",
}
EXTENSIONS = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml", "text/csv": "csv",
              "text/tab-separated-values": "tsv", "text/turtle": "ttl", "application/n-triples": "nt",
              "application/rdf+xml": "rdf", "application/ld+json": "jsonld"}  # of a downloaded answer
GRAPH_FORMATS = {
    "ttl": "text/turtle", "turtle": "text/turtle", "n3": "text/turtle", "nt": "application/n-triples",
    "ntriples": "application/n-triples", "n-triples": "application/n-triples", "rdf": "application/rdf+xml",
    "xml": "application/rdf+xml", "rdf+xml": "application/rdf+xml", "rdfxml": "application/rdf+xml",
    "jsonld": "application/ld+json", "json-ld": "application/ld+json", "json": "application/ld+json", "html": "text/html",
}


class ProtocolError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class ProtocolRequest:
    query: str | None  # None: a GET without a query (the query page or the service description)
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    media: str | None  # the negotiated result media type; None without a query
    graph_form: bool = False  # a CONSTRUCT or DESCRIBE (its answer is a graph)
    repeatable: bool = True  # the same data always gives the same answer (is_repeatable): cached, with validators
    download: bool = False  # asked with `format` (a page's download link): sent as a file to save


def read(environ: dict, max_bytes: int, allowlist: tuple[str, ...]) -> ProtocolRequest:
    """The request's query, graphs and result media type, checked (size, updates, SERVICE);
    ProtocolError or Refused otherwise. Reads a POST body, so call it once per request. It reads
    the WSGI environ itself: building werkzeug's request object costs more than a light query."""
    method = environ.get("REQUEST_METHOD", "").upper()
    args = _fields(environ.get("QUERY_STRING", "").encode("latin-1", "replace"), "URL's query")
    kind, form, body = "", {}, b""
    if method == "POST":
        body = _body(environ, max_bytes)
        environ["wsgi.input"] = io.BytesIO(body)  # read again by Flask, for a page
        kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            form = _fields(body, "form body")
    query, dgs, ngs = _params(method, kind, args, form, body)
    if query is not None and query.startswith("\ufeff"):
        # a byte order mark, as editors on Windows start a saved query file with (sent as it is by
        # `curl --data-binary @query.rq`): no part of the query, which Jena's grammar also skips
        query = query[1:]
    dgs, ngs = _unique(dgs), _unique(ngs)
    if query is None:
        if method == "POST":
            raise ProtocolError(400, "no query: give query=… (form) or a body of type application/sparql-query")
        return ProtocolRequest(None, dgs, ngs, None)
    if len(query.encode("utf-8")) > max_bytes:
        raise ProtocolError(413, f"the query is longer than the {max_bytes} bytes allowed")
    if not query.strip():
        raise ProtocolError(400, "the query is empty")
    check_query(query, allowlist)
    graph_form = is_graph_form(query)
    wanted = wanted_format(args, form)
    media = _media_for(wanted, environ.get("HTTP_ACCEPT"), graph_form)
    return ProtocolRequest(query, dgs, ngs, media, graph_form, is_repeatable(query), bool(wanted) and media != "text/html")


def wanted_format(args: dict[str, list[str]], form: dict[str, list[str]]) -> str | None:
    """The first non-empty `format` (or `output`, Fuseki's name for it, which SPARQLWrapper sends
    alike) of the URL's query, then of the form body: fields as _fields gives them."""
    return next((v for name in FORMAT_PARAMETERS for v in (*args.get(name, ()), *form.get(name, ())) if v), None)


def _fields(encoded: bytes, where: str) -> dict[str, list[str]]:
    """Fields of an application/x-www-form-urlencoded text (a URL's query or a form body), each
    with its values in order."""
    fields: dict[str, list[str]] = {}
    try:
        for name, value in parse_qsl(encoded.decode("utf-8"), keep_blank_values=True, errors="strict"):
            fields.setdefault(name, []).append(value)
    except UnicodeDecodeError as err:  # raw or percent-encoded
        raise ProtocolError(400, f"the {where} is not UTF-8 (byte 0x{err.object[err.start]:02X})") from None
    return fields


def _body(environ: dict, max_bytes: int) -> bytes:
    """A POST body of at most `max_bytes`: one without a length is read one byte past the cap, no further."""
    length = environ.get("CONTENT_LENGTH") or None
    if length is not None:
        try:
            length = int(length)
        except ValueError:
            raise ProtocolError(400, "the Content-Length header is not a number") from None
        if length > max_bytes:
            raise _too_large(max_bytes)
    elif not environ.get("wsgi.input_terminated"):
        return b""  # no length and no end of input: nothing can be read safely (PEP 3333)
    body = environ["wsgi.input"].read(max_bytes + 1 if length is None else max(0, length))
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    return body


def _too_large(max_bytes: int) -> ProtocolError:
    return ProtocolError(413, f"the request is larger than the {max_bytes} bytes a query may have")


def _params(method: str, kind: str, args: dict, form: dict, body: bytes) -> tuple[str | None, list[str], list[str]]:
    """(query, default graphs, named graphs) from GET, POST form or POST direct (SPARQL 1.1 Protocol §2.1)."""
    if "update" in args or "update" in form:
        raise ProtocolError(403, READ_ONLY)
    if method == "POST":
        if kind == "application/x-www-form-urlencoded":
            source = form
            if "query" in args:
                raise ProtocolError(400, "give the query in the form body or in the URL, not in both" if "query" in form
                                    else "a form POST carries its query in the body (query=…), not in the URL")
        elif kind == "application/sparql-query":
            if "query" in args:
                raise ProtocolError(400, "with a direct POST the query is the body; do not also give a query parameter")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the query body is not UTF-8") from None
            return text, args.get("default-graph-uri", []), args.get("named-graph-uri", [])
        elif kind == "application/sparql-update":
            raise ProtocolError(403, READ_ONLY)
        else:
            raise ProtocolError(415, "POST a query as application/x-www-form-urlencoded (query=…) or as application/sparql-query")
    else:
        source = args
    queries = source.get("query", [])
    if len(queries) > 1:
        raise ProtocolError(400, "exactly one query parameter is allowed")
    dgs = source.get("default-graph-uri", []) + (args.get("default-graph-uri", []) if source is not args else [])
    ngs = source.get("named-graph-uri", []) + (args.get("named-graph-uri", []) if source is not args else [])
    return (queries[0] if queries else None), dgs, ngs


def _unique(graphs: list[str]) -> tuple[str, ...]:
    """A graph named twice is the same graph (the default graph is their merge); passed twice,
    the engine would repeat every match once per copy and per pattern. An empty value names no
    graph: it is a form's empty field, as in the links Virtuoso's query form makes
    (`?default-graph-uri=&query=…`)."""
    return tuple(dict.fromkeys(g for g in graphs if g))


def is_graph_form(query: str) -> bool:
    """A CONSTRUCT or DESCRIBE, as the engine reads it (comments included); by a plain look at
    the prologue when the query cannot be read token by token (the engine will then judge it)."""
    return form_of(query) in ("CONSTRUCT", "DESCRIBE")


# a new value at every evaluation, or another endpoint's data, which may change at any time
_CHANGING = frozenset({"RAND", "NOW", "UUID", "STRUUID", "BNODE", "SERVICE"})
_CHANGING_RAW = re.compile(r"RAND|NOW|UUID|BNODE|SERVICE|_:|\[|\(", re.I)


def is_repeatable(query: str) -> bool:
    """Whether the query gives the same answer, byte for byte, each time it runs on the same data:
    not when it calls RAND, NOW, UUID, STRUUID or BNODE or asks another endpoint (SERVICE), nor
    when a CONSTRUCT template makes blank nodes (`[…]`, `_:b`, a list `( … )`: labelled anew by
    each run). Only a repeatable answer may be cached and carry validators (a strong ETag promises
    the same bytes). Judged on the raw text when it cannot be tokenised."""
    try:
        toks = tokens(query)
    except Unreadable:
        return _CHANGING_RAW.search(query) is None
    if any(t.kind == "word" and t.text.upper() in _CHANGING for t in toks):
        return False
    if query_form(toks) != "CONSTRUCT":
        return True
    start = next((i for i, t in enumerate(toks) if t.text == "{"), len(toks))
    depth = 0
    for i, t in enumerate(toks[start:], start):  # the template
        depth += {"{": 1, "}": -1}.get(t.text, 0)
        if depth == 0:
            return True
        if t.text == "[" or t.text.startswith("_"):
            return False
        if t.text == "(" and (i + 1 >= len(toks) or toks[i + 1].text != ")"):  # a list's cells; `()` is rdf:nil
            return False
    return True


def _media_for(wanted: str | None, accept: str | None, graph_form: bool) -> str:
    """From the `format` parameter (for browsers), else the Accept header."""
    if wanted:
        names = GRAPH_FORMATS if graph_form else SOLUTION_FORMATS
        media = names.get(wanted.lower())
        if media is None:  # a media type itself (format=text/csv), as Virtuoso and Fuseki take it too
            # a `+` written as it is in a link reaches us as a space, which no media type holds
            typed = wanted.split(";", 1)[0].strip().lower().replace(" ", "+")
            media = typed if typed in (GRAPH_OFFERS if graph_form else SOLUTION_OFFERS) else ALIASES[graph_form].get(typed)
        if media is None:
            kind = "a CONSTRUCT or DESCRIBE" if graph_form else "a SELECT or ASK"
            raise ProtocolError(400, f"format={wanted!r} is not available for {kind}; use one of "
                                     + ", ".join(sorted(names)) + " (or an Accept header)")
        return media
    offers = GRAPH_OFFERS if graph_form else SOLUTION_OFFERS
    media = _negotiate(accept, offers, graph_form)
    if media is None:
        raise ProtocolError(406, "none of the media types in the Accept header can carry this query's results; available: "
                                 + ", ".join(offers))
    return ALIASES[graph_form].get(media, media)


# the formats of the other kind of answer: a graph's for a SELECT or ASK, a results format for a CONSTRUCT or DESCRIBE
OTHER_KIND = {False: GRAPH_OFFERS[:4], True: SOLUTION_OFFERS[:4]}


@functools.lru_cache(maxsize=256)
def _negotiate(accept: str | None, offers: tuple[str, ...], graph_form: bool) -> str | None:
    """Clients send the same few Accept headers again and again. An alias (ALIASES) is answered
    in the format it stands for, so it is no answer to a client that excluded that format.

    A client that sends one Accept for every query, naming formats of the other kind of answer
    only, gets this kind's first format it did not refuse, as from Fuseki (which answers a
    query's unmatched Accept with its default format): rdflib's SPARQLStore with
    `returnFormat="json"` asks for `application/sparql-results+json` for a CONSTRUCT too, and
    parses the graph by the Content-Type it gets. A header naming neither kind (`image/png`) is
    still a 406."""
    aliases = ALIASES[graph_form]
    media = negotiate(accept, [*offers, *aliases], aliases)
    if media is None and negotiate(accept, list(OTHER_KIND[graph_form])) is not None:
        ranges = parse_accept(accept)
        media = next((m for m in offers[:4] if not excluded(ranges, m)), None)
    return media


def pool(app) -> WorkerPool:
    """The app's query workers (made with the app, started by `start_workers` or on demand)."""
    return app.extensions["pianold.sparql_pool"]


def start_workers(app) -> None:
    """Start the query workers (a server calls it once it listens), so the first query does not
    wait for them. Called from the thread that will serve: a worker asks to die with the thread
    that started it (PR_SET_PDEATHSIG), so a short-lived starter thread would take them along.
    Starting returns at once; the processes finish booting in the background."""
    if app.config["PIANOLD"].store_url:
        return  # a remote store answers the queries itself
    pool(app).start()


def answer(app, snapshot: Snapshot, req: ProtocolRequest, media: str) -> QueryAnswer:
    """The query's answer in `media`, from the versioned cache or run now; QueryFailed otherwise."""
    settings = app.config["PIANOLD"]

    def run() -> QueryAnswer:  # only when not answered from the cache
        return _run(app, snapshot, QueryJob(str(snapshot.version.store_path), req.query, media, settings.sparql_max_rows,
                                            settings.sparql_max_answer_bytes, req.default_graphs, req.named_graphs,
                                            base_iri=settings.base + PATH))

    if not req.repeatable:
        return run()
    key = (snapshot.version.id, "sparql", req.query, media, req.default_graphs, req.named_graphs)
    return app.extensions["pianold.documents"].get(key, run)


def _run(app, snapshot: Snapshot, job: QueryJob) -> QueryAnswer:
    settings = app.config["PIANOLD"]
    store = snapshot.store
    if hasattr(store, "sparql"):  # a remote store answers the protocol itself
        from pianold.store.base import StoreError
        from pianold.store.remote import StoreTimeout

        # as many queries waiting on the store as the embedded pool admits: the others are told
        # at once, so SPARQL never holds every server thread (dereference keeps its own)
        admitted = app.extensions["pianold.sparql_remote"]
        if not admitted.acquire(blocking=False):
            raise QueryFailed(503, "the SPARQL endpoint is busy with other queries; retry in a few seconds", retry_after=5)
        try:
            return store.sparql(job, settings.sparql_timeout)
        except StoreTimeout as err:
            raise QueryFailed(504, str(err)) from None
        except StoreError as err:
            raise QueryFailed(502, str(err)) from None
        finally:
            admitted.release()
    inline = app.extensions["pianold.sparql_inline"]
    # as many queries in server threads as in workers: SPARQL leaves threads free for dereference
    if (settings.sparql_inline_budget and len(job.default_graphs) + len(job.named_graphs) <= MAX_INLINE_GRAPHS
            and inline.acquire(blocking=False)):
        try:
            at_most = proven_solutions(store.oxigraph, job.query, settings.sparql_inline_budget, store.match_counts)
            if at_most is not None:  # provably small: no worker round trip
                return execute(store.oxigraph, job._replace(at_most=at_most))
        finally:
            inline.release()
    return pool(app).run(job._replace(at_most=solution_limit(job.query)), settings.sparql_timeout)


def representation(snapshot: Snapshot, req: ProtocolRequest, result: QueryAnswer) -> Representation:
    """The answer with its validators, which depend on the data version and the request only
    (none for an answer that is not repeatable)."""
    version = snapshot.version
    extra = (("X-Pianold-Truncated", str(result.truncated)),) if result.truncated else ()  # the rows it holds
    if req.download:
        extra += (("Content-Disposition", f'attachment; filename="sparql.{EXTENSIONS[result.media_type]}"'),)
    content_type = result.media_type + ("; charset=utf-8" if not result.media_type.endswith("json") else "")
    if not req.repeatable:
        return Representation.uncacheable(result.body, content_type, cors=True, vary_accept=True, extra=extra)
    etag = etag_for(version.id, "sparql", req.query, req.media, str(req.default_graphs), str(req.named_graphs))
    return Representation.build(result.body, content_type, etag, version.built,
                                cors=True, vary_accept=True, extra=extra, max_age=60)


class SparqlProtocol:
    """The WSGI layer that answers query requests for machine formats (module docstring)."""

    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.app = flask_app
        self.settings = flask_app.config["PIANOLD"]
        self.published = flask_app.extensions["pianold.published"]
        self.metrics = flask_app.extensions["pianold.metrics"]

    def __call__(self, environ, start_response):
        # matched as Flask's router matches it (methods upper-cased, repeated leading slashes
        # merged), so that no request reaches the view without having been read here
        method = environ.get("REQUEST_METHOD", "").upper()
        if method not in ("GET", "HEAD", "POST") or "/" + environ.get("PATH_INFO", "").lstrip("/") != PATH:
            return self.wsgi_app(environ, start_response)
        environ[ops.STARTED] = started = time.perf_counter()
        answered = self._answer(environ)
        if answered is None:
            return self.wsgi_app(environ, start_response)  # pages and errors
        version, rep, req = answered
        if method == "GET" and req.repeatable:
            mark_cacheable(environ)
        environ[ops.ROUTE] = PATH
        body, status = rep.serve(environ, start_response, (("X-Pianold-Version", version), *ops.SECURITY_HEADERS))
        ops.record(self.metrics, method, PATH, status, time.perf_counter() - started, PATH, version)
        return body

    def _answer(self, environ) -> tuple[str, Representation, ProtocolRequest] | None:
        """(version, answer, request) for a query that wants a machine format. None leaves the
        request to Flask, with what was read, or the error met, in environ[PARSED]. Preconditions
        are judged on the answer (the cached one when there is one): a query that fails is an
        error whatever its validators would have been (RFC 9110 §13.2.1)."""
        settings = self.settings
        try:
            req = environ[PARSED] = read(environ, settings.sparql_max_query_bytes, settings.sparql_service_allowlist)
            if req.query is None or req.media == "text/html":
                return None
            snapshot = self.published.snapshot()
            result = answer(self.app, snapshot, req, req.media)
            return snapshot.version.id, representation(snapshot, req, result), req
        except (ProtocolError, Refused, QueryFailed) as err:
            err.__context__ = err.__cause__ = None  # its message is all the view needs: no frame holds the environ
            environ[PARSED] = err.with_traceback(None)
        except Exception as err:  # a logged 500 or an HTTP error, by the site's error handlers
            environ[PARSED] = err
        return None
