"""HTTP caching and CORS, shared by every blueprint: strong ETags per representation,
Last-Modified from the data version, 304s, Cache-Control, Vary.

A `Representation` carries its body and every header, computed once per data version, so a
request for a cached document (or a 304) does no more work than a static file would."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request
from werkzeug.http import http_date, parse_date, parse_etags

MAX_AGE = 300
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Last-Modified, Link, Location, X-Pianold-Version"),
)


def etag_for(version_id: str, *parts: str) -> str:
    """A strong validator for one representation of one resource in one data version."""
    return hashlib.sha256("\0".join((version_id, *parts)).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Representation:
    body: bytes
    content_type: str
    etag: str  # unquoted
    last_modified: datetime
    headers: tuple[tuple[str, str], ...]  # validators, caching, CORS, links: sent on 200 and 304

    @classmethod
    def build(cls, body: bytes, content_type: str, etag: str, last_modified: datetime, *, cors: bool = False,
              vary_accept: bool = False, extra: tuple[tuple[str, str], ...] = (), max_age: int = MAX_AGE) -> "Representation":
        headers = [("ETag", f'"{etag}"'), ("Last-Modified", http_date(last_modified)),
                   ("Cache-Control", f"public, max-age={max_age}")]
        if vary_accept:
            headers.append(("Vary", "Accept"))
        if cors:
            headers.extend(CORS_HEADERS)
        headers.extend(extra)
        return cls(body, content_type, etag, last_modified.replace(microsecond=0), tuple(headers))

    def respond(self) -> Response:
        """The answer as a Flask response (200, or 304 to a client whose copy is current)."""
        if self.client_is_current(request.environ):
            return Response(status=304, headers=self.headers)
        return Response(self.body, content_type=self.content_type, headers=self.headers)

    def serve(self, environ: dict, start_response, extra: tuple[tuple[str, str], ...] = ()) -> tuple[list[bytes], int]:
        """The same answer straight to WSGI, for layers in front of Flask: (body, status)."""
        if self.client_is_current(environ):
            start_response("304 NOT MODIFIED", [*self.headers, *extra])
            return [b""], 304
        start_response("200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(self.body))),
                                  *self.headers, *extra])
        return ([b""] if environ.get("REQUEST_METHOD") == "HEAD" else [self.body]), 200

    def client_is_current(self, environ: dict) -> bool:
        """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since."""
        raw = environ.get("HTTP_IF_NONE_MATCH")
        if raw is not None:
            if raw == f'"{self.etag}"':  # the common case, without parsing
                return True
            tags = parse_etags(raw)
            return tags.star_tag or tags.contains(self.etag)
        since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        return since is not None and self.last_modified <= since


def cors(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response
