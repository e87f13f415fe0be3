"""Request paths <-> IRIs. The data's IRIs start with the configured base; a server answers on
any host, so a request path is mapped onto the base (and the ontology's fixed namespace)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from werkzeug.exceptions import BadRequest

from pianold.vocab import ONTOLOGY_IRI

ONTOLOGY_ROOT = ONTOLOGY_IRI.rsplit("/onto/", 1)[0]  # https://w3id.org/pianold
_SAFE = "/:@!$&'()*+,;=-._~"
MAX_PATH = 2048  # characters of a request path; a longer one is answered 414


class UndecodablePath(BadRequest, ValueError):
    """A percent-encoded path that is not UTF-8: a 400 when it comes from a request."""


def request_path(decoded: str) -> str:
    """The one spelling of a request's path (Flask's `request.path`, which the WSGI server and
    werkzeug have already percent-decoded, and decoded from UTF-8): percent-encoded as in the
    data's IRIs. It is not decoded again: `%2561` in a request is the text `%61`, not `a`
    (RFC 3986 §2.4), so it names no IRI of the data."""
    return quote(decoded, safe=_SAFE)


def normalise_path(path: str) -> str:
    """One spelling per path written as in a URI (percent-encoded, or raw UTF-8): both name the
    same IRI. For a path taken from a request, use `request_path`: this would decode it twice."""
    try:
        return quote(unquote(path, errors="strict"), safe=_SAFE)
    except UnicodeDecodeError as err:
        raise UndecodablePath(f"the path is not UTF-8 once percent-decoded (byte 0x{err.object[err.start]:02X})") from None


def iri_for_path(base: str, path: str) -> str:
    path = normalise_path(path)
    if path == "/onto" or path.startswith("/onto/"):
        return ONTOLOGY_ROOT + path
    return base.rstrip("/") + path


def path_for_iri(base: str, iri: str) -> str | None:
    """The local path of an IRI this server describes, or None for an external IRI."""
    onto_prefix = ONTOLOGY_ROOT + "/onto/"
    if iri == ONTOLOGY_IRI or iri.startswith(onto_prefix):
        return iri[len(ONTOLOGY_ROOT):]
    base = base.rstrip("/")
    if iri.startswith(base + "/"):
        return iri[len(base):]
    return None
