"""HTTP caching and CORS, shared by every blueprint: strong ETags per representation,
Last-Modified from the data version, 304s, Cache-Control, Vary.

A `Representation` carries its body and every header, computed once per data version, so a
request for a cached document (or a 304) does no more work than a static file would."""

from __future__ import annotations

import functools
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


_http_date = functools.lru_cache(maxsize=16)(http_date)  # of a version's build time, asked on every request


def etag_for(version_id: str, *parts: str) -> str:
    """A strong validator for one representation of one resource in one data version."""
    return hashlib.sha256("\0".join((version_id, *parts)).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Representation:
    body: bytes
    content_type: str
    etag: str | None  # unquoted; None for an answer that may differ next time (no validators)
    last_modified: datetime | None
    headers: tuple[tuple[str, str], ...]  # validators, caching, CORS, links: sent on 200 and 304

    @classmethod
    def build(cls, body: bytes, content_type: str, etag: str, last_modified: datetime, *, cors: bool = False,
              vary_accept: bool = False, extra: tuple[tuple[str, str], ...] = (), max_age: int = MAX_AGE) -> "Representation":
        headers = [("ETag", f'"{etag}"'), ("Last-Modified", _http_date(last_modified)),
                   ("Cache-Control", f"public, max-age={max_age}")]
        if vary_accept:
            headers.append(("Vary", "Accept"))
        if cors:
            headers.extend(CORS_HEADERS)
        headers.extend(extra)
        return cls(body, content_type, etag, last_modified.replace(microsecond=0), tuple(headers))

    @classmethod
    def uncacheable(cls, body: bytes, content_type: str, *, cors: bool = False, vary_accept: bool = False,
                    extra: tuple[tuple[str, str], ...] = ()) -> "Representation":
        """An answer that may differ next time (a query calling RAND or NOW): no validators, kept by no cache."""
        headers = [("Cache-Control", "no-store")]
        if vary_accept:
            headers.append(("Vary", "Accept"))
        if cors:
            headers.extend(CORS_HEADERS)
        headers.extend(extra)
        return cls(body, content_type, None, None, tuple(headers))

    def respond(self) -> Response:
        """The answer as a Flask response: 200, or the 304/412 its preconditions call for."""
        status = self.precondition(request.environ)
        if status is not None:
            return Response(status=status, headers=self.headers_for(status))
        return Response(self.body, content_type=self.content_type, headers=self.headers)

    def serve(self, environ: dict, start_response, extra: tuple[tuple[str, str], ...] = ()) -> tuple[list[bytes], int]:
        """The same answer straight to WSGI, for layers in front of Flask: (body, status)."""
        status = self.precondition(environ)
        if status is not None:
            if status == 304:
                start_response("304 NOT MODIFIED", [*self.headers_for(status), *extra])
            else:  # a 412 may carry a body: an empty one is said to be so, or the connection would close
                start_response("412 PRECONDITION FAILED", [("Content-Length", "0"), *self.headers_for(status), *extra])
            return [b""], status
        start_response("200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(self.body))),
                                  *self.headers, *extra])
        return ([b""] if environ.get("REQUEST_METHOD", "").upper() == "HEAD" else [self.body]), 200

    def headers_for(self, status: int) -> tuple[tuple[str, str], ...]:
        """The headers of a 304 (the 200's), or of a 412, which no cache should keep: the
        precondition that failed is the client's own."""
        if status == 304:
            return self.headers
        return tuple(("Cache-Control", "no-store") if name == "Cache-Control" else (name, value) for name, value in self.headers)

    def precondition(self, environ: dict) -> int | None:
        """RFC 9110 §13.2.2, in its order: a failed If-Match or If-Unmodified-Since is 412; a
        matching If-None-Match is 304 to a GET or HEAD and 412 otherwise; If-Modified-Since (GET
        and HEAD only) gives 304 when nothing changed since. None: answer in full."""
        safe = environ.get("REQUEST_METHOD", "GET").upper() in ("GET", "HEAD")
        if_match = environ.get("HTTP_IF_MATCH")
        if if_match is not None:
            tags = parse_etags(if_match)
            if not (tags.star_tag or (self.etag is not None and tags.contains(self.etag))):  # strong comparison (§13.1.1)
                return 412
        elif self.last_modified is not None:
            since = parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
            if since is not None and self.last_modified > since:
                return 412
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            matched = if_none_match.strip() == "*" or (self.etag is not None and none_match(if_none_match, self.etag))
            return (304 if safe else 412) if matched else None
        since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE")) if safe and self.last_modified is not None else None
        return 304 if since is not None and self.last_modified <= since else None


def none_match(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names this (unquoted) ETag: `*`, a list, weak tags
    (RFC 9110 §13.1.2 compares weakly)."""
    if header == f'"{etag}"':  # the common case, without parsing
        return True
    tags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(etag)


def cors(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response
