"""The remote backend: a SPARQL 1.1 endpoint (tested with Oxigraph server and Virtuoso; see
docs/deployment.md §5 for what differs on Virtuoso), behind the same interface as the embedded
store, plus loading it over the Graph Store Protocol."""

from __future__ import annotations

import codecs
import functools
import hashlib
import http.client
import io
import ipaddress
import json
import math
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from rdflib import Graph
from werkzeug.http import parse_date

import pyoxigraph as ox

from pianold.sparql_tokens import form_of
from pianold.store.base import Store, StoreError
from pianold.store.oxigraph import to_rdflib
from pianold.store.results import GRAPH_TYPES, serialize_graph, serialize_solutions
from pianold.store.workers import (ANSWER_REFUSALS, QueryAnswer, QueryFailed, QueryJob, is_located_syntax_error, refusal,
                                   syntax_message, too_large, write_boolean,
                                   write_capped)


CHUNK = 1 << 16  # read from a store's answer at a time
# The most a store may send for one of pianold's own queries (a page's, the sitemap's): far more
# than any of them needs, so that a broken store streaming without end cannot fill the memory.
PAGE_MAX_BYTES = 256 * 2 ** 20


# Virtuoso answers 500 to a query it compiled but cannot run, with "Virtuoso SQLSTATE Error …":
# a data exception (class 22: a division by zero, a bad regular expression) or the compiler's
# refusal (37000: a property path with neither end given) is the query's doing, not a broken store.
_VIRTUOSO_QUERY_ERROR = re.compile(r"Virtuoso (?:22[0-9A-Z]{3}|37000) Error ")


class StoreTimeout(StoreError):
    """The remote store did not answer in time."""


BUSY_RETRY = 5  # seconds, when a busy store does not say
MAX_RETRY = 3600  # a store's Retry-After is passed on up to an hour; a longer one reads as this


def retry_after(header: str | None, now: float | None = None) -> int:
    """A busy store's Retry-After (RFC 9110 §10.2.3: seconds, or an HTTP date) as whole seconds
    for pianold's own answer, at least 1 and at most MAX_RETRY; BUSY_RETRY when it gives none or
    nothing readable."""
    value = (header or "").strip()
    if value.isascii() and value.isdigit():
        seconds = int(value.lstrip("0")[:7] or "0")  # a long one is over MAX_RETRY anyway; leading zeros are no digits of it
    else:
        when = parse_date(value) if value else None
        if when is None:
            return BUSY_RETRY
        seconds = math.ceil(when.timestamp() - (time.time() if now is None else now))
    return min(MAX_RETRY, max(1, seconds))


