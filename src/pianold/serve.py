"""`pianold serve`: build if needed, then run the app under waitress (a production WSGI server)."""

from __future__ import annotations

import gc
import logging
import signal
import sys
from typing import Callable

from pianold.config import Settings
from pianold.ingest import SourceError
from pianold.publish import (PUSHED, NotSwitchable, ValidationFailed, build, built_elsewhere, current_version, is_complete,
                             is_current)

log = logging.getLogger("pianold.serve")
MAX_HEADER_BYTES = 32 * 1024  # all request headers together; browsers send < 8 KiB
MAX_BODY_BYTES = 2 * 1024 * 1024  # the app refuses more than 1 MiB with 413 anyway


class CannotServe(Exception):
    """serve will not start as asked: nothing to serve without building, or a build would publish
    other sources over the published version. Nothing was changed."""


def ensure_published(settings: Settings, on_build_error: Callable[[Exception], None]) -> None:
    """Build when nothing is published or the sources changed; a failed rebuild keeps serving
    the previous version (if there is one) and says so. With no_build, serve what is published as
    it is. A version built from another data folder (copied from another host, say) is never
    rebuilt from this one: that would replace what it publishes with other plans, unasked."""
    if settings.no_build:
        _check_servable(settings)
        return
    if is_current(settings):
        return
    published = current_version(settings.dist_dir)
    if published is not None and (elsewhere := built_elsewhere(settings, published)) is not None:
        raise CannotServe(
            f"version {published.id} in {settings.dist_dir} was built from the sources in {elsewhere}, not from "
            f"{settings.data_dir}, and serve would publish these over it: give serve the folder it was built from "
            f"(--data {elsewhere}, or data_dir), or serve it as it is with --no-build (no_build = true); "
            f"`pianold build` publishes {settings.data_dir} over it, if that is what you want. Nothing was changed")
    try:
        version = build(settings)
        log.warning("published version %s", version.id)
    except (SourceError, ValidationFailed) as err:
        if current_version(settings.dist_dir) is None:
            on_build_error(err)
            raise
        log.error("the sources changed but do not build; still serving the previous version:\n%s", err)
    except OSError as err:  # e.g. a read-only dist/ (a server need not write): serve what is published
        if current_version(settings.dist_dir) is None:
            raise
        log.error("the sources changed but the new version cannot be written (%s); still serving the previous version", err)
    except NotSwitchable as err:  # dist/current copied as a folder: what it holds can still be served
        if current_version(settings.dist_dir) is None:
            on_build_error(err)
            raise
        log.error("the sources changed but cannot be published: %s; still serving the previous version", err)


def _check_servable(settings: Settings) -> None:
    """With no_build there is no build to fill a gap: a version must be published, whole. (With a
    remote store the server answers for the pushed version, and says when there is none.)"""
    if settings.store_url:
        return
    version = current_version(settings.dist_dir)
    if version is None:
        raise CannotServe(f"nothing is published in {settings.dist_dir} to serve without building (no_build): copy a "
                          "version there, or run `pianold build`")
    if not is_complete(version.path):
        raise CannotServe(f"version {version.id} in {version.path} is incomplete (a file its manifest lists is missing "
                          "or has another size): copy it again, or run `pianold build`")


class StoreUnusable(Exception):
    """The published store cannot be opened or queried: serving it would only give errors."""


def check_store(settings: Settings) -> None:
    """Open the published embedded store once before listening, so a corrupt store stops start-up
    with a message instead of failing every request. (A remote store may come up later: not checked.)"""
    if settings.store_url:
        return
    from pianold.store import EmbeddedStore, StoreError

    version = current_version(settings.dist_dir)
    try:
        store = EmbeddedStore(version.store_path)
        if not store.ask("ASK { ?s ?p ?o }"):
            raise StoreError("it is empty")
    except (StoreError, OSError) as err:
        raise StoreUnusable(
            f"cannot serve: the published store of version {version.id} ({version.store_path}) is unusable: {err}. "
            f"Remove {version.path} and run `pianold build` to publish it again.") from None


def run(settings: Settings, on_build_error: Callable[[Exception], None]) -> None:
    from pianold.web import create_app

    configure_logging()
    ensure_published(settings, on_build_error)
    check_store(settings)
    warn_unpushed(settings)
    serve_app(create_app(settings), settings)


