"""The one place that turns exceptions into responses: HTML, Turtle or plain text by Accept,
a clear message, the right status, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from pianold.store import StoreError
from pianold.web.conneg import negotiate
from pianold.web.published import NotPublished

log = logging.getLogger("pianold.web")

TITLES = {
    400: ("Richiesta non valida", "Bad request"),
    403: ("Operazione non consentita", "Forbidden"),
    404: ("Risorsa non trovata", "Not found"),
    405: ("Metodo non consentito", "Method not allowed"),
    406: ("Formato non disponibile", "Not acceptable"),
    412: ("Precondizione non soddisfatta", "Precondition failed"),
    413: ("Richiesta troppo grande", "Payload too large"),
    414: ("Indirizzo troppo lungo", "URI too long"),
    415: ("Tipo di contenuto non supportato", "Unsupported media type"),
    416: ("Intervallo non disponibile", "Range not satisfiable"),
    422: ("Richiesta non elaborabile", "Unprocessable content"),
    500: ("Errore interno", "Internal error"),
    502: ("Archivio dati non raggiungibile", "Bad gateway"),
    503: ("Servizio non disponibile", "Service unavailable"),
    504: ("Tempo scaduto", "Gateway timeout"),
}


class NotFoundHere(HTTPException):
    code = 404


class NotAcceptable(HTTPException):
    code = 406

    def __init__(self, path: str, available: list[tuple[str, str]]):
        self.available = available
        super().__init__("none of the formats in the Accept header is available for " + path
                         + "; available: " + ", ".join(m for m, _ in available))


ERROR_FORMATS = ["text/html", "text/plain", "text/turtle", "application/json"]


def wants_html() -> bool:
    """Whether an error to this request is an HTML page (a browser's Accept, or none)."""
    return negotiate(request.headers.get("Accept"), ERROR_FORMATS) == "text/html"


def error_response(status: int, message: str, available: list[tuple[str, str]] | None = None) -> Response:
    kind = negotiate(request.headers.get("Accept"), ERROR_FORMATS) or "text/plain"
    if kind == "text/html":
        title_it, title_en = TITLES.get(status, ("Errore", "Error"))
        body = render_template("error.html", status=status, title_it=title_it, title_en=title_en,
                               message=message, available=available or [])
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
    elif kind == "text/turtle":
        text = "".join(f"# {line}\n" for line in f"{status} {TITLES.get(status, ('', 'Error'))[1]}\n{message}".splitlines())
        response = Response(text, status=status, content_type="text/turtle; charset=utf-8")
    elif kind == "application/json":
        import json

        response = Response(json.dumps({"status": status, "error": message}), status=status, content_type="application/json")
    else:
        response = Response(f"{status} {TITLES.get(status, ('', 'Error'))[1]}: {message}\n", status=status,
                            content_type="text/plain; charset=utf-8")
    response.vary.add("Accept")
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        response = error_response(err.code or 500, err.description or "", getattr(err, "available", None))
        for name, value in err.get_headers(request.environ):  # the status's own fields: Allow (405), Content-Range (416)…
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(NotPublished)
    def not_published(err):
        return error_response(503, str(err))

    @app.errorhandler(StoreError)
    def store_error(err):
        from pianold.store.remote import StoreTimeout

        from pianold.store.remote import shown_url

        # the store's address for the log only: answers go to any client
        log.error("store error (%s): %s", shown_url(current_app.config["PIANOLD"].store_url or ""), err)
        return error_response(504 if isinstance(err, StoreTimeout) else 502, f"the data store did not answer: {err}")

    @app.errorhandler(Exception)
    def unexpected(err):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "an unexpected error occurred; it has been logged")
