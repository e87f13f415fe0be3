"""Linking: curated SDG/EuroVoc links, a plan of another shape, link discovery with `pianold link`,
and a federated query across two pianold servers."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, VOID

from conftest import BARI, BASE, DATA, ROOT
from live import http, start_server

FIXTURE = ROOT / "tests" / "fixtures" / "three-level-plan"
PSM = "https://w3id.org/pianold/onto/psm/"
SDG = "http://metadata.un.org/sdg/"
EUROVOC = "http://eurovoc.europa.eu/"


# ---------------------------------------------------------------- the curated Bari links


def bari_links():
    with open(BARI / "links.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_axis5_action_and_specific_objective_has_sdg_and_eurovoc():
    from pianold.ingest import load_plan

    plan = load_plan(BARI)
    wanted = [e.code for e in plan.elements if e.code.startswith("5.") and e.level.key in ("specific-objective", "action")]
    assert len(wanted) == 15
    links = bari_links()
    for code in wanted:
        mine = [l for l in links if l["code"] == code]
        assert any(l["property"] == "psm:contributesTo" and l["target"].startswith(SDG) for l in mine), code
        assert any(l["property"] == "dct:subject" and l["target"].startswith(EUROVOC) for l in mine), code
        assert all(len(l["rationale"]) > 15 for l in mine), code


def test_every_identifier_records_where_it_was_checked():
    from pianold.vocabularies import concepts

    used = {l["target"] for l in bari_links()}
    known = concepts()
    with open(ROOT / "vocabularies" / "eurovoc.csv", encoding="utf-8") as fh:
        eurovoc = {r["iri"]: r for r in csv.DictReader(fh)}
    with open(ROOT / "vocabularies" / "sdg-targets.csv", encoding="utf-8") as fh:
        targets = {r["iri"]: r for r in csv.DictReader(fh)}
    for iri in used:
        assert iri in known, iri
        row = eurovoc.get(iri) or targets.get(iri)
        if row is not None:
            assert row["checked_at"].strip() and row["label_en"].strip(), iri
    assert all(iri in targets for iri in used if iri.startswith(SDG) and "." in iri[len(SDG):])


def test_links_are_in_the_plan_graph_with_labels(built_dist):
    from pianold.publish import current_version

    version = current_version(built_dist.dist_dir)
    g = Graph().parse(version.path / "plans" / "bari-psm-2030.ttl")
    action = URIRef(f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.a")
    targets = set(g.objects(action, URIRef(PSM + "contributesTo")))
    assert targets and all(str(t).startswith(SDG) for t in targets)
    for t in targets | set(g.objects(action, DCTERMS.subject)):
        assert g.value(t, SKOS.prefLabel) is not None, t
    assert len(list(g.triples((None, URIRef(PSM + "contributesTo"), None)))) >= 15


def test_registry_links(built_dist):
    from pianold.publish import current_version

    g = Graph().parse(current_version(built_dist.dist_dir).path / "plans" / "bari-psm-2030.ttl")
    plan = URIRef(f"{BASE}/data/plan/bari-psm-2030")
    org = URIRef(f"{BASE}/data/public-organization/cmba")
    assert str(g.value(org, URIRef("https://w3id.org/italia/onto/COV/IPAcode"))) == "cmba"
    assert str(g.value(plan, DCTERMS.spatial)).endswith("/territorial-classifications/provinces/072")
    identifier = g.value(org, URIRef("https://w3id.org/italia/onto/CLV/hasIdentifier"))
    assert str(g.value(identifier, URIRef("https://w3id.org/italia/onto/l0/identifier"))) == "272"
    assert str(g.value(plan, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))) == "https://pianostrategico.cittametropolitana.ba.it/"


def test_pages_show_links_and_sdg_chart(live_server):
    html = http(live_server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.html")[2].decode()
    assert 'id="links-h"' in html and "Agenda 2030 (SDG)" in html and "Temi EuroVoc" in html
    assert 'href="http://metadata.un.org/sdg/11.1"' in html
    plan = http(live_server.url + "/data/plan/bari-psm-2030.html")[2].decode()
    assert plan.count("<rect") >= 17 and "azioni su 10" in plan
    assert 'href="https://w3id.org/italia/controlled-vocabulary/territorial-classifications/provinces/072"' in plan
    assert 'href="https://pianostrategico.cittametropolitana.ba.it/"' in plan
    org = http(live_server.url + "/data/public-organization/cmba.html")[2].decode()
    assert "272" in org and "cmba" in org


# ---------------------------------------------------------------- links into this site must name an element


def copy_bari(tmp_path):
    folder = tmp_path / "data" / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    return folder


def at(folder, name, line, column):
    return f"{folder / name}:{line}:{column}: "


PLAN = f"{BASE}/data/plan/bari-psm-2030"


def check_links(plans, uris):
    from pianold.ingest import check_links as check

    check(plans, uris)


def add_link(folder, code: str, target: str, prop: str = "skos:closeMatch") -> None:
    with open(folder / "links.csv", "a", encoding="utf-8") as fh:
        fh.write(f"{code},{prop},{target},test\n")


def link_problems(*folders, base: str = BASE) -> list[str]:
    from pianold.ingest import SourceError, load_plan
    from pianold.uris import Uris

    with pytest.raises(SourceError) as caught:
        check_links([load_plan(f) for f in folders], Uris(base))
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("code,target,message", [
    ("5.1.1", f"{PLAN}/action/9.9.9.z", "plan bari-psm-2030 has no element 'action/9.9.9.z'"),
    ("5.1.1", f"{PLAN}/objective/5.1.1", "plan bari-psm-2030 has no element 'objective/5.1.1'"),
    ("5.1.1.a", f"{PLAN}/action/5.1.1.a", "the target is element 5.1.1.a itself"),
    ("5.1.1.a", f"{PLAN}/specific-objective/5.2.1", "the target is element 5.2.1 of this same plan"),
    ("5.1.1.a", PLAN, "is plan bari-psm-2030, not one of its elements"),
    ("5.1.1.a", f"{BASE}/data/public-organization/cmba", "is in this site's address space (https://w3id.org/pianold) but is not a plan element"),
])
def test_link_into_this_site_must_name_an_element(tmp_path, code, target, message):
    folder = copy_bari(tmp_path)
    add_link(folder, code, target)
    found = link_problems(folder)
    assert len(found) == 1 and found[0].startswith(at(folder, "links.csv", 70, 3)) and message in found[0], found


def test_links_outside_this_site_or_to_plans_built_elsewhere_are_kept(tmp_path):
    folder = copy_bari(tmp_path)
    add_link(folder, "5.1.1.a", "https://example.org/pianold/data/plan/bari-psm-2030/action/9.9.9.z")  # another base
    add_link(folder, "5.1.1.b", f"{BASE}/data/plan/test-tre-livelli/action/2.1.1")  # another pianold, same base
    from pianold.ingest import load_plan
    from pianold.uris import Uris

    check_links([load_plan(folder)], Uris(BASE))
    # the base is the build's: under another base, the first link would be checked, and refused
    assert "has no element 'action/9.9.9.z'" in link_problems(folder, base="https://example.org/pianold")[0]


def test_links_between_plans_built_together(tmp_path):
    bari = copy_bari(tmp_path)
    other = tmp_path / "data" / "test-tre-livelli"
    shutil.copytree(FIXTURE, other)
    add_link(bari, "5.1.1.a", f"{BASE}/data/plan/test-tre-livelli/action/2.1.1")
    from pianold.ingest import load_plan
    from pianold.uris import Uris

    check_links([load_plan(bari), load_plan(other)], Uris(BASE))
    add_link(bari, "5.1.1.b", f"{BASE}/data/plan/test-tre-livelli/action/2.1.9")
    found = link_problems(bari, other)
    assert len(found) == 1 and found[0].startswith(at(bari, "links.csv", 71, 3)), found
    assert "plan test-tre-livelli has no element 'action/2.1.9'" in found[0]


def test_build_refuses_a_dangling_link(tmp_path):
    from pianold.config import load_settings
    from pianold.ingest import SourceError
    from pianold.publish import build_dataset

    folder = copy_bari(tmp_path)
    add_link(folder, "5.1.1", f"{PLAN}/action/9.9.9.z")
    settings = load_settings(env={}, data_dir=folder.parent, dist_dir=tmp_path / "dist", base=BASE)
    with pytest.raises(SourceError) as caught:
        build_dataset(settings)
    assert str(caught.value.problems[0]).startswith(at(folder, "links.csv", 70, 3))


def test_links_csv_missing_is_no_links_but_a_folder_is_an_error(tmp_path):
    from pianold.ingest import SourceError, load_plan

    folder = copy_bari(tmp_path)
    (folder / "links.csv").unlink()
    assert load_plan(folder).links == []
    (folder / "links.csv").mkdir()
    with pytest.raises(SourceError) as caught:
        load_plan(folder)
    assert len(caught.value.problems) == 1
    text = str(caught.value.problems[0])
    assert text.startswith(f"{folder / 'links.csv'}: ") and "is a directory" in text, text


# ---------------------------------------------------------------- link discovery


def test_italian_aware_keywords():
    from pianold.linking import keywords, normalise

    assert normalise("Città dell’abitare, POVERTÀ") == "citta dell abitare poverta"
    words = keywords("Rafforzamento dell’Agenzia Metropolitana per la casa")
    assert set(words.values()) == {"agenzia", "casa"}  # stop words and plan boilerplate dropped
    assert set(keywords("politiche abitative")) & set(keywords("diritto all’abitare"))  # abitative ~ abitare


def test_scores_prefer_same_meaning_and_shared_targets():
    from pianold.linking import Element, candidates

    ours = [Element("a", "Rafforzamento dell’Agenzia Metropolitana per la casa", "p1", "5.1.1.a", {SDG + "11.1"})]
    theirs = [Element("x", "Agenzia metropolitana per la casa e l’abitare sociale", "p2", None, {SDG + "11.1"}),
              Element("y", "Forestazione dei corridoi fluviali", "p2", None, {SDG + "15"}),
              Element("z", "Agenzia della casa", "p1", None, set())]  # same plan: never proposed
    found = candidates(ours, theirs)
    assert [c.theirs.iri for c in found] == ["x"]
    assert found[0].property == "skos:closeMatch" and found[0].shared_targets == (SDG + "11.1",)


@pytest.fixture(scope="module")
def other_city(tmp_path_factory):
    """A second pianold serving only the three-level fixture plan."""
    folder = tmp_path_factory.mktemp("other")
    data = folder / "data"
    shutil.copytree(FIXTURE, data / "test-tre-livelli")
    server = start_server(folder / "dist", data, BASE, folder / "server.log")
    yield server
    server.stop()
    assert "Traceback" not in (folder / "server.log").read_text(errors="replace")


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pianold", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_link_discovers_reviews_and_publishes(other_city, plan_copy, tmp_path):
    dist = str(tmp_path / "dist")
    run = run_cli("--data", str(plan_copy), "--dist", dist, "link", "--endpoint", other_city.url + "/sparql",
                  "--plan", "bari-psm-2030", "--out", str(tmp_path / "candidates.csv"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(tmp_path / "candidates.csv", encoding="utf-8")))
    best = {(r["code"], r["target"]): r for r in rows}
    key = ("5.1.1.a", f"{BASE}/data/plan/test-tre-livelli/action/2.1.1")
    assert key in best, rows
    assert best[key]["property"] == "skos:closeMatch" and "agenzia" in best[key]["shared_words"]
    assert float(best[key]["score"]) == max(float(r["score"]) for r in rows if r["code"] == "5.1.1.a")

    for row in rows:  # the reviewer accepts only the best one
        row["accept"] = "sì" if (row["code"], row["target"]) == key else ""
    with open(tmp_path / "reviewed.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = (plan_copy / "bari-psm-2030" / "links.csv").read_text(encoding="utf-8")
    run = run_cli("--data", str(plan_copy), "--dist", dist, "link", "--plan", "bari-psm-2030",
                  "--accept", str(tmp_path / "reviewed.csv"), cwd=tmp_path)
    assert run.returncode == 0 and "1 link(s) added" in run.stdout, run.stderr
    after = (plan_copy / "bari-psm-2030" / "links.csv").read_text(encoding="utf-8")
    assert after.count("\n") == before.count("\n") + 1 and "skos:closeMatch" in after
    run = run_cli("--data", str(plan_copy), "--dist", dist, "link", "--plan", "bari-psm-2030",
                  "--accept", str(tmp_path / "reviewed.csv"), cwd=tmp_path)
    assert "0 link(s) added" in run.stdout  # accepting twice adds nothing

    run = run_cli("--data", str(plan_copy), "--dist", dist, "build", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    from pianold.publish import current_version

    version = current_version(tmp_path / "dist")
    g = Graph().parse(version.path / "plans" / "bari-psm-2030.ttl")
    ours = URIRef(f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.a")
    assert (ours, SKOS.closeMatch, URIRef(key[1])) in g
    assert "Agenzia metropolitana per la casa" in str(g.value(URIRef(key[1]), SKOS.prefLabel))
    catalog = Graph().parse(version.path / "catalog.ttl")
    linksets = [l for l in catalog.subjects(RDF.type, VOID.Linkset) if catalog.value(l, VOID.linkPredicate) == SKOS.closeMatch]
    assert [str(catalog.value(l, VOID.objectsTarget)) for l in linksets] == [f"{BASE}/data/plan/test-tre-livelli"]


def test_link_reads_every_element_of_an_endpoint_with_a_row_limit(other_city, tmp_path):
    """An endpoint answering at most 4 rows a query (pianold's sparql_max_rows, said with
    X-Pianold-Truncated) still gives `pianold link` all its elements and targets: the command
    read the first 4 rows only and proposed matches against those, saying nothing."""
    from pianold.linking import remote_elements

    folder = tmp_path / "capped"
    shutil.copytree(FIXTURE, folder / "data" / "test-tre-livelli")
    capped = start_server(folder / "dist", folder / "data", BASE, folder / "server.log", env={"PIANOLD_SPARQL_MAX_ROWS": "4"})
    try:
        whole = {e.iri: (e.label, e.code, e.targets) for e in remote_elements(other_city.url + "/sparql")}
        assert len(whole) == 12
        assert {e.iri: (e.label, e.code, e.targets) for e in remote_elements(capped.url + "/sparql", timeout=60)} == whole
    finally:
        capped.stop()


_HELD: list = []  # accepted connections stay open (and silent) until the test process ends


def _silent_server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    threading.Thread(target=lambda: _HELD.append(sock.accept()), daemon=True).start()
    return sock


@pytest.mark.parametrize("target,message", [
    ("closed", "cannot reach"), ("html", "did not answer with SPARQL JSON results"),
    ("notfound", "answered HTTP 404"), ("silent", "did not answer within 2 s"), ("ftp", "must be an http(s) URL")])
def test_link_endpoint_errors_are_clear(other_city, tmp_path, target, message):
    from live import free_port

    sock = None
    if target == "closed":
        url = f"http://127.0.0.1:{free_port()}/sparql"
    elif target == "html":
        url = other_city.url + "/data/plan/test-tre-livelli.html"
    elif target == "notfound":
        url = other_city.url + "/no-sparql-here"
    elif target == "silent":
        sock = _silent_server()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/sparql"
    else:
        url = "ftp://example.org/sparql"
    try:
        run = run_cli("--dist", str(tmp_path / "dist"), "link", "--endpoint", url, "--timeout", "2", cwd=tmp_path)
    finally:
        if sock is not None:
            sock.close()
    assert run.returncode == 1
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- two plans, two servers


@pytest.fixture(scope="module")
def both_plans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("both")
    data = folder / "data"
    shutil.copytree(DATA, data)
    shutil.copytree(FIXTURE, data / "test-tre-livelli")
    server = start_server(folder / "dist", data, BASE, folder / "server.log", env={"PIANOLD_CATALOG_PUBLISHER": "cmba"})
    yield server
    server.stop()


def test_second_plan_page_query_and_catalogue(both_plans):
    html = http(both_plans.url + "/data/plan/test-tre-livelli.html")[2].decode()
    assert "Piano di prova a tre livelli" in html and "Strategia" in html
    home = http(both_plans.url + "/")[2].decode()
    assert "Piano di prova a tre livelli" in home and "PSM BARI 20&gt;30" in home
    query = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?plan (COUNT(?e) AS ?n) WHERE { ?e a <https://w3id.org/pianold/onto/psm/PlanElement> ; skos:inScheme ?plan }
        GROUP BY ?plan ORDER BY ?plan"""
    body = http(both_plans.url + "/sparql?" + urllib.parse.urlencode({"query": query}),
                headers={"Accept": "text/csv"})[2].decode()
    counts = dict(list(csv.reader(io.StringIO(body)))[1:])
    assert counts == {f"{BASE}/data/plan/bari-psm-2030": "29", f"{BASE}/data/plan/test-tre-livelli": "12"}
    catalog = Graph().parse(data=http(both_plans.url + "/catalog", headers={"Accept": "text/turtle"})[2].decode(), format="turtle")
    plans = {str(d) for d in catalog.objects(URIRef(f"{BASE}/catalog"), URIRef("http://www.w3.org/ns/dcat#dataset"))}
    assert {f"{BASE}/data/plan/bari-psm-2030", f"{BASE}/data/plan/test-tre-livelli"} <= plans


