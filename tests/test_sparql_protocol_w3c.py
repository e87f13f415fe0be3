"""The W3C SPARQL 1.1 Protocol test suite (query tests), run over HTTP against the endpoint.

The manifest (conformance/sparql11-protocol/manifest.ttl, verbatim) describes each test as HTTP
requests and expected responses; its data files are loaded as the named graphs it names."""

from __future__ import annotations

import http.client
import json
import threading
import xml.dom.minidom

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF

from conftest import ROOT

SUITE = ROOT / "conformance/sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"

MANIFEST = Graph().parse(SUITE / "manifest.ttl", format="turtle", publicID=(SUITE / "manifest.ttl").as_uri())
ENTRIES = list(Collection(MANIFEST, MANIFEST.value(predicate=RDF.type, object=MF.Manifest, any=True) and
                          MANIFEST.value(next(MANIFEST.subjects(RDF.type, MF.Manifest)), MF.entries)))
QUERY_TESTS = [e for e in ENTRIES if "update" not in str(e).rsplit("#", 1)[1]]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """An endpoint over a version holding the suite's graphs, served by waitress in this process."""
    import waitress

    from pianold.config import load_settings
    from pianold.publish import Built, publish
    from pianold.vocab import ONTOLOGY_IRI
    from pianold.web import create_app

    graphs = {}
    for i in (1, 2, 3):
        name = f"http://kasei.us/2009/09/sparql/data/data{i}.rdf"
        graphs[name] = Graph(identifier=URIRef(name)).parse(SUITE / f"data{i}.nt", format="nt")
    graphs[DATA0] = Graph(identifier=URIRef(DATA0))
    graphs[DATA0].add((URIRef(DATA0), RDF.type, URIRef("http://xmlns.com/foaf/0.1/Document")))
    settings = load_settings(env={}, dist_dir=tmp_path_factory.mktemp("w3c"), base="http://www.example")
    built = Built(plans=[], ontology=Graph(identifier=URIRef(ONTOLOGY_IRI)))
    for graph in graphs.values():
        built.add(graph)
    publish(settings, built)
    app = create_app(settings)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_port

    def stop():  # in the server's own loop thread: closing its sockets from here would pull them from under select()
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(stop)
    thread.join(10)
    pool = app.extensions.get("pianold.sparql_pool")
    if pool:
        pool.close()


def _requests(test):
    action = MANIFEST.value(test, MF.action)
    return list(Collection(MANIFEST, MANIFEST.value(action, HT.requests)))


def _send(port, req):
    method = str(MANIFEST.value(req, HT.methodName))
    path = str(MANIFEST.value(req, HT.absolutePath)).replace("/sparql/", "/sparql", 1)
    headers = {}
    header_list = MANIFEST.value(req, HT.headers)
    if header_list is not None:
        for h in Collection(MANIFEST, header_list):
            headers[str(MANIFEST.value(h, HT.fieldName))] = str(MANIFEST.value(h, HT.fieldValue))
    body = None
    body_node = MANIFEST.value(req, HT.body)
    if body_node is not None:
        encoding = str(MANIFEST.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(MANIFEST.value(body_node, CNT.chars)).encode(encoding)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, path)
    for k, v in headers.items():
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), data


def _boolean(content_type, data):
    if "json" in content_type:
        return json.loads(data)["boolean"]
    doc = xml.dom.minidom.parseString(data)
    return doc.getElementsByTagName("boolean")[0].firstChild.data.strip() == "true"


def test_suite_is_complete():
    assert len(ENTRIES) == 34 and len(QUERY_TESTS) == 20


@pytest.mark.parametrize("test", QUERY_TESTS, ids=[str(t).rsplit("#", 1)[1] for t in QUERY_TESTS])
def test_w3c_protocol(endpoint, test):
    requests = _requests(test)
    assert requests, f"{test} lists no HTTP request: the loop below would check nothing"
    for req in requests:
        status, content_type, data = _send(endpoint, req)
        resp = MANIFEST.value(req, HT.resp)
        allowed = {str(s).rsplit("StatusCode", 1)[1][0] for s in MANIFEST.objects(resp, MF.expectedStatus)}
        assert str(status)[0] in allowed, f"{status} {data[:300]!r}"
        fmt = MANIFEST.value(resp, MF.expectedFormat)
        if fmt is not None:
            expected = {"boolean": ("sparql-results",), "tabular": ("sparql-results", "csv", "tab-separated"),
                        "RDF": ("turtle", "n-triples", "rdf+xml", "ld+json")}[str(fmt)]
            assert any(e in content_type for e in expected), content_type
        boolean = MANIFEST.value(resp, MF.expectedBoolean)
        if boolean is not None:
            assert _boolean(content_type, data) == boolean.toPython()
