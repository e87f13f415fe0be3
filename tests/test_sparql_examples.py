"""The query page's example gallery against real servers: every example, as the page offers it,
runs and answers on the Bari data, and each row names the plan it is about, so a second plan on the
same server adds rows of its own and changes none about Bari (an example grouping by axis code and
title summed two plans' actions); on another city's plan alone the examples answer too."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import urllib.parse

import pytest
from rdflib import Graph

from conftest import BASE, DATA, ROOT
from live import http, start_server
from plan_sources import second_plan
from pianold.web.sparql_examples import EXAMPLES

PLAN_IRI = re.compile(re.escape(BASE) + r"/data/plan/([^/]+)")
SELECTS = [i for i, e in enumerate(EXAMPLES) if "CONSTRUCT" not in e["query"]]
GRAPH = next(i for i, e in enumerate(EXAMPLES) if "CONSTRUCT" in e["query"])
_EXAMPLE_LINK = re.compile(r'<li><a href="/sparql\?([^"]+)">([^<]+)</a>')
MATCHES = "Matches across plans"  # Bari links to no other plan: this one answers only where a plan does


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory):
    """Bari and a copy of it (`copia-psm`, same codes and titles) on one server; the copy's
    action 5.1.1.a is a close match of Bari's."""
    folder = tmp_path_factory.mktemp("examples")
    data = folder / "data"
    shutil.copytree(DATA, data)
    copy = second_plan(data)
    (copy / "links.csv").write_text(
        "code,property,target,rationale\n"
        f"5.1.1.a,skos:closeMatch,{BASE}/data/plan/bari-psm-2030/action/5.1.1.a,Stessa azione\n", encoding="utf-8")
    server = start_server(folder / "dist", data, BASE, folder / "server.log")
    yield server
    server.stop()
    assert "Traceback" not in (folder / "server.log").read_text(errors="replace")


def served_examples(server) -> list[dict]:
    """The gallery as the query page offers it: (title, query) of each example's link."""
    status, _, body = http(server.url + "/sparql", headers={"Accept": "text/html"})
    assert status == 200
    found = [{"title": html.unescape(title), "query": urllib.parse.parse_qs(html.unescape(link))["query"][0]}
             for link, title in _EXAMPLE_LINK.findall(body.decode())]
    assert len(found) == len(EXAMPLES)
    return found


def rows(server, query: str) -> list[tuple[str, ...]]:
    status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
    assert status == 200, body
    return [tuple(r) for r in list(csv.reader(io.StringIO(body.decode())))[1:]]


def plan_of(row: tuple[str, ...]) -> str | None:
    """The plan a row is about: the one of its first cell that is a plan or an element of one."""
    for cell in row:
        found = PLAN_IRI.match(cell)
        if found:
            return found.group(1)
    return None


@pytest.mark.parametrize("index", SELECTS, ids=[EXAMPLES[i]["title_en"] for i in SELECTS])
def test_each_example_answers_about_each_plan_apart(live_server, two_plans, index):
    example = served_examples(live_server)[index]
    alone = rows(live_server, example["query"])
    assert alone or EXAMPLES[index]["title_en"] == MATCHES, "no row on the Bari data"
    assert [r for r in alone if plan_of(r) != "bari-psm-2030"] == [], "rows that do not say which plan they are about"
    assert served_examples(two_plans)[index] == example  # Bari is the first plan: its elements are the ones named
    both = rows(two_plans, example["query"])
    assert sorted(r for r in both if plan_of(r) == "bari-psm-2030") == sorted(alone)  # the copy changes nothing about Bari
    assert any(plan_of(r) == "copia-psm" for r in both)  # and answers for itself
    assert all(plan_of(r) in ("bari-psm-2030", "copia-psm") for r in both)


def describes(server, query: str) -> set[str]:
    status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/turtle"})
    assert status == 200
    return {str(s) for s in Graph().parse(data=body.decode(), format="turtle").subjects()}


def test_the_graph_example_describes_an_action(live_server):
    example = served_examples(live_server)[GRAPH]
    assert describes(live_server, example["query"]) == {f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.b"}
    assert "asse 5" in served_examples(live_server)[3]["title"]


def test_the_examples_name_elements_of_another_city_s_plan(tmp_path):
    """A deployment publishing another plan alone (three levels, Asse > Strategia > Azione, with
    codes such as 1.1.1) is offered examples about its own elements, and each answers there."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "three-level-plan", data / "test-tre-livelli")
    server = start_server(tmp_path / "dist", data, BASE, tmp_path / "server.log")
    try:
        examples = served_examples(server)
        for index in SELECTS:
            found = rows(server, examples[index]["query"])
            assert found or EXAMPLES[index]["title_en"] == MATCHES, examples[index]["title"]
            assert {plan_of(r) for r in found} <= {"test-tre-livelli"}
        assert describes(server, examples[GRAPH]["query"]) == {f"{BASE}/data/plan/test-tre-livelli/action/1.1.2"}
        assert examples[3]["title"] == "I due livelli sotto l'asse 1"
    finally:
        server.stop()



def test_the_examples_name_an_action_of_a_plan_whose_top_level_is_no_axis(tmp_path):
    """A plan's levels need no class (plan.toml's `class` is optional): one whose actions sit under
    no psm:Axis was offered Bari's codes, and the examples about one action answered nothing there."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "three-level-plan", data / "test-tre-livelli")
    toml = data / "test-tre-livelli" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('class = "Axis"\n', "", 1), encoding="utf-8")
    server = start_server(tmp_path / "dist", data, BASE, tmp_path / "server.log")
    try:
        examples = served_examples(server)
        path = next(e for e, own in zip(examples, EXAMPLES) if own["title_en"] == "Full path of an action")
        assert rows(server, path["query"]), path["query"]
        assert describes(server, examples[GRAPH]["query"]) == {f"{BASE}/data/plan/test-tre-livelli/action/1.1.2"}
    finally:
        server.stop()
