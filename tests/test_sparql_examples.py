"""The query page's example gallery against real servers: every example runs and answers on the
Bari data, and each row names the plan it is about, so a second plan on the same server adds rows
of its own and changes none about Bari (an example grouping by axis code and title summed two plans' actions)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import urllib.parse

import pytest
from rdflib import Graph

from conftest import BASE, DATA
from live import http, start_server
from plan_sources import second_plan
from pianold.web.sparql_examples import EXAMPLES

PLAN_IRI = re.compile(re.escape(BASE) + r"/data/plan/([^/]+)")
SELECTS = [e for e in EXAMPLES if "CONSTRUCT" not in e["query"]]
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


@pytest.mark.parametrize("example", SELECTS, ids=[e["title_en"] for e in SELECTS])
def test_each_example_answers_about_each_plan_apart(live_server, two_plans, example):
    alone = rows(live_server, example["query"])
    assert alone or example["title_en"] == MATCHES, "no row on the Bari data"
    assert [r for r in alone if plan_of(r) != "bari-psm-2030"] == [], "rows that do not say which plan they are about"
    both = rows(two_plans, example["query"])
    assert sorted(r for r in both if plan_of(r) == "bari-psm-2030") == sorted(alone)  # the copy changes nothing about Bari
    assert any(plan_of(r) == "copia-psm" for r in both)  # and answers for itself
    assert all(plan_of(r) in ("bari-psm-2030", "copia-psm") for r in both)


def test_the_graph_example_describes_an_action(live_server):
    (example,) = [e for e in EXAMPLES if "CONSTRUCT" in e["query"]]
    status, _, body = http(live_server.url + "/sparql?" + urllib.parse.urlencode({"query": example["query"]}),
                           headers={"Accept": "text/turtle"})
    assert status == 200
    graph = Graph().parse(data=body.decode(), format="turtle")
    assert {str(s) for s in graph.subjects()} == {f"{BASE}/data/plan/bari-psm-2030/action/5.2.2.a"}
