"""The readers on the real Bari sources: what they read, exactly as published."""

from __future__ import annotations

import csv
import shutil

from pianold.ingest import load_plan, read_page_text, read_plan_toml, read_wdt_csv

from conftest import BARI, BASE, ROOT

ACTIONS = ["5.1.1.a", "5.1.1.b", "5.1.2.a", "5.1.2.b", "5.2.1.a", "5.2.1.b", "5.2.2.a", "5.2.2.b", "5.3.1.a", "5.3.1.b"]


def by_level(plan, key):
    return [e for e in plan.elements if e.level.key == key]


def test_bari_hierarchy():
    plan = load_plan(BARI)
    assert [e.code for e in by_level(plan, "axis")] == [str(i) for i in range(1, 12)]
    assert [e.code for e in by_level(plan, "objective")] == ["5.1", "5.2", "5.3"]
    assert [e.code for e in by_level(plan, "specific-objective")] == ["5.1.1", "5.1.2", "5.2.1", "5.2.2", "5.3.1"]
    assert [e.code for e in by_level(plan, "action")] == ACTIONS
    parents = {e.code: e.parent for e in plan.elements}
    assert parents["5.1.1.a"] == "5.1.1" and parents["5.1.1"] == "5.1" and parents["5.1"] == "5" and parents["5"] is None
    assert parents["5.3.1.b"] == "5.3.1"


def test_bari_text_exactly_as_published():
    plan = load_plan(BARI)
    axis5 = plan.element("5")
    assert axis5.title == "Housing first, inclusione attiva e innovazione sociale"
    assert axis5.motto == "Tutti, nessuno escluso"
    assert axis5.description.startswith("L’area Metropolitana deve rappresentare uno spazio accogliente per tutti.")
    assert "una politica ‘housing first’ che integri il diritto all’abitare" in axis5.description
    assert plan.element("5.1").title == "Contrastare le povertà abitative e favorire l’housing sociale"
    assert plan.element("5.2.2.a").title == ("Istituzione dell’Agenzia Metropolitana dell’Antimafia Sociale e di "
                                             "promozione della cultura e della pratica della legalità")
    assert plan.title == "Piano Strategico Metropolitano – PSM BARI 20>30"
    assert plan.publisher.ipa == "cmba" and plan.province == "072" and plan.end.year == 2030


def test_plan_toml_axes_agree_with_the_home_page_list():
    spec = read_plan_toml(BARI / "plan.toml")
    with open(BARI / "sources/bari-psm-assi.csv", encoding="utf-8", newline="") as fh:
        listed = [(r["asse"], r["titolo"], r["motto"], r["pagina"]) for r in csv.DictReader(fh)]
    assert [(a.code, a.title.text, a.motto.text, a.page) for a in spec.axes] == listed


def test_csv_export_reads_like_the_page():
    spec = read_plan_toml(BARI / "plan.toml")
    page = read_page_text(BARI / "sources/asse-5-page.txt", spec.levels, "5")
    export = read_wdt_csv(ROOT / "tests/fixtures/asse-5-wdt.csv", spec.levels, "5")
    assert [[c.text for c in r.cells] for r in page.rows] == [[c.text for c in r.cells] for r in export.rows]
    assert [r.row_id for r in export.rows] == [str(i) for i in range(1, 11)]


def test_plan_built_from_csv_equals_plan_from_page(tmp_path):
    folder = tmp_path / "bari"
    shutil.copytree(BARI, folder)
    shutil.copy(ROOT / "tests/fixtures/asse-5-wdt.csv", folder / "sources/asse-5.csv")
    toml = folder / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'file = "sources/asse-5-page.txt"\nformat = "page-text"', 'file = "sources/asse-5.csv"\nformat = "wdt-csv"'), encoding="utf-8")
    from_page, from_csv = load_plan(BARI), load_plan(folder)
    key = lambda p: [(e.code, e.title, e.parent, e.level.key) for e in p.elements]  # noqa: E731
    assert key(from_page) == key(from_csv)
    # the CSV carries no axis description: that comes only with the page
    assert from_csv.element("5").description is None


def test_adoption_body_is_published_and_conforms():
    from rdflib import Literal, URIRef
    from rdflib.namespace import FOAF, RDF

    from pianold.model import plan_graph
    from pianold.uris import Uris
    from pianold.validate import validate
    from pianold.vocab import ELI, PSM

    PLAN = f"{BASE}/data/plan/bari-psm-2030"
    plan = load_plan(BARI)
    g = plan_graph(plan, Uris(BASE))
    act = g.value(URIRef(PLAN), PSM.adoptionAct)
    assert act is not None and (act, RDF.type, ELI.LegalResource) in g
    body = g.value(act, ELI.passed_by)
    assert g.value(body, FOAF.name) == Literal("Consiglio metropolitano", lang="it")
    assert validate(g).conforms
    spec = read_plan_toml(BARI / "plan.toml")
    spec.adoption_body = None  # without a body, no act is invented
    assert g.value(URIRef(PLAN), PSM.adoptionAct) is not None
    assert plan_graph(type(plan)(**spec.meta(), elements=plan.elements), Uris(BASE)).value(URIRef(PLAN), PSM.adoptionAct) is None


def test_model_doc_shows_the_identifier_the_model_writes():
    from pianold.model import dataset_identifier

    doc = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert f'dct:identifier "{dataset_identifier(load_plan(BARI))}"' in doc
