"""The Flask application factory: `create_app(settings)` works under any WSGI server."""

from __future__ import annotations

import threading

from flask import Flask, g, request

from pianold.config import Settings, load_settings
from pianold.web import catalog, errors, ops, pages, resources, sparql
from pianold.web.fastpath import FastPath
from pianold.web.published import Published
from pianold.web.resources import DocumentCache
from pianold.store.workers import WorkerPool
from pianold.web.sparql_protocol import SparqlProtocol


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["PIANOLD"] = settings
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    cache_bytes = settings.cache_mb * 1024 * 1024  # for each of the two caches
    published = app.extensions["pianold.published"] = Published(settings.dist_dir, settings.store_url, settings.sparql_timeout)
    app.extensions["pianold.documents"] = DocumentCache(max_bytes=cache_bytes)
    app.extensions["pianold.sparql_pool"] = WorkerPool(settings.sparql_workers)  # no process until a query or start_workers
    app.extensions["pianold.sparql_inline"] = threading.Semaphore(settings.sparql_workers)  # queries run in server threads at once

    @app.before_request
    def take_snapshot():
        if request.blueprint == "ops":
            return  # probes answer even when nothing is published
        g.snapshot = app.extensions["pianold.published"].snapshot()

    @app.after_request
    def version_header(response):
        snapshot = g.get("snapshot")
        if snapshot is not None:
            response.headers["X-Pianold-Version"] = snapshot.version.id
        return response

    errors.register(app)
    ops.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(catalog.bp)
    protocol = SparqlProtocol(app.wsgi_app, app)
    app.wsgi_app = app.extensions["pianold.fastpath"] = FastPath(protocol, published.current_link,
                                                                 app.extensions["pianold.metrics"], max_bytes=cache_bytes)
    return app