class RemoteStore(Store):
    def __init__(self, query_url: str, timeout: float = 10.0, page_max_bytes: int = PAGE_MAX_BYTES):
        self.query_url = query_url
        self.timeout = timeout
        self.page_max_bytes = page_max_bytes

    @contextmanager
    def _answer(self, query: str, accept: str, *, default_graphs=(), named_graphs=(), timeout: float | None = None,
                max_bytes: int | None = None):
        """The store's answer as it arrives (a file object), read against
        a deadline for the whole answer and at most `max_bytes`; leaving the block closes the
        connection, so an answer read only in part is not sent further."""
        fields = [("query", query)]
        # the store's own default graph otherwise: `pianold push` writes the merge of the named graphs
        # there, as the embedded store has it, so that a query's FROM is the store's to judge
        fields += [("default-graph-uri", g) for g in default_graphs] + [("named-graph-uri", g) for g in named_graphs]
        request = urllib.request.Request(
            self.query_url, data=urllib.parse.urlencode(fields).encode(), method="POST",
            headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "pianold"})
        limit = timeout or self.timeout
        late = f"the store did not answer within {limit:g} s"
        deadline = time.monotonic() + limit  # for the whole answer, the wait for its first byte included
        try:
            with urllib.request.urlopen(request, timeout=limit) as response:
                cap = None if max_bytes is None else max_bytes + 2 * CHUNK  # what the readers fetch ahead of the rows read
                yield io.BufferedReader(_Arriving(response, deadline, cap), CHUNK)
        except urllib.error.HTTPError as err:
            detail = err.read(500).decode("utf-8", "replace").strip()
            if err.code in (429, 503):  # busy, not the query's fault
                wait = retry_after(err.headers.get("Retry-After"))
                raise QueryFailed(503, f"the data store is busy ({err.code}); retry in {wait} s", retry_after=wait) from None
            if 400 <= err.code < 500 or (err.code == 500 and _VIRTUOSO_QUERY_ERROR.match(detail)):
                if is_located_syntax_error(detail):  # an Oxigraph server's: worded as the embedded engine's
                    raise QueryFailed(400, syntax_message(detail, query)) from None
                raise QueryFailed(400, f"the store refused the query: {detail or err.reason}") from None
            raise StoreError(f"the store answered {err.code}: {detail or err.reason}") from None
        except (socket.timeout, TimeoutError):
            raise StoreTimeout(late) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise StoreTimeout(late) from None
            raise StoreError(f"the store is unreachable: {reason}") from None
        except http.client.HTTPException as err:  # a chunked answer cut off (IncompleteRead), a broken status line…
            raise StoreError(f"the store broke off its answer: {err!r:.200}") from None

    def _query(self, query: str, accept: str) -> bytes:
        """The whole of the store's answer to one of pianold's own queries (for pages): a refusal
        is the store's fault, not the client's (a 502, as an unreadable answer is)."""
        try:
            with self._answer(query, accept, max_bytes=self.page_max_bytes) as answer:
                body = answer.read()
        except QueryFailed as err:  # a 4xx from the store, or an answer over the cap
            raise StoreError(f"the store did not answer pianold's query: {err}") from None
        if len(body) > self.page_max_bytes:
            raise StoreError(f"the store sent more than {self.page_max_bytes} bytes for one of pianold's queries")
        return body

    def _unreadable(self, err: Exception) -> StoreError:
        return StoreError(f"the store sent an answer pianold cannot read: {str(err)[:200]}")

    def graph_query(self, query: str) -> Graph:
        body = self._query(query, "application/n-triples")
        try:
            return Graph().parse(data=body.decode("utf-8"), format="nt")
        except Exception as err:  # not UTF-8, not N-Triples (an HTML page): rdflib's parse errors have no common class
            raise self._unreadable(err) from None

    def table_query(self, query: str) -> list[dict[str, object]]:
        body = self._query(query, "application/sparql-results+json")
        try:
            data = json.loads(body)
            return [{k: to_rdflib(_ox_term(v)) for k, v in row.items()} for row in data["results"]["bindings"]]
        except (ValueError, KeyError, TypeError, AttributeError, StoreError) as err:
            raise self._unreadable(err) from None

    def ask(self, query: str) -> bool:
        body = self._query(query, "application/sparql-results+json")
        try:
            data = json.loads(body)
            if "boolean" not in data and _is_ask_table(data["head"].get("vars")):
                return _ask_table_answer(data["results"]["bindings"])
            return bool(data["boolean"])
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise self._unreadable(err) from None

    def sparql(self, job: QueryJob, timeout: float) -> QueryAnswer:
        """Run a checked query on the store, in a format pianold reads (SPARQL JSON results, or
        N-Triples for a graph), and write its answer in the wanted format with the embedded
        store's writers, cut at the row cap as theirs are: the store's answer is read as it
        arrives, and no further than the row after the cap."""
        graph = job.media_type in GRAPH_TYPES
        with self._answer(job.query, "application/n-triples" if graph else "application/sparql-results+json",
                          default_graphs=job.default_graphs, named_graphs=job.named_graphs, timeout=timeout,
                          max_bytes=job.max_bytes) as answer:
            try:
                if graph:  # as N-Triples, whatever media type the store names it with (text/plain, say)
                    return write_capped(job, "graph", ox.parse(answer, format=ox.RdfFormat.N_TRIPLES), serialize_graph)
                variables, boolean, rows = _sparql_json(answer)
                if boolean is None and _is_ask_table(variables) and form_of(job.query) == "ASK":  # a SELECT may name its variable so too
                    boolean = _ask_table_answer(rows)
                if boolean is not None:
                    return write_boolean(job, boolean)
                read = [0]
                solutions = ([_ox_term(row[v]) if v in row else None for v in variables] for row in _counted(rows, read))
                written = write_capped(job, "solutions", solutions, functools.partial(serialize_solutions, variables))
                return _cut_by_the_store(written, answer.raw.headers, read[0])
            except ANSWER_REFUSALS as err:
                raise refusal(err) from None
            except (ValueError, SyntaxError, KeyError, TypeError, AttributeError) as err:  # not what the store said it sent
                raise self._unreadable(err) from None