def warn_unpushed(settings: Settings) -> None:
    """With a remote store, the server answers for the version loaded into it: say when a newer
    build waits for `pianold push`, or when nothing was pushed yet."""
    if not settings.store_url:
        return
    built, pushed = current_version(settings.dist_dir), current_version(settings.dist_dir, PUSHED)
    if pushed is None:
        log.warning("nothing has been loaded into the store %s yet: run `pianold push`; until then "
                    "every page answers 503", settings.store_url)
    elif built is not None and built.id != pushed.id:
        log.warning("serving version %s, the one in the store; version %s is built but not pushed: run `pianold push`",
                    pushed.id, built.id)


def configure_logging() -> None:
    """What `pianold serve` logs: its own messages and the access log (JSON lines), to stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queue under load is normal, not news


def waitress_options(settings: Settings) -> dict:
    """How pianold runs waitress (the benchmarks' static baseline runs under the same options).
    Slow or idle clients are held by waitress's event loop, not by worker threads; its default
    limit of 100 connections is raised (poll() instead of select() lifts the 1024-descriptor
    ceiling) and connections idle for a minute are dropped, so trickling clients cannot lock
    others out. X-Forwarded-* headers are removed by waitress unless a proxy is trusted
    (`trusted_proxies`), and then judged by the app (ProxyFix, in create_app), as under any server."""
    return dict(host=settings.host, port=settings.port, threads=settings.workers, connection_limit=settings.max_connections,
                channel_timeout=60, asyncore_use_poll=True, max_request_header_size=MAX_HEADER_BYTES,
                max_request_body_size=MAX_BODY_BYTES, clear_untrusted_proxy_headers=not settings.trusted_proxies)


def create_server(app, settings: Settings):
    """A waitress server for `app` (not yet running), whose connections stay open after a 304 and
    which answers a request line over half the header cap with 414."""
    import waitress
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import BaseWSGIServer
    from waitress.task import WSGITask
    from waitress.utilities import BadRequest, RequestHeaderFieldsTooLarge

    class KeepOpenTask(WSGITask):
        """waitress 3.0 ends an HTTP/1.1 connection after every response without a body (a 304,
        a 204), as after a body of unknown length. Such a response ends with its headers, so the
        connection can carry the client's next request: a harvester revalidating thousands of
        documents, or a browser revalidating a page, keeps its connection."""

        _bodiless = False

        def build_response_header(self):
            self._bodiless = (self.version == "1.1" and self.status.startswith(("204", "304"))  # not a 1xx: interim
                              and self.request.headers.get("CONNECTION", "").lower() != "close")
            try:
                return super().build_response_header()
            finally:
                self._bodiless = False

        def set_close_on_finish(self) -> None:
            if not self._bodiless:
                super().set_close_on_finish()

    class UriTooLong(BadRequest):
        code = 414
        reason = "URI Too Long"

    class LongUrlParser(HTTPRequestParser):
        """Answers 414 URI Too Long instead of 431 Request Header Fields Too Large when what passed
        the header cap is the request line itself: a long SPARQL query sent by GET, which clients
        such as SPARQLWrapper then report as such (URITooLong)."""

        def received(self, data):
            seen = self.header_plus + data if self.body_rcv is None and not self.completed else b""
            consumed = super().received(data)
            if isinstance(self.error, RequestHeaderFieldsTooLarge):
                half = self.adj.max_request_header_size // 2
                line_end = seen.find(b"\n")
                if line_end < 0 or line_end >= half:
                    self.error = UriTooLong(f"the request's URL is over {half} bytes; send a long SPARQL query "
                                            "by POST (a form, or a body of type application/sparql-query)")
            return consumed

    class KeepOpenChannel(HTTPChannel):
        task_class = KeepOpenTask
        parser_class = LongUrlParser

    sockets: dict = {}
    server = waitress.create_server(app, map=sockets, ident="pianold", **waitress_options(settings))
    for listener in sockets.values():  # one per address the host resolves to
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = KeepOpenChannel
    return server


def serve_app(app, settings: Settings) -> None:
    """Serve `app` (from create_app) until SIGTERM or Ctrl-C."""
    from pianold.web.sparql_protocol import start_workers

    # Start-up leaves a large heap of long-lived objects (rdflib, pyshacl, templates); freezing it
    # keeps the garbage collector from re-scanning it on every collection under load.
    gc.collect()
    gc.freeze()
    server = create_server(app, settings)
    start_workers(app)  # once the port is ours: a server that cannot listen starts nothing
    # SIGTERM (systemd, docker stop) ends the server like Ctrl-C: through exit handlers, which
    # write the access-log lines still queued.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"pianold: serving {settings.base} on http://{settings.host}:{settings.port}/", flush=True)
    server.run()
