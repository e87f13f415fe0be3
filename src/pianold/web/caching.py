"""HTTP caching and CORS, shared by every blueprint: strong ETags per representation,
Last-Modified from the data version, 304s, Cache-Control, Vary.

A `Representation` carries its body and every header, computed once per data version, so a
request for a cached document (or a 304) does no more work than a static file would. A
`FileRepresentation` is the same for a published file (a dump), streamed from disk, with single
byte ranges; both judge preconditions with the same code (`Conditional`)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import http_date, parse_date, parse_etags
from werkzeug.wsgi import wrap_file

MAX_AGE = 300
# The data is public and read-only: any origin may read every answer, errors included (a script
# sees a 404 as a 404, not as a network error). No credentials are involved, so "*" is enough.
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers",
     "Content-Disposition, Content-Location, Content-Range, ETag, Last-Modified, Link, Location, Retry-After, "
     "X-Pianold-Truncated, X-Pianold-Version"),
)
CORS_ALLOW_METHODS = "GET, HEAD, OPTIONS"
CORS_ALLOW_HEADERS = "Accept, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Range, If-Unmodified-Since, Range"
CORS_PREFLIGHT_HEADERS = (  # an OPTIONS preflight's answer, besides CORS_HEADERS
    ("Access-Control-Allow-Methods", CORS_ALLOW_METHODS),
    ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
    ("Access-Control-Max-Age", "86400"),
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


def _headers(etag: str | None, last_modified: datetime | None, *, cors: bool, vary_accept: bool,
             extra: tuple[tuple[str, str], ...], max_age: int = MAX_AGE) -> tuple[tuple[str, str], ...]:
    """Validators and caching (none, and kept by no cache, without an etag), Vary, CORS, the rest."""
    headers = [("ETag", f'"{etag}"'), ("Last-Modified", _http_date(last_modified)),
               ("Cache-Control", f"public, max-age={max_age}")] if etag is not None else [("Cache-Control", "no-store")]
    if vary_accept:
        headers.append(("Vary", "Accept"))
    if cors:
        headers.extend(CORS_HEADERS)
    headers.extend(extra)
    return tuple(headers)


class Conditional:
    """Preconditions judged against a representation's validators: its (unquoted, strong) `etag`
    and `last_modified`, and the `headers` a 304 repeats."""

    etag: str | None  # None: no validators (an answer that may differ next time)
    last_modified: datetime | None
    headers: tuple[tuple[str, str], ...]

    def headers_for(self, status: int) -> tuple[tuple[str, str], ...]:
        """The headers of a 304 (the 200's), or of a 412, which no cache should keep: the
        precondition that failed is the client's own."""
        if status == 304:
            return self.headers
        return tuple(("Cache-Control", "no-store") if name == "Cache-Control" else (name, value) for name, value in self.headers)

    def precondition(self, environ: dict) -> int | None:
        """RFC 9110 §13.2.2, in its order: a failed If-Match or If-Unmodified-Since is 412; a
        matching If-None-Match is 304 to a GET or HEAD and 412 otherwise; If-Modified-Since (GET
        and HEAD only) gives 304 when nothing changed since. None: answer in full (or the range
        asked, which is judged after these, step 5)."""
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


@dataclass(frozen=True)
class Representation(Conditional):
    body: bytes
    content_type: str
    etag: str | None  # unquoted; None for an answer that may differ next time (no validators)
    last_modified: datetime | None
    headers: tuple[tuple[str, str], ...]  # validators, caching, CORS, links: sent on 200 and 304

    @classmethod
    def build(cls, body: bytes, content_type: str, etag: str, last_modified: datetime, *, cors: bool = False,
              vary_accept: bool = False, extra: tuple[tuple[str, str], ...] = (), max_age: int = MAX_AGE) -> "Representation":
        headers = _headers(etag, last_modified, cors=cors, vary_accept=vary_accept, extra=extra, max_age=max_age)
        return cls(body, content_type, etag, last_modified.replace(microsecond=0), headers)

    @classmethod
    def uncacheable(cls, body: bytes, content_type: str, *, cors: bool = False, vary_accept: bool = False,
                    extra: tuple[tuple[str, str], ...] = ()) -> "Representation":
        """An answer that may differ next time (a query calling RAND or NOW): no validators, kept by no cache."""
        return cls(body, content_type, None, None, _headers(None, None, cors=cors, vary_accept=vary_accept, extra=extra))

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


_BYTE_RANGE = re.compile(r"(\d+)-(\d*)|-(\d+)")
_FILE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileRepresentation(Conditional):
    """A published file, answered like a `Representation` (the same validators, preconditions and
    headers) but streamed from disk, never read whole into memory, and with one byte range at a
    time (RFC 9110 §14): Range is judged after the preconditions, only on a GET."""

    path: Path
    size: int
    content_type: str
    etag: str  # unquoted, strong
    last_modified: datetime
    headers: tuple[tuple[str, str], ...]  # sent on 200, 206 and 304

    @classmethod
    def build(cls, path: Path, content_type: str, etag: str, last_modified: datetime, *, cors: bool = False,
              extra: tuple[tuple[str, str], ...] = (), max_age: int = MAX_AGE) -> "FileRepresentation":
        headers = _headers(etag, last_modified, cors=cors, vary_accept=False, max_age=max_age,
                           extra=(("Accept-Ranges", "bytes"), *extra))
        return cls(path, os.stat(path).st_size, content_type, etag, last_modified.replace(microsecond=0), headers)

    def respond(self) -> Response:
        """200, 206, 304, 412 or 416 (RequestedRangeNotSatisfiable, for the site's error handler)."""
        environ = request.environ
        status = self.precondition(environ)
        if status is not None:
            return Response(status=status, headers=self.headers_for(status))
        part = self.byte_range(environ)
        first, last = part or (0, self.size - 1)
        headers = [("Content-Type", self.content_type), ("Content-Length", str(last - first + 1)), *self.headers]
        if part is not None:
            headers.append(("Content-Range", f"bytes {first}-{last}/{self.size}"))
        if environ.get("REQUEST_METHOD", "").upper() == "HEAD":
            return Response([], status=200, headers=headers)
        file = open(self.path, "rb")
        body = _FilePart(file, first, last - first + 1) if part is not None else wrap_file(environ, file, _FILE_CHUNK)
        return Response(body, status=206 if part is not None else 200, headers=headers, direct_passthrough=True)

    def byte_range(self, environ: dict) -> tuple[int, int] | None:
        """The one byte range (first, last) a GET asks for, or None for the whole file: Range
        is ignored when its unit is not bytes, when it is not valid, when it asks for several
        ranges (a server may ignore Range, §14.2; this one sends no multipart answers), and when
        If-Range does not match (§13.1.5). A range wholly past the end raises 416."""
        header = environ.get("HTTP_RANGE")
        if header is None or environ.get("REQUEST_METHOD", "").upper() != "GET":
            return None
        unit, equals, ranges = header.partition("=")
        if not equals or unit.strip().lower() != "bytes":
            return None
        if_range = environ.get("HTTP_IF_RANGE")
        if if_range is not None and not self.range_condition(if_range.strip()):
            return None
        specs = [spec.strip() for spec in ranges.split(",") if spec.strip()]
        found = _BYTE_RANGE.fullmatch(specs[0]) if len(specs) == 1 else None
        if found is None:
            return None
        first, last, suffix = found.groups()
        if suffix is not None:
            length = _position(suffix)
            if length == 0:
                raise RequestedRangeNotSatisfiable(self.size)
            return (max(0, self.size - length), self.size - 1) if self.size else None
        first = _position(first)
        last = _position(last) if last else None
        if last is not None and last < first:
            return None  # not a valid range-spec (§14.1.1): ignored
        if first >= self.size:
            raise RequestedRangeNotSatisfiable(self.size)
        return first, self.size - 1 if last is None else min(last, self.size - 1)

    def range_condition(self, if_range: str) -> bool:
        """If-Range (§13.1.5): an entity tag matches by strong comparison (a weak one never), a
        date only when it is exactly the Last-Modified."""
        if if_range.startswith(('"', "W/")):
            return if_range == f'"{self.etag}"'
        date = parse_date(if_range)
        return date is not None and date == self.last_modified


def _position(digits: str) -> int:
    """A byte position; a longer number than any file's size is kept short (int() of thousands
    of digits is refused by Python)."""
    return int(digits) if len(digits) <= 18 else 10 ** 18


class _FilePart:
    """`length` bytes of an open file from `first`, in chunks; the server closes it (PEP 3333)."""

    def __init__(self, file, first: int, length: int):
        self.file, self.first, self.length = file, first, length

    def __iter__(self):
        self.file.seek(self.first)
        remaining = self.length
        while remaining > 0:
            data = self.file.read(min(_FILE_CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data

    def close(self) -> None:
        self.file.close()


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


def preflight(response: Response) -> Response:
    """An answer to OPTIONS that is also a CORS preflight's (Fetch standard, §3.2.2): any origin,
    the safe methods, the request headers a reader of this data sends (content negotiation,
    conditional and range requests)."""
    for name, value in CORS_PREFLIGHT_HEADERS:
        response.headers[name] = value
    return cors(response)