# Virtuoso 7.2 answers an ASK in SPARQL JSON (and XML) as a SELECT of one variable, with one row
# holding 1 when the answer is true and no row when it is false (the boolean writer is missing
# from its release: openlink/virtuoso-opensource#1016).
_ASK_VARIABLE = "__ASK_RETVAL"


def _is_ask_table(variables) -> bool:
    return variables == [_ASK_VARIABLE]


def _ask_table_answer(rows) -> bool:
    """The boolean of a Virtuoso ASK answered as a table: a row whose value is not 0 or false."""
    return any(row.get(_ASK_VARIABLE, {}).get("value") not in ("0", "false") for row in rows)


def _counted(rows, read: list[int]):
    for row in rows:
        read[0] += 1
        yield row


def _cut_by_the_store(written: QueryAnswer, headers, read: int) -> QueryAnswer:
    """Virtuoso cuts a SELECT's answer at its own ResultSetMaxRows, saying so only in an
    X-SPARQL-MaxRows header: an answer that stops there is as incomplete as one pianold cut at
    sparql_max_rows, and is marked truncated the same way (X-Pianold-Truncated, the results page's
    note), at the store's limit. (Like any answer, it is cached: the same query meets the same cut.)"""
    limit = (headers.get("X-SPARQL-MaxRows") or "").strip()
    if not written.truncated and limit.isascii() and limit.isdigit() and 0 < int(limit) <= read:
        return written._replace(truncated=int(limit))
    return written


class _Arriving(io.RawIOBase):
    """A store's answer as it arrives: each read takes what the socket has (the socket timeout
    holds for one read only, so a store trickling its answer would hold a thread for ever without
    the deadline), and no more than `max_bytes` in all (422)."""

    def __init__(self, response, deadline: float, max_bytes: int | None):
        self.response, self.deadline, self.max_bytes, self.size = response, deadline, max_bytes, 0
        self.headers = response.headers  # what the store says of its answer besides the body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if time.monotonic() > self.deadline:
            raise TimeoutError
        chunk = self.response.read1(len(buffer))
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise QueryFailed(422, too_large(self.max_bytes))
        buffer[:len(chunk)] = chunk
        return len(chunk)


_BINDINGS = re.compile(r'"bindings"\s*:\s*\[')
_HEAD = re.compile(r'"head"\s*:\s*')
_ROW_GAP = re.compile(r"[\s,]*")


