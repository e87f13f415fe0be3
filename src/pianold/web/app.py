"""The Flask application factory: `create_app(settings)` works under any WSGI server."""

from __future__ import annotations

import os
import threading

from flask import Flask, Response, g, request
from werkzeug.exceptions import NotFound, RequestURITooLarge
from werkzeug.security import safe_join
from werkzeug.middleware.proxy_fix import ProxyFix

from pianold.config import Settings, load_settings
from pianold.web import catalog, errors, ops, pages, resources, sparql
from pianold.web.caching import cors, preflight
from pianold.web.fastpath import FastPath
from pianold.web.published import Published
from pianold.web.resources import DocumentCache
from pianold.web.urls import MAX_PATH
from pianold.store.workers import WorkerPool
from pianold.web.sparql_protocol import PATH as SPARQL_PATH, SparqlProtocol

SERVER_METHODS = "GET, HEAD, OPTIONS, POST"  # what `OPTIONS *` names: the methods some resource here allows


class PianoldFlask(Flask):
    def make_default_options_response(self) -> Response:
        """Every OPTIONS Flask answers by itself (and those views hand back to it) is a CORS preflight
        too; on a static file that does not exist, a 404 as its GET would be."""
        if request.endpoint == "static":
            found = safe_join(self.static_folder, request.view_args.get("filename", ""))
            if found is None or not os.path.isfile(found):
                raise NotFound()
        return preflight(super().make_default_options_response())


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = PianoldFlask(__name__)
    app.config["PIANOLD"] = settings
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    cache_bytes = settings.cache_mb * 1024 * 1024  # for each of the two caches
    published = app.extensions["pianold.published"] = Published(settings.dist_dir, settings.store_url, settings.sparql_timeout)
    app.extensions["pianold.documents"] = DocumentCache(max_bytes=cache_bytes)
    app.extensions["pianold.sparql_pool"] = WorkerPool(settings.sparql_workers, memory_mb=settings.sparql_worker_memory_mb)  # no process until a query or start_workers
    app.extensions["pianold.sparql_inline"] = threading.Semaphore(settings.sparql_workers)  # queries run in server threads at once
    app.extensions["pianold.sparql_remote"] = threading.Semaphore(settings.sparql_workers + 2)  # queries waiting on a remote store

    @app.before_request
    def server_wide():
        if request.environ.get("PATH_INFO") == "*":  # the request target of `OPTIONS *` (RFC 9110 §9.3.7); other methods: 404
            if request.method == "OPTIONS":
                return Response(status=200, headers={"Allow": SERVER_METHODS})
        elif len(request.path) > MAX_PATH:
            raise RequestURITooLarge(f"the path is longer than the {MAX_PATH} characters an IRI of this dataset can have")

    @app.before_request
    def take_snapshot():
        if request.blueprint == "ops":
            return  # probes answer even when nothing is published
        g.snapshot = app.extensions["pianold.published"].snapshot()

    @app.after_request
    def version_and_cors(response):
        snapshot = g.get("snapshot")
        if snapshot is not None:
            response.headers["X-Pianold-Version"] = snapshot.version.id
        return cors(response)  # public read-only data: every answer, errors included, may be read by any origin

    errors.register(app)
    ops.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(catalog.bp)
    protocol = SparqlProtocol(app.wsgi_app, app)
    app.wsgi_app = app.extensions["pianold.fastpath"] = FastPath(protocol, published.current_link,
                                                                 app.extensions["pianold.metrics"], max_bytes=cache_bytes,
                                                                 answers_route=SPARQL_PATH)
    if settings.trusted_proxies:
        # Outermost, so that the fast path and the SPARQL layer see the client's scheme, host and address as
        # the proxy received them. Only as many X-Forwarded-* values as there are proxies are believed.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app