FEDERATED = """PREFIX psm: <https://w3id.org/pianold/onto/psm/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?ours ?theirs ?target WHERE {
  ?ours psm:contributesTo ?target .
  SERVICE <%s> { ?theirs psm:contributesTo ?target }
} ORDER BY ?ours ?theirs"""


def test_federated_query_across_two_servers(other_city, tmp_path):
    """Bari's server, allowed to call the other city's endpoint, joins both plans on shared SDG targets."""
    remote = other_city.url + "/sparql"
    bari = start_server(tmp_path / "dist", DATA, BASE, tmp_path / "bari.log",
                        env={"PIANOLD_SPARQL_SERVICE_ALLOWLIST": remote})
    try:
        from SPARQLWrapper import JSON, SPARQLWrapper

        client = SPARQLWrapper(bari.url + "/sparql")
        client.setQuery(FEDERATED % remote)
        client.setReturnFormat(JSON)
        rows = client.query().convert()["results"]["bindings"]
        pairs = {(r["ours"]["value"].rsplit("/", 1)[1], r["theirs"]["value"].rsplit("/", 1)[1], r["target"]["value"]) for r in rows}
        assert ("5.1.1.a", "2.1.1", SDG + "11.1") in pairs
        assert all(r["ours"]["value"].startswith(f"{BASE}/data/plan/bari-psm-2030/") and
                   r["theirs"]["value"].startswith(f"{BASE}/data/plan/test-tre-livelli/") for r in rows)
        # the same query to an endpoint not on the allowlist is refused before any request
        status, _, body = http(bari.url + "/sparql?" + urllib.parse.urlencode({"query": FEDERATED % "http://127.0.0.1:9/sparql"}))
        assert status == 403 and b"allow" in body.lower()
    finally:
        bari.stop()
    assert "Traceback" not in (tmp_path / "bari.log").read_text(errors="replace")


