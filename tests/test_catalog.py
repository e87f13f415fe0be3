"""The catalogue: DCAT-AP_IT / DCAT-AP 3 records, VoID, dumps, sitemap, robots.txt and schema.org,
checked with the portals' own rules and fetched by a harvester-like client from a running server."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, VOID, XSD

from conftest import BASE, DATA, ROOT
from live import http

SPDX = "http://spdx.org/rdf/terms#"
PLAN = URIRef(f"{BASE}/data/plan/bari-psm-2030")
CATALOG = URIRef(f"{BASE}/catalog")


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory):
    """Bari and the three-level fixture plan, built together."""
    from pianold.config import load_settings
    from pianold.publish import build

    folder = tmp_path_factory.mktemp("two")
    data = folder / "data"
    shutil.copytree(DATA, data)
    shutil.copytree(ROOT / "tests" / "fixtures" / "three-level-plan", data / "test-tre-livelli")
    settings = load_settings(env={"PIANOLD_CATALOG_PUBLISHER": "cmba"}, data_dir=data, dist_dir=folder / "dist", base=BASE)
    return build(settings)


def catalog_of(version) -> Graph:
    return Graph().parse(version.path / "catalog.ttl", format="turtle")


@pytest.mark.parametrize("which", ["bari", "two plans"])
def test_portals_rules_find_no_errors(built_dist, two_plans, which):
    from pianold.conformance import check_catalog
    from pianold.publish import current_version, published_graph

    version = current_version(built_dist.dist_dir) if which == "bari" else two_plans
    report = check_catalog(published_graph(version))
    assert report.errors == [], report.render()
    if which == "bari":  # not even a recommendation left unmet (the fixture plan has no EuroVoc links: no dct:subject)
        assert report.findings == (), report.render()
    assert report.rules_applied["DCAT-AP_IT"].startswith("154 ")


def test_the_catalogue_document_alone_conforms(built_dist):
    """What dati.gov.it reads is the catalogue document itself, without following links."""
    from pianold.conformance import check_catalog
    from pianold.publish import current_version

    report = check_catalog(catalog_of(current_version(built_dist.dist_dir)))
    assert report.errors == [], report.render()


def test_rules_do_catch_a_broken_record(built_dist):
    """The checks can fail: drop the contact's e-mail and the dataset identifier."""
    from pianold.conformance import check_catalog
    from pianold.publish import current_version, published_graph

    graph = published_graph(current_version(built_dist.dist_dir))
    graph.remove((None, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail"), None))
    graph.remove((PLAN, DCTERMS.identifier, None))
    graph.add((URIRef(f"{BASE}/catalog/distribution/all-ttl"), DCAT.byteSize, Literal("big")))
    rules = {(f.check, f.rule) for f in check_catalog(graph).errors}
    assert ("DCAT-AP_IT", "rule-209.added") in rules  # contact point without e-mail
    assert ("DCAT-AP_IT", "rule-178.added") in rules  # dataset without identifier
    assert ("NDC vocabularies", "VocabularyShape/dct:identifier") in rules  # the plan's scheme lost its identifier
    assert ("DCAT-AP 3.0.1", "byte size") in rules  # not a nonNegativeInteger; the shape's name, not its hashed IRI


def test_records_come_from_plan_toml(built_dist):
    from pianold.ingest import load_plan
    from pianold.publish import current_version

    plan = load_plan(DATA / "bari-psm-2030")
    g = catalog_of(current_version(built_dist.dist_dir))
    assert (CATALOG, RDF.type, URIRef("http://dati.gov.it/onto/dcatapit#Catalog")) in g
    assert set(g.objects(CATALOG, DCAT.dataset)) == {PLAN, URIRef("https://w3id.org/pianold/onto/psm"), URIRef(f"{BASE}/catalog/dataset/all")}
    assert str(g.value(PLAN, DCTERMS.identifier)) == "cmba:bari-psm-2030"
    assert Literal(plan.title, lang="it") in set(g.objects(PLAN, DCTERMS.title))
    assert Literal(plan.title_en, lang="en") in set(g.objects(PLAN, DCTERMS.title))
    publisher = g.value(PLAN, DCTERMS.publisher)
    assert str(g.value(publisher, DCTERMS.identifier)) == "cmba"
    assert {URIRef("http://dati.gov.it/onto/dcatapit#Agent"), FOAF.Agent} <= set(g.objects(publisher, RDF.type))
    assert g.value(PLAN, DCTERMS.rightsHolder) == publisher
    themes = {str(t).rsplit("/", 1)[1] for t in g.objects(PLAN, DCAT.theme)}
    assert themes == {"GOVE", "SOCI", "REGI"}
    assert all((t, RDF.type, SKOS.Concept) in g for t in g.objects(PLAN, DCAT.theme))
    frequency = g.value(PLAN, DCTERMS.accrualPeriodicity)
    assert str(frequency).endswith("/frequency/IRREG") and (frequency, RDF.type, DCTERMS.Frequency) in g
    period = g.value(PLAN, DCTERMS.temporal)
    assert g.value(period, DCAT.startDate) == Literal(plan.start, datatype=XSD.date)
    assert g.value(period, DCAT.endDate) == Literal(plan.end, datatype=XSD.date)
    assert str(g.value(PLAN, DCTERMS.spatial)).endswith("/provinces/072")
    contact = g.value(PLAN, DCAT.contactPoint)
    assert str(g.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail"))) == f"mailto:{plan.publisher.email}"
    assert g.value(PLAN, DCTERMS.conformsTo) == URIRef("https://w3id.org/pianold/onto/psm")
    licence = URIRef(plan.license)
    assert {URIRef("http://dati.gov.it/onto/dcatapit#LicenseDocument"), DCTERMS.LicenseDocument} <= set(g.objects(licence, RDF.type))
    assert "CC BY 4.0" in str(g.value(licence, FOAF.name))
    service = g.value(predicate=DCAT.endpointURL, object=URIRef(f"{BASE}/sparql"))
    assert (service, RDF.type, DCAT.DataService) in g
    assert any(g.value(d, DCAT.accessService) == service for d in g.objects(PLAN, DCAT.distribution))


def test_changing_plan_toml_changes_the_record(plan_copy, tmp_path):
    from pianold.config import load_settings
    from pianold.publish import build

    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('id = "bari-psm-2030"', 'id = "bari-psm-2030"\nfrequency = "ANNUAL"\nthemes = ["SOCI"]'), encoding="utf-8")
    version = build(load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist", base=BASE))
    g = catalog_of(version)
    assert str(g.value(PLAN, DCTERMS.accrualPeriodicity)).endswith("/ANNUAL")
    assert [str(t).rsplit("/", 1)[1] for t in g.objects(PLAN, DCAT.theme)] == ["SOCI"]


def test_the_sparql_service_names_the_datasets_it_serves(built_dist, two_plans):
    """DCAT-AP 3 recommends dcat:servesDataset on a data service. The SPARQL service named none: a
    harvester reading the service could not tell what it serves (only the distributions pointed to it)."""
    from pianold.publish import current_version

    for version in (current_version(built_dist.dist_dir), two_plans):
        g = catalog_of(version)
        service = URIRef(f"{BASE}/catalog/service/sparql")
        datasets = set(g.objects(CATALOG, DCAT.dataset))
        assert len(datasets) == 2 + len(version.manifest["plans"])  # the plans, the ontology, everything
        assert set(g.objects(service, DCAT.servesDataset)) == datasets
        assert {g.value(d, DCAT.accessService) for d in g.subjects(DCAT.accessURL, URIRef(f"{BASE}/sparql"))} == {service}


def test_sizes_and_checksums_describe_the_files(built_dist):
    from pianold.publish import current_version

    version = current_version(built_dist.dist_dir)
    g = catalog_of(version)
    dists = list(g.subjects(RDF.type, DCAT.Distribution))
    downloads = [d for d in dists if g.value(d, DCAT.downloadURL) is not None]
    assert len(downloads) == 4 + 5 + 5  # all.*, ontology, one plan
    for dist in downloads:
        name = str(g.value(dist, DCAT.downloadURL)).split("/dumps/", 1)[1]
        data = (version.path / name).read_bytes()
        assert int(g.value(dist, DCAT.byteSize)) == len(data)
        checksum = g.value(dist, URIRef(SPDX + "checksum"))
        assert str(g.value(checksum, URIRef(SPDX + "checksumValue"))) == hashlib.sha256(data).hexdigest()
        assert g.value(dist, DCAT.byteSize).datatype == XSD.nonNegativeInteger


def test_gzip_dump_is_deterministic_ntriples(built_dist):
    from pianold.publish import current_version

    version = current_version(built_dist.dist_dir)
    packed = (version.path / "all.nt.gz").read_bytes()
    assert packed[4:8] == b"\0\0\0\0"  # no timestamp: rebuilds are byte-identical
    text = gzip.decompress(packed).decode("utf-8")
    assert text.splitlines() == sorted(text.splitlines())
    everything = Dataset().parse(version.path / "all.nq", format="nquads")
    assert len(Graph().parse(data=text, format="nt")) == len({q[:3] for q in everything.quads((None, None, None, None))})


def test_void_statistics_match_the_data(built_dist):
    from pianold.publish import current_version

    version = current_version(built_dist.dist_dir)
    g = catalog_of(version)
    plan_graph = Graph().parse(version.path / "plans" / "bari-psm-2030.nt", format="nt")
    assert int(g.value(PLAN, VOID.triples)) == len(plan_graph)
    assert int(g.value(PLAN, VOID.entities)) == len({s for s in plan_graph.subjects() if isinstance(s, URIRef)})
    actions = next(p for p in g.objects(PLAN, VOID.classPartition)
                   if g.value(p, VOID["class"]) == URIRef("https://w3id.org/pianold/onto/psm/Action"))
    assert int(g.value(actions, VOID.entities)) == 10
    notation = next(p for p in g.objects(PLAN, VOID.propertyPartition) if g.value(p, VOID.property) == SKOS.notation)
    assert int(g.value(notation, VOID.triples)) == len(list(plan_graph.triples((None, SKOS.notation, None))))
    assert g.value(PLAN, VOID.sparqlEndpoint) == URIRef(f"{BASE}/sparql")
    assert URIRef(f"{BASE}/dumps/plans/bari-psm-2030.ttl") in set(g.objects(PLAN, VOID.dataDump))
    assert str(g.value(PLAN, VOID.uriSpace)) == f"{PLAN}/"
    assert g.value(PLAN, VOID.vocabulary) == URIRef("https://w3id.org/pianold/onto/psm/")
    linksets = [s for s in g.objects(PLAN, VOID.subset) if (s, RDF.type, VOID.Linkset) in g]
    assert any(str(g.value(l, VOID.objectsTarget)).endswith("/external/italia") for l in linksets)


# ---------------------------------------------------------------- a running server


def local(server, iri) -> str:
    return server.iri_to_url(str(iri))


def test_harvester_follows_every_distribution(live_server):
    """What a portal does: fetch the catalogue by conneg, then every distribution it lists."""
    status, headers, body = http(live_server.url + "/catalog", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=body.decode("utf-8"), format="turtle")
    dists = list(g.subjects(RDF.type, DCAT.Distribution))
    assert len(dists) >= 17
    downloads = 0
    for dist in dists:
        download = g.value(dist, DCAT.downloadURL)
        if download is None:  # the SPARQL endpoint: its service description answers
            status, headers, _ = http(local(live_server, g.value(dist, DCAT.accessURL)), headers={"Accept": "text/turtle"})
            assert status == 200 and headers["Content-Type"].startswith("text/turtle")
            continue
        status, headers, data = http(local(live_server, download))
        assert status == 200, download
        packed = g.value(dist, DCAT.compressFormat)
        declared = str(packed if packed is not None else g.value(dist, DCAT.mediaType)).split("media-types/", 1)[1]
        assert headers["Content-Type"].split(";")[0] == declared, download
        assert len(data) == int(g.value(dist, DCAT.byteSize)) == int(headers["Content-Length"])
        checksum = g.value(dist, URIRef(SPDX + "checksum"))
        assert hashlib.sha256(data).hexdigest() == str(g.value(checksum, URIRef(SPDX + "checksumValue")))
        assert headers["ETag"]
        # README: dumps are served with Content-Disposition, saved under their own name
        assert headers["Content-Disposition"] == f'attachment; filename="{str(download).rsplit("/", 1)[1]}"', download
        downloads += 1
    assert downloads >= 14  # the loop above did follow the dumps, not only the endpoint


@pytest.mark.parametrize("accept,parser", [("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
                                           ("application/n-triples", "nt")])
def test_catalogue_in_every_format(live_server, accept, parser):
    status, headers, body = http(live_server.url + "/catalog", headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"].startswith(accept)
    g = Graph().parse(data=body.decode("utf-8"), format=parser)
    assert (CATALOG, RDF.type, DCAT.Catalog) in g and len(g) > 500


def test_catalogue_page_for_people(live_server):
    status, headers, body = http(live_server.url + "/catalog", headers={"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Catalogo dei Piani Strategici Metropolitani" in body.decode()


def test_void_well_known(live_server):
    status, headers, body = http(live_server.url + "/.well-known/void", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=body.decode(), format="turtle")
    assert (PLAN, RDF.type, VOID.Dataset) in g and g.value(PLAN, VOID.triples) is not None


def test_dump_ranges_and_validators(live_server):
    url = live_server.url + "/dumps/all.nq"
    status, headers, full = http(url)
    assert status == 200 and headers["Accept-Ranges"] == "bytes"
    status, headers, part = http(url, headers={"Range": "bytes=10-109"})
    assert status == 206 and part == full[10:110] and headers["Content-Range"] == f"bytes 10-109/{len(full)}"
    status, _, _ = http(url, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    status, _, _ = http(url, headers={"Range": f"bytes={len(full) + 10}-"})
    assert status == 416


@pytest.fixture(scope="module")
def dump(live_server):
    """The full all.nq and its validators, as a client first sees them."""
    status, headers, full = http(live_server.url + "/dumps/all.nq")
    assert status == 200 and len(full) > 1000
    return live_server.url + "/dumps/all.nq", full, headers["ETag"], headers["Last-Modified"]


@pytest.mark.parametrize("failing", [{"If-Match": '"nope"'}, {"If-Match": "W/{etag}"},
                                     {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}], ids=str)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("range_", [None, "bytes=0-9"])
def test_dump_failed_precondition_is_412_before_range(dump, failing, method, range_):
    """RFC 9110 §13.2.2: If-Match (compared strongly) and If-Unmodified-Since are judged before
    Range; a 412 has no body and no cache keeps it, as for documents."""
    url, _, etag, _ = dump
    headers = {name: value.format(etag=etag) for name, value in failing.items()}
    if range_:
        headers["Range"] = range_
    status, answer, body = http(url, headers=headers, method=method)
    assert status == 412 and body == b"" and answer["Content-Length"] == "0"
    assert answer["Cache-Control"] == "no-store" and "Content-Range" not in answer
    assert answer["ETag"] == etag and answer["Access-Control-Allow-Origin"] == "*"


def test_dump_passed_preconditions_then_range(dump):
    url, full, etag, modified = dump
    for headers in ({"If-Match": etag}, {"If-Match": "*"}, {"If-Unmodified-Since": modified}):
        status, answer, part = http(url, headers={**headers, "Range": "bytes=0-9"})
        assert status == 206 and part == full[:10] and answer["Content-Range"] == f"bytes 0-9/{len(full)}", headers
    status, _, body = http(url, headers={"If-None-Match": etag, "Range": "bytes=0-9"})  # a matching If-None-Match wins
    assert status == 304 and body == b""


@pytest.mark.parametrize("range_,expected", [
    ("bytes=10-109", (10, 109)),
    ("bytes=100-", (100, None)),
    ("bytes=-10", (-10, None)),
    ("bytes=0-99999999999", (0, None)),  # the last position is cut to the file's end
    ("BYTES=0-0", (0, 0)),  # the unit is case-insensitive
    ("bytes= 5-9 ", (5, 9)),
    ("items=0-1", None),  # an unknown unit is ignored (§14.2): the whole file
    ("bytes=0-1,5-6", None),  # several ranges: the whole file, no multipart answer
    ("bytes=0-1,,", (0, 1)),  # empty list elements do not count (§5.6.1)
    ("bytes=9-5", None),  # not a valid range: ignored
    ("bytes=abc", None),
    ("bytes", None),
])
def test_dump_range_forms(dump, range_, expected):
    url, full, _, _ = dump
    status, answer, body = http(url, headers={"Range": range_})
    if expected is None:
        assert status == 200 and body == full and "Content-Range" not in answer, range_
        return
    first, last = expected
    first = first % len(full)
    last = len(full) - 1 if last is None else last
    assert status == 206 and body == full[first:last + 1], range_
    assert answer["Content-Range"] == f"bytes {first}-{last}/{len(full)}" and answer["Content-Length"] == str(last - first + 1)
    assert answer["ETag"] and answer["Cache-Control"] == "public, max-age=300" and answer["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("range_", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=" + "9" * 5000 + "-"],
                         ids=["at-end", "at-end-closed", "empty-suffix", "5000-digits"])
def test_dump_unsatisfiable_range_is_416_with_its_size(dump, range_):
    """RFC 9110 §15.5.17: a 416 names the current length in Content-Range."""
    url, full, _, _ = dump
    for accept in ("text/plain", "text/html"):
        status, answer, body = http(url, headers={"Range": range_.format(size=len(full)), "Accept": accept})
        assert status == 416 and answer["Content-Range"] == f"bytes */{len(full)}", range_
        assert answer["Content-Type"].startswith(accept) and b"Traceback" not in body


def test_dump_if_range_compares_strongly(dump):
    """§13.1.5: the range is sent only when If-Range names the current representation exactly."""
    url, full, etag, modified = dump
    for if_range, partial in ((etag, True), ("W/" + etag, False), ('"other"', False), (modified, True),
                              ("Sat, 01 Jan 2000 00:00:00 GMT", False), ("garbage", False)):
        status, answer, body = http(url, headers={"Range": "bytes=0-9", "If-Range": if_range})
        assert (status, body) == ((206, full[:10]) if partial else (200, full)), if_range
    status, _, body = http(url, headers={"If-Range": '"other"'})  # without Range: ignored
    assert status == 200 and body == full


def test_dump_head_and_range(dump):
    url, full, etag, _ = dump
    status, answer, body = http(url, headers={"Range": "bytes=0-9"}, method="HEAD")  # Range is for GET only
    assert status == 200 and body == b"" and answer["Content-Length"] == str(len(full)) and "Content-Range" not in answer
    assert answer["Accept-Ranges"] == "bytes" and answer["ETag"] == etag


def test_dump_is_streamed_not_held_in_memory(built_dist):
    """A dump (~150 MB at scale) is sent from the open file, never read whole into a response."""
    from pianold.web import create_app

    client = create_app(built_dist).test_client()
    for headers in ({}, {"Range": "bytes=10-"}):
        response = client.get("/dumps/all.nq", headers=headers, buffered=False)
        try:
            assert response.status_code in (200, 206) and response.is_streamed and not isinstance(response.response, list)
            assert len(response.get_data()) == int(response.headers["Content-Length"])
        finally:
            response.close()


@pytest.mark.parametrize("path", [
    "/dumps/../manifest.json", "/dumps/%2e%2e/manifest.json", "/dumps/..%2fmanifest.json", "/dumps/manifest.json",
    "/dumps/store/CURRENT", "/dumps//etc/passwd", "/dumps/%2Fetc%2Fpasswd", "/dumps/plans/../../../../etc/passwd",
    "/dumps/plans/%2e%2e%2f%2e%2e%2fmanifest.json", "/dumps/all.nq%00.txt", "/dumps/ALL.NQ", "/dumps/", "/dumps/all.nq/",
])
def test_dump_names_are_an_allowlist(live_server, path):
    status, headers, body = http(live_server.url + path)
    assert status in (400, 404), (path, status)
    assert b"root:" not in body and b'"sha256"' not in body


def test_sitemap_lists_every_page(live_server):
    status, headers, body = http(live_server.url + "/sitemap.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = ET.fromstring(body).findall("s:url", ns)
    locs = [u.find("s:loc", ns).text for u in urls]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", u.find("s:lastmod", ns).text) for u in urls)
    assert live_server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.html" in locs
    assert live_server.url + "/onto/psm/Action.html" in locs
    assert len(locs) >= 3 + 1 + 29 + 10  # home, SPARQL, catalogue; plan; its elements; ontology terms
    for loc in locs:
        status, headers, _ = http(loc)
        assert status == 200 and headers["Content-Type"].startswith("text/html"), loc


def test_robots_points_at_the_sitemap(live_server):
    status, headers, body = http(live_server.url + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert f"Sitemap: {live_server.url}/sitemap.xml" in body.decode().splitlines()


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "data.example.it", "X-Forwarded-For": "203.0.113.7"}
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _public_urls(get, home: bool = True) -> list[str]:
    """The absolute URLs the site gives of itself: the sitemap's, robots.txt's, the home page's schema.org url."""
    urls = [loc.text for loc in ET.fromstring(get("/sitemap.xml")).findall("s:url/s:loc", SITEMAP_NS)]
    urls += [line.split(": ", 1)[1] for line in get("/robots.txt").decode().splitlines() if line.startswith("Sitemap:")]
    if home:
        blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', get("/").decode(), re.S)
        urls.append(json.loads(blocks[0])["url"])
    return urls


@pytest.fixture(scope="module")
def proxied_server(live_server, tmp_path_factory):
    """The same published data served as behind the documented nginx: trusted_proxies = 1."""
    from live import start_server

    log = tmp_path_factory.mktemp("proxied") / "server.log"
    server = start_server(live_server.dist, DATA, BASE, log, env={"PIANOLD_TRUSTED_PROXIES": "1"})
    yield server
    server.stop()
    assert "Traceback" not in log.read_text()


def test_behind_a_trusted_proxy_urls_are_the_proxys(proxied_server):
    """trusted_proxies=1: the sitemap and robots.txt name the scheme and host the client used
    (X-Forwarded-Proto/-Host, as the nginx example in docs/deployment.md sends them)."""
    def get(path):
        status, _, body = http(proxied_server.url + path, headers=FORWARDED)
        assert status == 200, path
        return body

    urls = _public_urls(get, home=False)  # "/" was fetched without the headers at start-up: see the next test
    assert len(urls) > 10 and all(u.startswith("https://data.example.it/") for u in urls), \
        [u for u in urls if not u.startswith("https://data.example.it/")]


def test_behind_a_trusted_proxy_each_origin_gets_its_own_urls(proxied_server):
    """The replay cache keys on the scheme and host the proxy reports, not on what reached it."""
    for headers, root in (({}, proxied_server.url + "/"), (FORWARDED, "https://data.example.it/")):
        def get(path):
            return http(proxied_server.url + path, headers=headers)[2]

        assert all(u.startswith(root) for u in _public_urls(get)), headers


def test_forwarded_headers_are_ignored_by_default(live_server):
    """trusted_proxies=0 (the default): a direct client cannot make the site name another host."""
    def get(path):
        status, _, body = http(live_server.url + path, headers=FORWARDED)
        assert status == 200, path
        return body

    urls = _public_urls(get)
    assert urls and all(u.startswith(live_server.url + "/") for u in urls), urls[:5]


@pytest.mark.parametrize("trusted,root", [(0, "http://localhost/"), (1, "https://data.example.it/"),
                                          (2, "http://localhost/")])  # two proxies expected, one hop sent: not believed
def test_trusted_proxies_setting(built_dist, trusted, root):
    """The same under any WSGI server (Flask's test client here): ProxyFix in front of the fast path."""
    from pianold.web import create_app

    client = create_app(built_dist.replace(trusted_proxies=trusted)).test_client()

    def get(path):
        response = client.get(path, headers=FORWARDED)
        assert response.status_code == 200, path
        return response.data

    urls = _public_urls(get)
    assert all(u.startswith(root) for u in urls), [u for u in urls if not u.startswith(root)]


def test_trusted_proxies_is_read_and_checked():
    from pianold.config import ConfigError, load_settings

    assert load_settings(env={}).trusted_proxies == 0
    assert load_settings(env={"PIANOLD_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_settings(env={"PIANOLD_TRUSTED_PROXIES": "-1"})


def _schema_graph(html: str) -> Graph:
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(scripts) == 1
    data = json.loads(scripts[0])
    assert data["@context"] == "https://schema.org"
    data["@context"] = {"@vocab": "https://schema.org/"}  # the same terms, without fetching the remote context
    return Graph().parse(data=json.dumps(data), format="json-ld")


def test_schema_org_on_home_and_plan_pages(live_server):
    schema = "https://schema.org/"
    home = _schema_graph(http(live_server.url + "/")[2].decode())
    catalog = next(home.subjects(RDF.type, URIRef(schema + "DataCatalog")))
    datasets = set(home.objects(catalog, URIRef(schema + "dataset")))
    assert PLAN in datasets and len(datasets) == 3
    plan = _schema_graph(http(live_server.url + "/data/plan/bari-psm-2030.html")[2].decode())
    assert (PLAN, RDF.type, URIRef(schema + "Dataset")) in plan
    assert str(plan.value(PLAN, URIRef(schema + "temporalCoverage"))) == "2020-01-01/2030-12-31"
    downloads = list(plan.objects(PLAN, URIRef(schema + "distribution")))
    assert len(downloads) == 5 and all(plan.value(d, URIRef(schema + "contentUrl")) for d in downloads)


def test_home_lists_the_open_data(live_server):
    html = http(live_server.url + "/")[2].decode()
    assert 'href="/dumps/all.nq"' in html and 'href="/catalog"' in html and 'href="/.well-known/void"' in html


# ---------------------------------------------------------------- the command


def test_check_catalog_command(tmp_path, plan_copy):
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "check-catalog"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: 0 error(s)" in run.stdout and "154 SPARQL rules" in run.stdout
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(re.sub(r'(?m)^email = .*\n', "", toml.read_text(encoding="utf-8")), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pianold", "--data", str(plan_copy), "--dist", str(tmp_path / "dist2"),
                          "check-catalog", "--errors-only"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 1
    assert "rule-209.added" in run.stdout and "does not have a vcard:hasEmail" in run.stdout
    assert "Traceback" not in run.stderr


def test_check_catalog_checks_the_catalogue_document_the_portals_harvest(tmp_path):
    """The command checked the catalogue merged with the plans' and the ontology's graphs, which no
    portal does: dati.gov.it and data.europa.eu read the catalogue document alone. A record left
    without what its plan's own graph also says (here the dataset's description) passed."""
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "pianold", "--dist", str(dist), "check-catalog"]
    assert subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300).returncode == 0
    catalog = (dist / "current").resolve() / "catalog.nt"
    lines = catalog.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = f"<{PLAN}> <{DCTERMS.description}> "
    assert any(line.startswith(dropped) for line in lines)
    catalog.write_text("".join(line for line in lines if not line.startswith(dropped)), encoding="utf-8")
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    findings = [line for line in run.stdout.splitlines() if line.startswith(("ERROR", "VIOLATION"))]
    assert any("rule-37" in f and f"<{PLAN}>" in f and "catalogue document" in f for f in findings), run.stdout
    assert any("DCAT-AP 3.0.1" in f and f"<{PLAN}>" in f and "->dct:description" in f for f in findings), run.stdout
    assert "dc1:" not in run.stdout  # DC Terms under the name its readers know


def test_check_catalog_checks_what_is_published_and_replaces_nothing(tmp_path, plan_copy):
    """Run against a dist built from other sources (or edited since), it checks that version as it
    is and says so: a checker never republishes what a server is serving."""
    dist = tmp_path / "dist"
    page = plan_copy / "bari-psm-2030" / "plan.toml"
    page.write_text(page.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")
    built = subprocess.run([sys.executable, "-m", "pianold", "--data", str(plan_copy), "--dist", str(dist), "build"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    before = os.readlink(dist / "current")
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "check-catalog", "--errors-only"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert os.readlink(dist / "current") == before and len(list((dist / "versions").iterdir())) == 1
    assert f"version {before.rsplit('/', 1)[-1]}" in run.stdout
    assert "was not built from the sources" in run.stderr and "pianold build" in run.stderr


def test_every_catalogue_text_is_in_italian_and_english(built_dist):
    """Titles and descriptions of the catalogue, its datasets and distributions, each in both
    languages (the plan's own English texts aside, which plan.toml may leave out)."""
    from pianold.publish import current_version

    g = catalog_of(current_version(built_dist.dist_dir))
    for prop in (DCTERMS.title, DCTERMS.description):
        for subject in {s for s in g.subjects(prop, None) if str(s).startswith(BASE)}:  # ours, not the EU vocabularies'
            langs = {o.language for o in g.objects(subject, prop)}
            assert {"it", "en"} <= langs or subject == PLAN, (subject, prop, langs)


def test_a_link_to_another_citys_pianold_plan_has_its_linkset(tmp_path, plan_copy):
    """A plan published by pianold elsewhere (another base) is a dataset the VoID linksets name."""
    from pianold.config import load_settings
    from pianold.publish import build

    other = "https://dati.comune.example.it/psm/data/plan/torino-psm/action/2.1.a"
    links = plan_copy / "bari-psm-2030" / "links.csv"
    links.write_text(links.read_text(encoding="utf-8") + f"5.1.1.a,skos:closeMatch,{other},a reviewed match\n", encoding="utf-8")
    version = build(load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist", base=BASE))
    catalog = Graph().parse(version.path / "catalog.ttl")
    targets = {str(catalog.value(l, VOID.objectsTarget)) for l in catalog.subjects(RDF.type, VOID.Linkset)
               if catalog.value(l, VOID.linkPredicate) == SKOS.closeMatch}
    assert "https://dati.comune.example.it/psm/data/plan/torino-psm" in targets


CC0 = "https://w3id.org/italia/controlled-vocabulary/licences/A11_CCO10"
CC_BY = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"


def test_the_dump_of_everything_never_declares_one_part_s_licence_for_another_s(tmp_path):
    """A second city's plan under CC0 beside Bari's under CC BY: the dump of everything joins both,
    and declaring the first plan's licence for it misstated the other's (and CC0 for Bari's data,
    had the CC0 plan come first). The build says where to decide; combined_license decides."""
    from pianold.config import load_settings
    from pianold.ingest import SourceError
    from pianold.publish import build
    from plan_sources import edit, second_plan

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    copy = second_plan(data, "aaa-altra-citta")  # sorts first: its licence was the one declared
    edit(copy, "plan.toml", f'license = "{CC_BY}"', f'license = "{CC0}"')
    with pytest.raises(SourceError) as refused:
        build(load_settings(env={}, data_dir=data, dist_dir=tmp_path / "dist", base=BASE))
    message = str(refused.value)
    assert "aaa-altra-citta/plan.toml:" in message and "combined_license" in message, message
    assert f"plan aaa-altra-citta: {CC0}" in message and f"plan bari-psm-2030: {CC_BY}" in message
    assert not (tmp_path / "dist" / "current").exists()  # nothing published

    version = build(load_settings(env={"PIANOLD_COMBINED_LICENSE": CC_BY}, data_dir=data, dist_dir=tmp_path / "dist", base=BASE))
    catalog = Graph().parse(version.path / "catalog.ttl")
    everything = URIRef(f"{BASE}/catalog/dataset/all")
    licences = {str(catalog.value(d, DCTERMS.license)) for d in catalog.objects(everything, DCAT.distribution)}
    assert licences == {CC_BY}
    for plan, licence in (("aaa-altra-citta", CC0), ("bari-psm-2030", CC_BY)):
        dists = list(catalog.objects(URIRef(f"{BASE}/data/plan/{plan}"), DCAT.distribution))
        assert dists and {str(catalog.value(d, DCTERMS.license)) for d in dists} == {licence}


def test_plans_of_several_publishers_need_the_catalogue_s_publisher_named(tmp_path):
    """The first plan's publisher published the catalogue: a second city's plan sorting first made
    it the catalogue's publisher and changed the identifier of the dataset of everything
    (cmba:pianold-all → cmto:pianold-all), a new dataset to a harvester. With several publishers
    the build asks which one (catalog_publisher), and holds to it whatever plans are added."""
    from pianold.config import load_settings
    from pianold.ingest import SourceError
    from pianold.publish import build
    from plan_sources import edit, second_plan

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    copy = second_plan(data, "aaa-torino")
    edit(copy, "plan.toml", 'ipa = "cmba"', 'ipa = "cmto"')
    edit(copy, "plan.toml", 'name = "Città metropolitana di Bari"', 'name = "Città metropolitana di Torino"')

    def settings(**env):
        return load_settings(env={f"PIANOLD_{k.upper()}": v for k, v in env.items()}, data_dir=data, dist_dir=tmp_path / "dist", base=BASE)

    for env, said in (({}, "set catalog_publisher"), ({"catalog_publisher": "cmxx"}, "'cmxx' is not the IPA code")):
        with pytest.raises(SourceError) as refused:
            build(settings(**env))
        assert said in str(refused.value) and "cmba (Città metropolitana di Bari)" in str(refused.value)
        assert str(refused.value).startswith(str(data))  # the deployment's decision, not one plan's
    catalog = Graph().parse(build(settings(catalog_publisher="cmba")).path / "catalog.ttl")
    everything = URIRef(f"{BASE}/catalog/dataset/all")
    assert str(catalog.value(everything, DCTERMS.identifier)) == "cmba:pianold-all"
    assert catalog.value(URIRef(f"{BASE}/catalog"), DCTERMS.publisher) == URIRef(f"{BASE}/data/public-organization/cmba")
    assert catalog.value(URIRef(f"{BASE}/data/plan/aaa-torino"), DCTERMS.publisher) == URIRef(f"{BASE}/data/public-organization/cmto")


def test_the_dump_of_everything_has_the_themes_of_all_its_plans(tmp_path):
    """The dataset of everything took the first plan's themes: a second city's transport plan
    sorted first made Bari's governance and society data a transport dataset in the catalogue."""
    from pianold.catalog import THEME
    from pianold.config import load_settings
    from pianold.publish import build
    from plan_sources import edit, second_plan

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    copy = second_plan(data, "aaa-altra-citta")  # sorts first
    edit(copy, "plan.toml", "keywords = [", 'themes = ["TRAN"]\nkeywords = [')
    version = build(load_settings(env={}, data_dir=data, dist_dir=tmp_path / "dist", base=BASE))
    catalog = Graph().parse(version.path / "catalog.ttl")
    themes = lambda dataset: set(catalog.objects(URIRef(dataset), DCAT.theme))  # noqa: E731
    assert themes(f"{BASE}/data/plan/aaa-altra-citta") == {THEME.TRAN}
    assert themes(f"{BASE}/catalog/dataset/all") == themes(f"{BASE}/data/plan/bari-psm-2030") | {THEME.TRAN}


def test_the_dump_of_everything_changes_as_often_as_its_plans_together(tmp_path):
    """Its update frequency was the first plan's: a second plan updated every year, sorting first,
    made the whole (which changes with each plan) an annual dataset. Plans of one frequency give
    it theirs; plans of several, no regular one (IRREG)."""
    from pianold.catalog import FREQUENCY
    from pianold.config import load_settings
    from pianold.publish import build
    from plan_sources import edit, second_plan

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    copy = second_plan(data, "aaa-altra-citta")  # sorts first
    everything = URIRef(f"{BASE}/catalog/dataset/all")

    def frequency_of_everything() -> URIRef:
        version = build(load_settings(env={}, data_dir=data, dist_dir=tmp_path / "dist", base=BASE))
        return Graph().parse(version.path / "catalog.ttl").value(everything, DCTERMS.accrualPeriodicity)

    edit(copy, "plan.toml", "keywords = [", 'frequency = "ANNUAL"\nkeywords = [')
    assert frequency_of_everything() == FREQUENCY.IRREG
    edit(data / "bari-psm-2030", "plan.toml", "keywords = [", 'frequency = "ANNUAL"\nkeywords = [')
    assert frequency_of_everything() == FREQUENCY.ANNUAL


def test_the_dataset_of_everything_counts_its_triples(built_dist):
    """void:triples of the dataset of everything is the number of distinct triples its union dumps
    hold, as each plan's and the ontology's dataset gives its own (it had none)."""
    import gzip as gz

    from pianold.publish import current_version

    version = current_version(built_dist.dist_dir)
    catalog = catalog_of(version)
    with gz.open(version.path / "all.nt.gz", "rt", encoding="utf-8") as dump:
        lines = {line for line in dump if line.strip()}
    assert catalog.value(URIRef(f"{BASE}/catalog/dataset/all"), VOID.triples) == Literal(len(lines), datatype=XSD.integer)
    assert len(lines) == len(Graph().parse(version.path / "all.ttl"))
