"""A WSGI layer in front of Flask that replays responses already computed for this data version.

Dereference is the hot path of a linked-data server: the same few thousand documents and 303s,
asked again and again. Flask computes each response once (the view marks it cacheable); later
identical requests (same data version, host, path and Accept header) are answered from memory, and a
matching If-None-Match gets its 304 here too. A rebuild changes the version, so nothing stale
is ever replayed; each entry carries the version it was computed from. Replays are counted in the
metrics and written to the access log like Flask's answers, under the route that computed them.

SPARQL answers are kept apart from documents and pages, each in half the budget: a client sending
distinct queries with large answers (each can be an eighth of its half) would otherwise push every
document out, and dereference would compute them all again."""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from werkzeug.http import unquote_etag

from pianold.web import ops
from pianold.web.caching import SizedLRU, none_match

CACHEABLE = "pianold.cacheable"


class _Entry(NamedTuple):
    status: str
    headers: list
    data: bytes
    etag: str | None  # unquoted
    route: str  # the route that computed it (Flask's or the SPARQL layer's), for the metrics and the access log


def mark_cacheable(environ: dict) -> None:
    """Called by a view whose response depends only on version, host, path and Accept."""
    environ[CACHEABLE] = True


class FastPath:
    def __init__(self, wsgi_app, current_link: str, metrics: ops.Metrics, max_bytes: int, answers_route: str,
                 size: int = 8192):
        self.wsgi_app = wsgi_app
        self.metrics = metrics
        self.current_link = current_link
        self.entries = SizedLRU(size, max_bytes // 2)  # documents and pages
        self.answers = SizedLRU(size, max_bytes // 2)  # SPARQL answers: those computed by answers_route
        self.answers_route = answers_route
        self.hits = 0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        try:
            version = os.readlink(self.current_link).rsplit("/", 1)[-1]
        except OSError:
            return self.wsgi_app(environ, start_response)
        # the host and scheme too: pages and the sitemap link to the host they were asked on, so
        # an answer computed for one Host header is never replayed to a request naming another
        key = (version, environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""), environ.get("SCRIPT_NAME", ""),
               environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""))
        entry = self.entries.get(key, touch=False) or self.answers.get(key, touch=False)
        if entry is not None and not _other_preconditions(environ):
            self.hits += 1  # approximate under threads; a metric, not an invariant
            answer, status = self.replay(entry, environ, start_response, method)
            ops.record(self.metrics, method, _path(environ), status,
                       time.perf_counter() - started, entry.route, version, replay=True)
            return answer

        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        if not environ.get(CACHEABLE) or method != "GET" or not captured.get("status", "").startswith(("200", "303")):
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        headers = captured["headers"]
        if dict(headers).get("X-Pianold-Version") == version:
            etag = next((unquote_etag(v)[0] for k, v in headers if k.lower() == "etag"), None)
            route = environ.get(ops.ROUTE, "unmatched")
            (self.answers if route == self.answers_route else self.entries).put(key, _Entry(captured["status"], headers, data, etag, route), len(data))
        return [data]

    @staticmethod
    def replay(entry: _Entry, environ, start_response, method) -> tuple[list[bytes], int]:
        status, headers, data, etag, _ = entry
        if etag is not None and "HTTP_IF_NONE_MATCH" in environ and none_match(environ["HTTP_IF_NONE_MATCH"], etag):
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")])
            return [b""], 304
        start_response(status, headers)
        return ([b""] if method == "HEAD" else [data]), int(status[:3])


def _other_preconditions(environ: dict) -> bool:
    """Conditions a replay does not judge (only If-None-Match is): the app answers them."""
    return ("HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ
            or ("HTTP_IF_MODIFIED_SINCE" in environ and "HTTP_IF_NONE_MATCH" not in environ))


def _path(environ: dict) -> str:
    """The request path as Flask reports it (WSGI hands it over as latin-1 decoded bytes)."""
    return environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")