@pytest.mark.parametrize("bindings", [
    5, "bindings", [5], [{"e": "x", "label": {"value": "a"}, "plan": {"value": "p"}}],
    [{"e": {"value": "http://x/e"}, "label": {"value": None}, "plan": {"value": "http://x/p"}}],
    [{"e": {"value": "http://x/e"}, "label": {"value": "casa"}, "plan": {"value": "http://x/p"}, "target": "t", "code": "5"}],
])
def test_malformed_sparql_json_from_another_endpoint_is_no_crash(bindings):
    """Another endpoint's answer is read defensively: odd rows are skipped, an odd shape is an EndpointError."""
    from pianold import linking

    data = {"head": {"vars": []}, "results": {"bindings": bindings}}
    if not isinstance(bindings, list):
        with pytest.raises(linking.EndpointError, match="did not answer with SPARQL JSON results"):
            linking._bindings(data, "http://x/sparql")
        return
    elements = linking._elements(linking._bindings(data, "http://x/sparql"))
    assert all(isinstance(e.label, str) for e in elements)
    well_formed = isinstance(bindings[0], dict) and bindings[0].get("label", {}).get("value") == "casa"
    assert [e.iri for e in elements] == (["http://x/e"] if well_formed else [])


def test_link_output_that_cannot_be_written_is_a_clear_error(other_city, tmp_path):
    run = run_cli("--dist", str(tmp_path / "dist"), "link", "--endpoint", other_city.url + "/sparql",
                  "--out", str(tmp_path / "no" / "such" / "dir.csv"), cwd=tmp_path)
    assert run.returncode == 1 and "cannot write the candidates" in run.stderr and "Traceback" not in run.stderr


