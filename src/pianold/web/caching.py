"""HTTP caching and CORS, shared by every blueprint: strong ETags per representation,
Last-Modified from the data version, 304s, Cache-Control, Vary.

A `Representation` carries its body and every header, computed once per data version, so a
request for a cached document (or a 304) does no more work than a static file would."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request
from werkzeug.http import http_date, parse_date, parse_etags

MAX_AGE = 300
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Last-Modified, Link, Location, X-Pianold-Version"),
)


class SizedLRU:
    """Least recently used entries go first (least recently stored, for readers that do not
    touch), bounded by count and by bytes (each entry's body and key): a few thousand large SPARQL
    answers, or long query texts, must not fill the memory. An entry heavier than an eighth of
    the budget is not kept at all."""

    def __init__(self, size: int, max_bytes: int):
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict = OrderedDict()  # key -> (value, weight)
        self._lock = threading.Lock()

    def get(self, key, touch: bool = True):
        """The value or None. touch=False reads without the lock (a dict read is atomic) and
        without refreshing the entry: for the hottest path, where the lock would be contended."""
        if not touch:
            found = self._items.get(key)
            return None if found is None else found[0]
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key, value, weight: int) -> None:
        """Keep `value`; weight: its bytes beyond the key (which is counted here too: a query
        text or an Accept header can be as large as a body)."""
        weight += _key_weight(key)
        if weight > self.max_bytes // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._items[key] = (value, weight)
            self.bytes += weight
            while len(self._items) > self.size or self.bytes > self.max_bytes:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)


def _key_weight(key) -> int:
    if isinstance(key, (str, bytes)):
        return len(key)
    if isinstance(key, tuple):
        return 64 + sum(map(_key_weight, key))
    return 32


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
        """The answer as a Flask response (200; 304 or 412 to a client whose copy is current)."""
        if self.client_is_current(request.environ):
            return Response(status=_not_modified(request.method), headers=self.headers)
        return Response(self.body, content_type=self.content_type, headers=self.headers)

    def serve(self, environ: dict, start_response, extra: tuple[tuple[str, str], ...] = ()) -> tuple[list[bytes], int]:
        """The same answer straight to WSGI, for layers in front of Flask: (body, status)."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if self.client_is_current(environ):
            status = _not_modified(method)
            start_response("304 NOT MODIFIED" if status == 304 else "412 PRECONDITION FAILED", [*self.headers, *extra])
            return [b""], status
        start_response("200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(self.body))),
                                  *self.headers, *extra])
        return ([b""] if method == "HEAD" else [self.body]), 200

    def client_is_current(self, environ: dict) -> bool:
        """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since."""
        raw = environ.get("HTTP_IF_NONE_MATCH")
        if raw is not None:
            return none_match(raw, self.etag)
        if environ.get("REQUEST_METHOD", "GET").upper() not in ("GET", "HEAD"):
            return False  # §13.1.3: If-Modified-Since is for GET and HEAD only
        since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        return since is not None and self.last_modified <= since


def none_match(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names this (unquoted) ETag: `*`, a list, weak tags
    (RFC 9110 §13.1.2 compares weakly)."""
    if header == f'"{etag}"':  # the common case, without parsing
        return True
    tags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(etag)


def _not_modified(method: str) -> int:
    """RFC 9110 §13.1.2: 304 to a GET or HEAD whose copy is current, 412 to any other method."""
    return 304 if method in ("GET", "HEAD") else 412


def cors(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response