def _sparql_json(answer) -> tuple[list[str], bool | None, Iterator[dict]]:
    """(variables, the boolean of an ASK or None, the rows) of a SPARQL JSON results document,
    its rows read one by one as they arrive (the `head` before the `results`, as stores write
    them; a document in another order is read whole)."""
    decoder, text = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8-sig")()  # a BOM, as json.loads takes it
    buffer, ended = "", False

    def more() -> bool:
        nonlocal buffer, ended
        chunk = answer.read1(CHUNK)
        ended = not chunk
        buffer += text.decode(chunk, final=ended)
        return not ended

    resume = 0  # where the next search starts: the text before it was searched already (a long head costs one pass)
    while not (found := _BINDINGS.search(buffer, resume)):
        # a match cut by the chunk's end starts at most 10 characters ("bindings" in quotes)
        # before its trailing whitespace and colon, however much whitespace a store writes
        end = len(buffer)
        while end > 0 and buffer[end - 1] in " \t\r\n:":  # not rstrip: that copies the whole buffer
            end -= 1
        resume = max(0, end - 10)
        if not more():
            break
    head = _HEAD.search(buffer, 0, found.start()) if found else None
    if head is None:  # an ASK's answer, or an unusual order: read whole
        while more():
            pass
        data = json.loads(buffer)
        if "boolean" in data:
            return [], bool(data["boolean"]), iter(())
        return data["head"]["vars"], None, iter(data["results"]["bindings"])
    variables = decoder.raw_decode(buffer, head.end())[0]["vars"]

    def rows() -> Iterator[dict]:
        nonlocal buffer
        position = found.end()
        while True:
            position = _ROW_GAP.match(buffer, position).end()
            if buffer.startswith("]", position):
                return
            try:
                row, position = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError:
                if ended:
                    raise ValueError("the answer ends inside its results") from None
                buffer, position = buffer[position:], 0  # the row is still arriving
                # try again once as much again has arrived, not at every chunk: a row of many MB
                # (a GROUP_CONCAT) would otherwise be decoded from its start hundreds of times
                waiting = len(buffer)
                while more() and len(buffer) < 2 * waiting:
                    pass
                continue
            yield row

    return variables, None, rows()


_BNODE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")
_DIRECTIONS = {"ltr": ox.BaseDirection.LTR, "rtl": ox.BaseDirection.RTL}  # RDF 1.2 base direction, `its:dir`


def _ox_term(value: dict):
    """A pyoxigraph term from a SPARQL JSON results term (RDF 1.2 triple terms included)."""
    kind = value["type"]
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind == "bnode":  # a label the store made (Virtuoso's `nodeID://b10006`), kept distinct
        label = value["value"]
        return ox.BlankNode(label if _BNODE_LABEL.fullmatch(label) else "b" + hashlib.sha1(label.encode()).hexdigest()[:20])
    if kind == "triple":
        inner = value["value"]
        return ox.Triple(_ox_term(inner["subject"]), _ox_term(inner["predicate"]), _ox_term(inner["object"]))
    if value.get("xml:lang"):
        direction = _DIRECTIONS.get(value.get("its:dir"))
        return ox.Literal(value["value"], language=value["xml:lang"], direction=direction)
    if value.get("datatype"):
        return ox.Literal(value["value"], datatype=ox.NamedNode(value["datatype"]))
    return ox.Literal(value["value"])


def push(gsp_url: str, graphs: dict[str, bytes], default: bytes | None, stale: list[str] = (), timeout: float = 60.0,
         user: str | None = None, password: str | None = None) -> None:
    """Make the remote store hold what the embedded one would (Graph Store Protocol, N-Triples):
    each named graph replaced, the default graph replaced by `default` (their merge; None leaves
    a store's default graph alone, for a store whose default graph is the union of its graphs:
    Virtuoso), and the `stale` graphs (of plans no longer published) deleted. A store that
    writes only for a known user (Virtuoso's /sparql-graph-crud-auth: digest; a Fuseki behind a
    proxy: basic) is answered with `user` and `password` when it asks."""
    opener = _opener(gsp_url, user, password)
    for name, ntriples in graphs.items():
        _gsp(gsp_url, "PUT", {"graph": name}, ntriples, timeout, opener, user)
    if default is not None:
        try:
            _gsp(gsp_url, "PUT", {"default": ""}, default, timeout, opener, user)
        except _Refused as err:  # Virtuoso: "…contains "default" param but the endpoint is not configured to have default graph"
            raise StoreError(f"{err}; the named graphs were loaded. A store whose default graph is the union of its "
                             "graphs (Virtuoso) needs no merge there: push with --union-default-graph") from None
    for name in stale:
        _gsp(gsp_url, "DELETE", {"graph": name}, None, timeout, opener, user)


