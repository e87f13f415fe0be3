"""Property tests (hypothesis): path <-> IRI mapping, SPARQL request parameters, every input reader."""

from __future__ import annotations

import shutil
from urllib.parse import quote, urlencode

from werkzeug.datastructures import MultiDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pianold.ingest import SourceError, load_plan, read_page_text, read_plan_toml, read_wdt_csv
from pianold.ingest.links_csv import read_links
from pianold.web.urls import iri_for_path, normalise_path, path_for_iri

from conftest import BARI, BASE

SEGMENT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(st.lists(SEGMENT, min_size=1, max_size=5))
def test_raw_and_percent_encoded_paths_name_the_same_iri(segments):
    raw = "/data/" + "/".join(s.replace("/", "_").replace("%", "_") for s in segments)
    encoded = quote(raw, safe="/")
    assert normalise_path(raw) == normalise_path(encoded)
    assert normalise_path(normalise_path(raw)) == normalise_path(raw)  # idempotent


@FAST
@given(st.lists(SEGMENT, min_size=1, max_size=5), st.sampled_from(["/data/", "/catalog/", "/onto/psm/"]))
def test_path_iri_round_trip(segments, prefix):
    path = normalise_path(prefix + "/".join(s.replace("/", "_").replace("%", "_") for s in segments))
    iri = iri_for_path(BASE, path)
    assert path_for_iri(BASE, iri) == path
    assert " " not in iri and "<" not in iri and ">" not in iri and '"' not in iri


@FAST
@given(st.text(max_size=80))
def test_any_path_maps_or_raises_a_value_error(text):
    try:
        mapped = normalise_path("/data/" + text)
    except ValueError:  # invalid percent-encoded UTF-8: the server answers 400/404
        return
    # a path that maps is one ASCII spelling, fit for an IRI, and maps to itself
    assert mapped.startswith("/data/") and mapped.isascii() and not any(c in mapped for c in ' <>"{}|\\^`')
    assert normalise_path(mapped) == mapped


@pytest.fixture(scope="module")
def client(built_dist):
    from pianold.web.app import create_app

    app = create_app(built_dist)
    return app.test_client()


PARAM = st.sampled_from(["query", "format", "default-graph-uri", "named-graph-uri", "update", "timeout", "callback", "x"])
VALUE = st.one_of(st.text(max_size=200), st.sampled_from([
    "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "ASK {}", "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "DESCRIBE <x:y>",
    "json", "xml", "csv", "tsv", "ttl", "jsonld", "html", "nonsense", f"{BASE}/data/plan/bari-psm-2030", "<>", "%", "\x00"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(PARAM, VALUE), max_size=5), st.sampled_from(["GET", "POST"]),
       st.sampled_from([None, "*/*", "text/csv", "application/sparql-results+json", "text/turtle", "image/png", "garbage;;q=x"]))
def test_sparql_parameters_never_cause_a_server_error(client, params, method, accept):
    headers = {"Accept": accept} if accept else {}
    if method == "GET":
        response = client.get("/sparql", query_string=urlencode(params), headers=headers)
    else:
        response = client.post("/sparql", data=MultiDict(params), headers=headers)
    assert response.status_code < 500 or response.status_code == 503, (params, response.status_code, response.data[:300])
    if response.status_code >= 400:
        assert b"Traceback" not in response.data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120), st.sampled_from([None, "text/turtle", "text/html", "application/ld+json", "*/*;q=0", "x"]))
def test_any_resource_path_never_causes_a_server_error(client, text, accept):
    headers = {"Accept": accept} if accept else {}
    for prefix in ("/data/", "/onto/", "/catalog/", "/dumps/"):
        response = client.get(prefix + quote(text, safe="/%"), headers=headers)
        assert response.status_code in (200, 206, 303, 304, 308, 400, 404, 405, 406), (prefix, text, response.status_code)


# ---------------------------------------------------------------- readers: parse or a located SourceError

CSV_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@pytest.fixture(scope="module")
def levels():
    return read_plan_toml(BARI / "plan.toml").levels


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(CSV_TEXT, st.binary(max_size=300)))
def test_wdt_csv_reader(tmp_path_factory, levels, content):
    path = tmp_path_factory.mktemp("wdt") / "asse.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    try:
        table = read_wdt_csv(path, levels, "5")
        assert table.rows
    except SourceError as err:
        assert err.problems and all(str(p).startswith(str(path)) for p in err.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(CSV_TEXT, st.lists(st.sampled_from([
    "code,property,target,rationale", "5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,ok", "5.1.1.a,dct:subject,x,y",
    "a,b", '"', ";;;", "code;property;target;rationale", "5.1.1.a;skos:closeMatch;https://e.org/x;z"]), max_size=6).map("\n".join)))
def test_links_reader(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("links") / "links.csv"
    path.write_text(content, encoding="utf-8")
    try:
        read_links(path, {"5.1.1.a", "5.1"})
    except SourceError as err:
        assert err.problems and all(str(p).startswith(str(path)) for p in err.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=600))
def test_page_text_reader(tmp_path_factory, levels, content):
    path = tmp_path_factory.mktemp("page") / "page.txt"
    path.write_text(content, encoding="utf-8")
    try:
        read_page_text(path, levels, "5")
    except SourceError as err:
        assert err.problems and all(str(p).startswith(str(path)) for p in err.problems)


TOML_LINES = st.sampled_from([
    'id = "x"', 'id = "bari-psm-2030"', 'title = "T"', 'title = 3', "[publisher]", 'name = "N"', 'ipa = "cmba"',
    "[territory]", 'province = "072"', "[period]", "start = 2020-01-01", "end = 2019-01-01", "[[levels]]", 'key = "axis"',
    'pattern = "["', "[[axes]]", 'code = "1"', "themes = []", 'frequency = "SOMETIMES"', 'email = "no"', "= broken", '"'])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.lists(TOML_LINES, max_size=14).map("\n".join), st.text(max_size=200)))
def test_plan_toml_reader(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("toml")
    path = folder / "plan.toml"
    path.write_text(content, encoding="utf-8")
    try:
        read_plan_toml(path)
    except SourceError as err:
        assert err.problems and all(str(p).startswith(str(path)) for p in err.problems)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2000), st.binary(min_size=1, max_size=20))
def test_corrupting_any_byte_of_the_page_is_caught_or_harmless(tmp_path_factory, position, junk):
    folder = tmp_path_factory.mktemp("bari") / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    page = folder / "sources" / "asse-5-page.txt"
    data = page.read_bytes()
    position %= len(data)
    page.write_bytes(data[:position] + junk + data[position + len(junk):])
    try:
        plan = load_plan(folder)
        assert plan.elements
    except SourceError as err:
        assert err.problems
