"""HTTP caching and CORS, shared by every blueprint: strong ETags per representation,
Last-Modified from the data version, 304s, Cache-Control, Vary."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, request

MAX_AGE = 300


def etag_for(version_id: str, *parts: str) -> str:
    """A strong validator for one representation of one resource in one data version."""
    return hashlib.sha256("\0".join((version_id, *parts)).encode("utf-8")).hexdigest()[:32]


def not_modified(etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since."""
    if request.if_none_match:
        return request.if_none_match.contains(etag) or request.if_none_match.star_tag
    if request.if_modified_since is not None:
        return last_modified.replace(microsecond=0) <= request.if_modified_since
    return False


def cached(response: Response, etag: str, last_modified: datetime, *, vary_accept: bool = False,
           max_age: int = MAX_AGE) -> Response:
    response.set_etag(etag)
    response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if vary_accept:
        response.vary.add("Accept")
    return response


def conditional(make: callable, etag: str, last_modified: datetime, **kw) -> Response:
    """A 304 when the client's copy is current, else the full response from `make()`."""
    if not_modified(etag, last_modified):
        return cached(Response(status=304), etag, last_modified, **kw)
    return cached(make(), etag, last_modified, **kw)


def cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link, Location, X-Pianold-Version"
    return response