def _opener(gsp_url: str, user: str | None, password: str | None) -> urllib.request.OpenerDirector:
    """urllib answering the store's challenge, digest or basic, with the user's password (sent only
    to the Graph Store endpoint's URL, and only when it asks). Basic sends the password itself: it
    is answered only over https or to this host, never in clear over a network."""
    if user is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, gsp_url, user, password or "")
    handlers = [urllib.request.HTTPDigestAuthHandler(passwords)]
    if basic_is_private(gsp_url):
        handlers.append(urllib.request.HTTPBasicAuthHandler(passwords))
    return urllib.request.build_opener(*handlers)


def basic_is_private(url: str) -> bool:
    """Whether a password sent in the clear by basic authentication stays private: over https, or
    over http to a loopback address."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TAGS = re.compile(r"<[^>]*>")


def shown_url(url: str) -> str:
    """A store's URL as messages name it: its own query (an access token, say) left out, as a
    password is, since messages go to terminals and CI logs."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(query="…" if parts.query else "", fragment="").geturl()


class _Refused(StoreError):
    """The store answered, refusing a Graph Store request (not a network failure)."""


def _gsp(gsp_url: str, method: str, params: dict, body: bytes | None, timeout: float,
         opener: urllib.request.OpenerDirector | None = None, user: str | None = None) -> None:
    name = f"<{params['graph']}>" if "graph" in params else "the default graph"
    # added to the URL's own parameters, if it has some (an access token, a dataset's name)
    joiner = "&" if urllib.parse.urlsplit(gsp_url).query else "" if gsp_url.endswith("?") else "?"
    request = urllib.request.Request(gsp_url + joiner + urllib.parse.urlencode(params), data=body, method=method,
                                     headers={"Content-Type": "application/n-triples", "User-Agent": "pianold"})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as err:
        if method == "DELETE" and err.code == 404:
            return  # already gone
        if err.code == 401 and user and not basic_is_private(gsp_url) and "basic" in err.headers.get("WWW-Authenticate", "").lower():
            raise StoreError(f"the store at {shown_url(gsp_url)} asks for basic authentication, which would send the "
                             f"password in clear over http: give its https address (or a store that asks for digest)") from None
        if err.code == 401:
            raise StoreError(f"the store at {shown_url(gsp_url)} refused {name}: 401, " + (
                f"user {user!r} was not accepted: check store_user and the password in PIANOLD_STORE_PASSWORD" if user else
                "it asks for a user: set store_user (PIANOLD_STORE_USER, or --user) and the password in PIANOLD_STORE_PASSWORD")) from None
        # one line of text, even from an HTML error page (Virtuoso's says what failed between its tags)
        detail = " ".join(_TAGS.sub(" ", err.read(2000).decode("utf-8", "replace")).split())
        raise _Refused(f"the store refused {name}: {err.code} {detail[:300]}") from None
    except (urllib.error.URLError, OSError) as err:
        raise StoreError(f"cannot load the store at {shown_url(gsp_url)}: {getattr(err, 'reason', err)}") from None
    except ValueError as err:  # urllib's digest handler, challenged with a scheme it does not speak (Bearer…)
        raise StoreError(f"cannot authenticate to the store at {shown_url(gsp_url)}: {err}") from None


def stored_graphs(query_url: str, timeout: float = 60.0) -> list[str]:
    """The named graphs a remote store holds."""
    rows = RemoteStore(query_url, timeout).table_query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    return [str(row["g"]) for row in rows if "g" in row]