def _trickling_server():
    """Answers HTTP 200 and then one byte a second, for ever: every socket read succeeds."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)

    def serve():
        conn, _ = sock.accept()
        _HELD.append(conn)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 100000\r\n\r\n")
        try:
            while True:
                conn.sendall(b" ")
                time.sleep(1)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    return sock


def test_link_timeout_is_a_deadline_for_the_whole_answer(tmp_path):
    sock = _trickling_server()
    started = time.monotonic()
    try:
        run = run_cli("--dist", str(tmp_path / "dist"), "link", "--endpoint", f"http://127.0.0.1:{sock.getsockname()[1]}/sparql",
                      "--timeout", "2", cwd=tmp_path)
    finally:
        sock.close()
    assert run.returncode == 1 and "did not answer within 2 s" in run.stderr, run.stderr
    assert time.monotonic() - started < 60  # the build of an empty dist first, then 2 s, not for ever


def test_a_eurovoc_concept_pianold_does_not_list_is_taken_with_its_label(plan_copy, tmp_path):
    """The plan office adds a EuroVoc concept without editing pianold's own list (which an
    upgrade would replace): the row gives its label; without one, the row is refused."""
    import subprocess
    import sys

    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import DCTERMS, SKOS

    links = plan_copy / "bari-psm-2030" / "links.csv"
    original = links.read_text(encoding="utf-8")
    unknown = "http://eurovoc.europa.eu/999999"

    def build(row: str):
        links.write_text(original.rstrip("\n") + "\n" + row + "\n", encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--data", str(plan_copy),
                               "--base", BASE, "build"], capture_output=True, text=True, timeout=300)

    refused = build(f"5.1.1.a,dct:subject,{unknown},A reason.")
    assert refused.returncode != 0 and "end the first line with ',label'" in refused.stderr and "links.csv:" in refused.stderr
    original = original.replace("code,property,target,rationale\n", "code,property,target,rationale,label\n", 1)
    taken = build(f'5.1.1.a,dct:subject,{unknown},A reason.,"concetto di prova"')
    assert taken.returncode == 0, taken.stderr
    plan = Graph().parse((tmp_path / "dist" / "current" / "plans" / "bari-psm-2030.ttl").as_posix(), format="turtle")
    assert plan.value(URIRef(unknown), SKOS.prefLabel) == Literal("concetto di prova", lang="it")
    catalog = Graph().parse((tmp_path / "dist" / "current" / "catalog.ttl").as_posix(), format="turtle")
    assert (URIRef(f"{BASE}/data/plan/bari-psm-2030"), DCTERMS.subject, URIRef(unknown)) in catalog
    assert catalog.value(URIRef(unknown), SKOS.prefLabel) == Literal("concetto di prova", lang="it")


def test_a_concept_labelled_differently_in_two_rows_is_refused(plan_copy, tmp_path):
    """A label is published as the target's Italian skos:prefLabel, of which SKOS allows one: two
    rows giving an unlisted EuroVoc concept two labels ('edilizia sociale', 'Edilizia sociale')
    published both in the plan and the catalogue."""
    import subprocess
    import sys

    links = plan_copy / "bari-psm-2030" / "links.csv"
    original = links.read_text(encoding="utf-8").replace("code,property,target,rationale\n",
                                                         "code,property,target,rationale,label\n", 1).rstrip("\n")
    unknown = "http://eurovoc.europa.eu/999999"

    def build(*rows: str):
        links.write_text(original + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--data", str(plan_copy),
                               "--base", BASE, "build"], capture_output=True, text=True, timeout=300)

    refused = build(f'5.1.1,dct:subject,{unknown},A reason.,"edilizia sociale"',
                    f'5.1.1.a,dct:subject,{unknown},A reason.,"Edilizia sociale"')
    assert refused.returncode != 0 and "give it the same label in every row" in refused.stderr, refused.stderr
    assert "links.csv:" in refused.stderr and "'edilizia sociale'" in refused.stderr
    taken = build(f'5.1.1,dct:subject,{unknown},A reason.,"edilizia sociale"',
                  f'5.1.1.a,dct:subject,{unknown},A reason.,"edilizia sociale"')
    assert taken.returncode == 0, taken.stderr


@pytest.mark.parametrize("label, refused", [("politica della casa", False), ("", False), ("Politiche abitative", True)])
def test_a_label_for_a_concept_pianold_lists_must_be_the_one_it_publishes(tmp_path, label, refused):
    """pianold publishes its own Italian label for a EuroVoc concept it lists (politica della casa
    for 2496): a different label in links.csv would be dropped without a word, so the row is
    refused at its label cell, saying what to do; the listed label itself, or none, is taken."""
    from pianold.ingest.errors import SourceError
    from pianold.ingest.links_csv import read_links

    path = tmp_path / "links.csv"
    path.write_text("code,property,target,rationale,label\n"
                    f'5.1.1,dct:subject,http://eurovoc.europa.eu/2496,About housing policy.,"{label}"\n', encoding="utf-8")
    if not refused:
        assert [link.label or "" for link in read_links(path, {"5.1.1"})] == [label]
        return
    with pytest.raises(SourceError) as err:
        read_links(path, {"5.1.1"})
    message = str(err.value)
    assert "links.csv:2" in message and "'politica della casa'" in message and "leave the label empty" in message, message


def test_a_label_for_an_element_of_a_plan_built_together_must_be_its_title(tmp_path):
    """An element of another plan built alongside is published by its own plan with its title as
    skos:prefLabel in Italian: a different label in links.csv was published too, so the dump of
    everything gave it two (`pianold validate all.nq` then failed PlanElement-prefLabel). Such a
    label is refused at its row, naming the title; the title itself, or none, is taken."""
    from pianold.ingest import SourceError, load_plan
    from pianold.uris import Uris

    bari = copy_bari(tmp_path)
    other = tmp_path / "data" / "test-tre-livelli"
    shutil.copytree(FIXTURE, other)
    target = f"{BASE}/data/plan/test-tre-livelli/action/2.1.1"
    title = next(e.title for e in load_plan(other).elements if e.code == "2.1.1")
    links = bari / "links.csv"
    original = links.read_text(encoding="utf-8")
    lines = original.splitlines()
    rows = [lines[0] + ",label"] + [line + "," for line in lines[1:]]
    for label, refused in [("", False), (title, False), ("Un'altra azione", True)]:
        links.write_text("\n".join(rows + [f'5.1.1.a,skos:closeMatch,{target},test,"{label}"']) + "\n", encoding="utf-8")
        if not refused:
            check_links([load_plan(bari), load_plan(other)], Uris(BASE))
            continue
        with pytest.raises(SourceError) as caught:
            check_links([load_plan(bari), load_plan(other)], Uris(BASE))
        found = [str(p) for p in caught.value.problems]
        assert len(found) == 1 and found[0].startswith(f"{links}:{len(rows) + 1}:"), found
        assert f"published with its title {title!r}" in found[0] and "leave the label empty" in found[0], found
