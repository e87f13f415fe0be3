"""Dereference against a real running `pianold serve`, with real HTTP clients and Accept headers."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from conftest import BASE

ACTION = f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.a"
PATH = "/data/plan/bari-psm-2030/action/5.1.1.a"


def request(server, method, path, headers=None, body=None):
    host = urlsplit(server.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("accept,ext", [
    (None, "html"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
    ("text/turtle", "ttl"),
    ("application/ld+json", "jsonld"),
    ("application/json", "jsonld"),
    ("application/rdf+xml", "rdf"),
    ("application/n-triples", "nt"),
    ("text/turtle;q=0.2, application/ld+json;q=0.9", "jsonld"),
    ("*/*", "html"),
    ("text/html;q=0, */*;q=0.5", "ttl"),
    ("text/n3", "ttl"),  # Turtle is N3; rdflib's format="n3" asks for it with */*;q=0.1, which got HTML
    ("application/x-turtle", "ttl"),
    ("text/turtle;q=0, text/n3", None),  # the Turtle document is no answer to a client that refused Turtle
])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_resource_iri_303_by_accept(live_server, accept, ext, method):
    status, headers, body = request(live_server, method, PATH, {"Accept": accept} if accept else {})
    if ext is None:
        assert status == 406
        return
    assert status == 303
    assert headers["location"] == f"{PATH}.{ext}"
    assert "accept" in headers["vary"].lower()
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-pianold-version"]


@pytest.mark.parametrize("ext,media", [
    ("html", "text/html; charset=utf-8"), ("ttl", "text/turtle; charset=utf-8"),
    ("jsonld", "application/ld+json; charset=utf-8"), ("rdf", "application/rdf+xml; charset=utf-8"),
    ("nt", "application/n-triples; charset=utf-8"),
])
def test_documents_200_with_type_etag_and_304(live_server, ext, media):
    status, headers, body = request(live_server, "GET", f"{PATH}.{ext}")
    assert status == 200 and headers["content-type"] == media and body
    etag, modified = headers["etag"], headers["last-modified"]
    assert etag.startswith('"') and not etag.startswith('W/')
    assert "max-age" in headers["cache-control"]
    status, headers304, body304 = request(live_server, "GET", f"{PATH}.{ext}", {"If-None-Match": etag})
    assert status == 304 and body304 == b"" and headers304["etag"] == etag
    status, _, _ = request(live_server, "GET", f"{PATH}.{ext}", {"If-Modified-Since": modified})
    assert status == 304
    status, _, again = request(live_server, "GET", f"{PATH}.{ext}", {"If-None-Match": '"other"'})
    assert status == 200 and again == body
    status, head_headers, head_body = request(live_server, "HEAD", f"{PATH}.{ext}")
    assert status == 200 and head_body == b"" and head_headers["etag"] == etag
    assert request(live_server, "GET", f"{PATH}.{ext}", {"If-Match": etag})[0] == 200
    assert request(live_server, "GET", f"{PATH}.{ext}", {"If-Match": '"other"'})[0] == 412  # judged, not replayed
    assert request(live_server, "GET", f"{PATH}.{ext}", {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 412


def test_etags_differ_per_format_and_resource(live_server):
    tags = {request(live_server, "GET", f"{PATH}.{ext}")[1]["etag"] for ext in ("html", "ttl", "jsonld", "rdf", "nt")}
    assert len(tags) == 5
    other = request(live_server, "GET", "/data/plan/bari-psm-2030/action/5.1.1.b.ttl")[1]["etag"]
    assert other not in tags


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml", "nt", "n3"])
def test_rdflib_parses_the_iri_through_conneg(live_server, fmt):
    g = Graph().parse(live_server.iri_to_url(ACTION), format=fmt)
    node = URIRef(ACTION)
    assert (node, SKOS.prefLabel, Literal("Rafforzamento dell’Agenzia Metropolitana per la casa", lang="it")) in g
    parent = g.value(node, SKOS.broader)
    assert str(parent).endswith("/specific-objective/5.1.1")
    assert g.value(parent, SKOS.prefLabel) is not None  # labelled neighbour
    assert (parent, SKOS.narrower, node) in g  # incoming link


def test_description_has_neighbours_and_incoming_links(live_server):
    _, _, body = request(live_server, "GET", "/data/plan/bari-psm-2030/specific-objective/5.1.1.nt")
    g = Graph().parse(data=body.decode(), format="nt")
    node = URIRef(f"{BASE}/data/plan/bari-psm-2030/specific-objective/5.1.1")
    children = set(g.objects(node, SKOS.narrower))
    assert {str(c).rsplit("/", 1)[1] for c in children} == {"5.1.1.a", "5.1.1.b"}
    assert all(g.value(c, SKOS.prefLabel) is not None for c in children)
    plan = g.value(node, SKOS.inScheme)
    assert g.value(plan, SKOS.prefLabel, any=True) is not None


def test_plan_ontology_and_term_dereference(live_server):
    for path in ("/data/plan/bari-psm-2030", "/onto/psm", "/onto/psm/Action", "/data/public-organization/cmba",
                 "/data/plan/bari-psm-2030/level/action", "/data/plan/bari-psm-2030/period"):
        status, headers, _ = request(live_server, "GET", path, {"Accept": "text/turtle"})
        assert status == 303, path
        status, _, body = request(live_server, "GET", headers["location"])
        assert status == 200 and body, path
    _, _, body = request(live_server, "GET", "/onto/psm.ttl")
    onto = Graph().parse(data=body.decode(), format="turtle")
    assert len(onto) > 100  # the whole ontology, not only its header


@pytest.mark.parametrize("path", [
    "/data/plan/nope", "/data/plan/bari-psm-2030/action/9.9.9.z", "/data/plan/bari-psm-2030/action/5.1.1.a.pdf",
    "/data/plan/bari-psm-2030/action/citt%C3%A0", "/data/plan/bari-psm-2030/action/%ZZ", "/data/%00",
    "/data/plan/bari-psm-2030/action/5.1.1.a/../../../../etc/passwd", "/onto/psm/Nothing",
])
def test_unknown_iri_404_html_or_rdf(live_server, path):
    status, headers, body = request(live_server, "GET", path, {"Accept": "text/html"})
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert b"Traceback" not in body
    status, headers, body = request(live_server, "GET", path, {"Accept": "text/turtle"})
    assert status == 404 and headers["content-type"].startswith("text/turtle")
    Graph().parse(data=body.decode(), format="turtle")  # a valid (empty) Turtle document


def test_raw_utf8_path_is_refused_cleanly(live_server):
    """RFC 3986 wants non-ASCII percent-encoded; waitress answers a raw UTF-8 request line with 400."""
    import socket

    host = urlsplit(live_server.url)
    with socket.create_connection((host.hostname, host.port), timeout=30) as sock:
        sock.sendall("GET /data/plan/bari-psm-2030/action/città’ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("utf-8"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 404 ")) and b"Traceback" not in data


def test_percent_encoded_path_maps_to_the_same_iri(live_server):
    status, headers, _ = request(live_server, "GET", "/data/plan/bari-psm-2030/action/5.1.1.%61", {"Accept": "text/turtle"})
    assert status == 303 and headers["location"] == PATH + ".ttl"


def test_406_lists_available_formats(live_server):
    status, headers, body = request(live_server, "GET", PATH, {"Accept": "image/png"})
    assert status == 406
    text = body.decode()
    for media in ("text/turtle", "application/ld+json", "text/html"):
        assert media in text
    status, headers, body = request(live_server, "GET", PATH, {"Accept": "application/json, image/png;q=0"})
    assert status == 303


def test_unknown_method_is_405(live_server):
    status, headers, _ = request(live_server, "DELETE", PATH)
    assert status == 405 and "GET" in headers.get("allow", "")


def test_schema_org_json_ld_on_pages(live_server):
    import re

    for path in ("/", "/data/plan/bari-psm-2030.html", f"{PATH}.html"):
        _, _, body = request(live_server, "GET", path)
        blocks = re.findall(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
        assert blocks, path
        data = json.loads(blocks[0])
        assert data["@context"] == "https://schema.org"


@pytest.mark.parametrize("path,accept", [
    (f"{PATH}.ttl", "text/turtle"),
    ("/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D", "application/sparql-results+json"),
])
def test_one_connection_carries_revalidations(live_server, path, accept):
    """A client revalidating (304) or failing a precondition (412) keeps its connection for the next request."""
    host = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    try:
        def ask(headers):
            conn.request("GET", path, headers={"Accept": accept, **headers})
            response = conn.getresponse()
            response.read()
            return response.status, response.getheader("Connection"), response.getheader("ETag"), response.getheader("Cache-Control")

        status, _, etag, cache_control = ask({})
        assert status == 200 and etag and "max-age" in cache_control
        sock = conn.sock
        for headers, expected, cached in [({"If-None-Match": etag}, 304, cache_control),
                                          ({"If-Match": '"other"'}, 412, "no-store"),  # the client's own failure: kept by no cache
                                          ({}, 200, cache_control)]:
            assert ask(headers) == (expected, None, etag, cached), headers
            assert conn.sock is sock, f"the connection was closed after {headers}"
    finally:
        conn.close()


@pytest.mark.parametrize("path, accept", [("/sitemap.xml", "application/xml"), ("/", "text/html"),
                                          ("/sparql?query=ASK%7B%7D&format=html&host-test=1", "text/html")])
def test_an_answer_made_for_one_host_is_never_replayed_to_another(live_server, path, accept):
    """Pages link to the host they were asked on: a forged Host header must not decide what the
    next clients get from the replay cache."""
    def ask(host):
        where = urlsplit(live_server.url)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        try:
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            conn.putheader("Accept", accept)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    for _ in range(2):  # the second round is answered from the replay cache
        status, forged = ask("evil.example")
        assert status == 200 and "evil.example" in forged
        status, honest = ask(urlsplit(live_server.url).netloc)
        assert status == 200 and "evil.example" not in honest


@pytest.mark.parametrize("path", [
    "/data/plan/bari-psm-2030/action/5.1.1.%2561",  # %25 is a literal % (RFC 3986 §2.4): the text "%61", not "a"
    "/data/plan/bari-psm-2030/action/5.1.1.a%252Ettl",
    "/data/plan/bari-psm-2030/axis/5%25FF",
    "/data/plan/bari-psm-2030/action/5.1.1.a%25",
])
def test_request_path_is_percent_decoded_once(live_server, path):
    for accept in ("text/turtle", "text/html"):
        status, headers, body = request(live_server, "GET", path, {"Accept": accept})
        assert status == 404 and headers["content-type"].startswith(accept), (path, status, body[:200])
        assert b"codec" not in body and b"Traceback" not in body


def test_percent_encoded_unreserved_characters_are_the_characters(live_server):
    """%2E is '.', %61 is 'a' (RFC 3986 §6.2.2.2): decoded once, by the server."""
    status, headers, _ = request(live_server, "GET", "/data/plan/bari-psm-2030/action/5.1.1.a%2Ettl")
    assert status == 200 and headers["content-type"].startswith("text/turtle")


def test_a_server_side_value_error_is_a_logged_500(built_dist, monkeypatch, caplog):
    """Only request decoding is the client's fault (400); a ValueError in the server's own code
    is a bug: a 500 with a plain message, the traceback in the log and never in the answer."""
    import logging

    from pianold.web import create_app, resources

    def broken(path):
        raise ValueError("internal detail: /srv/secret/path")

    monkeypatch.setattr(resources, "resolve", broken)
    client = create_app(built_dist).test_client()
    with caplog.at_level(logging.ERROR, logger="pianold.web"):
        response = client.get("/data/plan/bari-psm-2030/action/5.1.1.a", headers={"Accept": "text/plain"})
    assert response.status_code == 500
    assert b"unexpected error" in response.data
    assert b"secret" not in response.data and b"Traceback" not in response.data
    assert any(r.exc_info and "internal detail" in str(r.exc_info[1]) for r in caplog.records)


def test_path_too_long_is_414(live_server):
    for path in ("/data/plan/" + "a" * 2100, "/" + "x" * 2100, "/dumps/" + "a" * 2100):
        status, headers, body = request(live_server, "GET", path, {"Accept": "text/plain"})
        assert status == 414 and body.startswith(b"414 URI too long"), path
        assert headers["access-control-allow-origin"] == "*"
    status, _, _ = request(live_server, "GET", "/data/" + "a" * (2048 - len("/data/")))
    assert status == 404  # at the limit: looked up, not refused


ORIGIN = {"Origin": "https://example.org"}
EXPOSED = {"etag", "last-modified", "content-location", "link", "x-pianold-version", "x-pianold-truncated",
           "retry-after", "content-disposition"}


def _names(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


@pytest.mark.parametrize("method,path,headers,expected", [
    ("GET", "/data/plan/nope", {"Accept": "text/turtle"}, 404),
    ("GET", "/data/plan/nope.html", {"Accept": "text/html"}, 404),
    ("GET", PATH, {"Accept": "image/png"}, 406),
    ("GET", f"{PATH}.ttl", {"If-Match": '"other"'}, 412),
    ("GET", f"{PATH}.html", {"If-None-Match": "*"}, 304),
    ("GET", "/no/such/page", {"Accept": "text/html"}, 404),
    ("GET", "/dumps/nope.nq", {}, 404),
    ("GET", "/dumps/all.nq", {"Range": "bytes=99999999-"}, 416),
    ("DELETE", f"{PATH}.ttl", {}, 405),
    ("GET", f"{PATH}.html", {}, 200),
    ("GET", "/", {}, 200),
])
def test_every_answer_is_readable_cross_origin(live_server, method, path, headers, expected):
    """Public read-only data: a browser script sees errors as what they are, not as network errors."""
    status, answer, _ = request(live_server, method, path, {**ORIGIN, **headers})
    assert status == expected
    assert answer["access-control-allow-origin"] == "*"
    assert EXPOSED <= _names(answer["access-control-expose-headers"])


@pytest.mark.parametrize("path", [f"{PATH}.ttl", "/data/plan/bari-psm-2030.ttl", PATH, f"{PATH}.html", "/onto/psm",
                                  "/catalog", "/dumps/all.nq", "/", "/sitemap.xml", "/sparql", "/static/style.css"])
def test_cors_preflight(live_server, path):
    status, headers, body = request(live_server, "OPTIONS", path, {
        **ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match, range"})
    assert 200 <= status < 300 and body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert {"get", "head", "options"} <= _names(headers["access-control-allow-methods"])
    assert {"accept", "content-type", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
            "range", "if-range"} <= _names(headers["access-control-allow-headers"])
    assert int(headers["access-control-max-age"]) > 0
    assert {"get", "head", "options"} <= _names(headers["allow"])


@pytest.mark.parametrize("path", ["/data/plan/nope", "/data/plan/nope.ttl", "/onto/psm/Nothing", "/catalog/nothing",
                                  "/dumps/nope.nq", "/dumps/", "/no/such/page", "/static/nope.css"])
def test_options_on_nothing_is_404(live_server, path):
    status, headers, _ = request(live_server, "OPTIONS", path, ORIGIN)
    assert status == 404 and headers["access-control-allow-origin"] == "*"


def test_options_asterisk_names_the_servers_methods(live_server):
    """RFC 9110 §9.3.7: OPTIONS * asks about the server in general."""
    status, headers, body = request(live_server, "OPTIONS", "*")
    assert status == 200 and body == b"" and headers["content-length"] == "0"
    assert {"get", "head", "options"} <= _names(headers["allow"])
    assert request(live_server, "GET", "*")[0] in (400, 404)


@pytest.mark.parametrize("path", ["/onto/psm/", "/onto/psm/version/0.1.0"])
def test_the_ontologys_namespace_and_version_iris_lead_to_it(live_server, path):
    """Pages link to both (void:vocabulary, owl:versionIRI): they name the ontology."""
    status, headers, _ = request(live_server, "GET", path, {"Accept": "text/turtle"})
    assert status == 303 and headers["location"].endswith("/onto/psm")
    status, headers, _ = request(live_server, "GET", "/onto/psm", {"Accept": "text/turtle"})
    assert status == 303 and headers["location"].endswith("/onto/psm.ttl")
    assert request(live_server, "GET", "/onto/psm/version/9.9.9", {"Accept": "text/turtle"})[0] == 404


RDF_PARSERS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml",
               "application/n-triples": "nt"}


@pytest.mark.parametrize("stem, iri", [
    (PATH, ACTION),
    ("/data/plan/bari-psm-2030", f"{BASE}/data/plan/bari-psm-2030"),
    ("/onto/psm", "https://w3id.org/pianold/onto/psm"),
])
def test_every_alternate_a_document_or_page_names_answers_in_its_type(live_server, stem, iri):
    """README: documents carry `Link` alternates and pages a `<link rel="alternate">` for every
    format. A client following them (over HTTP, as a harvester does) gets each format, in the
    type it was told, describing the same resource."""
    import re

    status, headers, _ = request(live_server, "GET", f"{stem}.ttl")
    assert status == 200
    linked = dict((m.group(2), m.group(1)) for m in re.finditer(r'<([^>]+)>; rel="alternate"; type="([^"]+)"', headers["link"]))
    assert linked == {"text/html": f"{stem}.html", "application/ld+json": f"{stem}.jsonld",
                      "application/rdf+xml": f"{stem}.rdf", "application/n-triples": f"{stem}.nt"}, headers["link"]
    status, _, page = request(live_server, "GET", f"{stem}.html")
    assert status == 200
    in_page = dict(re.findall(r'<link rel="alternate" type="([^"]+)" href="([^"]+)"', page.decode()))
    assert set(in_page) == set(RDF_PARSERS), in_page  # every RDF format
    for media, href in [*in_page.items(), ("text/html", linked["text/html"])]:
        status, answer, body = request(live_server, "GET", href)
        assert status == 200 and answer["content-type"].split(";")[0] == media, (href, status, answer.get("content-type"))
        if media in RDF_PARSERS:
            graph = Graph().parse(data=body.decode(), format=RDF_PARSERS[media])
            assert (URIRef(iri), None, None) in graph, href


def test_unknown_iri_404_as_plain_text(live_server):
    """README: unknown IRIs are 404 as HTML, Turtle *or text* by Accept."""
    status, headers, body = request(live_server, "GET", "/data/plan/nope", {"Accept": "text/plain"})
    assert status == 404 and headers["content-type"].startswith("text/plain")
    assert f"<{BASE}/data/plan/nope>".encode() in body and b"<html" not in body.lower()


def test_a_type_excluded_with_q0_is_never_the_answer_through_an_alias(live_server):
    """README: dereference honours `q=0` exclusions. A client that refuses JSON-LD but takes plain
    JSON must not be sent JSON-LD: either a document it accepts or a 406."""
    for accept, answer in (("application/ld+json;q=0, application/json", None),
                           ("application/ld+json;q=0, application/json, text/turtle;q=0.5", ".ttl"),
                           ("application/rdf+xml;q=0, application/xml", None),
                           ("application/n-triples;q=0, text/plain", None),
                           ("application/json", ".jsonld")):
        status, headers, _ = request(live_server, "GET", PATH, {"Accept": accept})
        if answer is None:
            assert status == 406, accept
        else:
            assert status == 303 and headers["location"].endswith(answer), accept


def test_documents_state_the_literals_as_published(live_server):
    """A resource's document holds its triples as the dumps and the catalogue publish them. Oxigraph
    stores derived integer types as xsd:integer, so a level's psm:depth (xsd:positiveInteger, the
    ontology's range and the shapes' datatype) and a distribution's dcat:byteSize
    (xsd:nonNegativeInteger, as DCAT-AP requires) came out of the store as xsd:integer."""
    import gzip

    from rdflib import BNode

    published = Graph()
    published.parse(data=gzip.decompress(request(live_server, "GET", "/dumps/all.nt.gz")[2]).decode(), format="nt")
    published.parse(data=request(live_server, "GET", "/catalog.nt")[2].decode(), format="nt")
    described = tuple(f"{BASE}/{root}" for root in ("data/", "catalog", "onto/"))  # not the dumps, the endpoint, the home page
    subjects = {s for s in published.subjects() if isinstance(s, URIRef) and str(s).startswith(described)}
    assert URIRef(f"{BASE}/data/plan/bari-psm-2030/level/axis") in subjects
    assert URIRef(f"{BASE}/catalog/distribution/all-nt-gz") in subjects
    for subject in sorted(subjects):
        if subject == URIRef(f"{BASE}/onto/psm"):
            continue  # its document is the whole ontology
        status, _, body = request(live_server, "GET", live_server.iri_to_url(str(subject))[len(live_server.url):] + ".nt")
        assert status == 200, subject
        served = Graph().parse(data=body.decode(), format="nt")

        def own(graph):
            return {(p, o) for p, o in graph.predicate_objects(subject) if not isinstance(o, BNode)}

        assert own(served) == own(published), subject


def test_a_document_a_rebuild_leaves_as_it_was_keeps_its_etag(tmp_path):
    """A harvester revalidates after every build: the documents of resources the new version does
    not change answer 304 to their old ETag; a changed one answers 200 with a new ETag."""
    import subprocess
    import sys

    from live import http, start_server
    from plan_sources import copy_bari, edit

    folder = copy_bari(tmp_path)
    server = start_server(tmp_path / "dist", folder.parent, BASE, tmp_path / "server.log")
    try:
        unchanged, changed = "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", "/data/plan/bari-psm-2030/axis/1.ttl"
        before = {path: http(server.url + path)[1] for path in (unchanged, changed)}
        edit(folder, "plan.toml", 'title = "Agenda digitale Metropolitana"', 'title = "Agenda digitale metropolitana"')
        subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--data", str(folder.parent),
                        "--base", BASE, "build"], check=True, capture_output=True, timeout=300)
        status, headers, _ = http(server.url + unchanged, headers={"If-None-Match": before[unchanged]["ETag"]})
        assert status == 304 and headers["X-Pianold-Version"] != before[unchanged]["X-Pianold-Version"]  # a new version
        status, headers, body = http(server.url + changed, headers={"If-None-Match": before[changed]["ETag"]})
        assert status == 200 and headers["ETag"] != before[changed]["ETag"] and "Agenda digitale metropolitana" in body.decode()
    finally:
        server.stop()
