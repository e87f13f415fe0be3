"""pianold build: what it writes, that it is deterministic, and that failures publish nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pyoxigraph
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from pianold.config import load_settings
from pianold.ingest import SourceError
from pianold.publish import build, current_version

from conftest import BASE, DATA

PLAN = f"{BASE}/data/plan/bari-psm-2030"


def settings_for(data, dist, **kw):
    return load_settings(env={}, data_dir=data, dist_dir=dist, base=kw.pop("base", BASE), **kw)


def test_version_files_match_manifest(built_dist):
    version = current_version(built_dist.dist_dir)
    files = version.manifest["files"]
    for name in ("all.nq", "context.jsonld", "plans/bari-psm-2030.ttl", "plans/bari-psm-2030.nt",
                 "plans/bari-psm-2030.jsonld", "plans/bari-psm-2030.rdf", "ontology/psm.ttl"):
        data = (version.path / name).read_bytes()
        assert files[name]["bytes"] == len(data)
        assert files[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert version.manifest["base"] == BASE
    assert version.manifest["plans"][0]["iri"] == PLAN


def test_counts_in_store(built_dist):
    store = pyoxigraph.Store.read_only(str(current_version(built_dist.dist_dir).store_path))
    query = """PREFIX psm: <https://w3id.org/pianold/onto/psm/>
        SELECT ?class (COUNT(?e) AS ?n) WHERE { GRAPH <%s> { ?e a ?class } } GROUP BY ?class""" % PLAN
    counts = {s["class"].value.rsplit("/", 1)[-1]: int(s["n"].value) for s in store.query(query)}
    assert counts["Axis"] == 11
    assert counts["Objective"] == 3
    assert counts["SpecificObjective"] == 5
    assert counts["Action"] == 10
    assert counts["PlanElement"] == 29


def test_ntriples_sorted_and_formats_agree(built_dist):
    version = current_version(built_dist.dist_dir)
    nt = (version.path / "plans/bari-psm-2030.nt").read_text(encoding="utf-8").splitlines()
    assert nt == sorted(nt)
    reference = Graph().parse(version.path / "plans/bari-psm-2030.nt", format="nt")
    for ext, fmt in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        other = Graph().parse(version.path / f"plans/bari-psm-2030.{ext}", format=fmt)
        assert isomorphic(reference, other), ext


def test_jsonld_context_is_inline_and_published(built_dist):
    version = current_version(built_dist.dist_dir)
    doc = json.loads((version.path / "plans/bari-psm-2030.jsonld").read_text(encoding="utf-8"))
    published = json.loads((version.path / "context.jsonld").read_text(encoding="utf-8"))
    assert isinstance(doc["@context"], dict)
    assert doc["@context"] == published["@context"]
    assert doc["@context"]["psm"] == "https://w3id.org/pianold/onto/psm/"


def test_text_exactly_as_published(built_dist):
    version = current_version(built_dist.dist_dir)
    ttl = (version.path / "plans/bari-psm-2030.ttl").read_text(encoding="utf-8")
    assert '"Rafforzamento dell’Agenzia Metropolitana per la casa"@it' in ttl
    assert '"Tutti, nessuno escluso"@it' in ttl
    assert "Contrastare le povertà abitative e favorire l’housing sociale" in ttl


def test_rebuild_is_byte_identical(tmp_path):
    first = build(settings_for(DATA, tmp_path / "a"))
    second = build(settings_for(DATA, tmp_path / "b"))
    assert first.id == second.id
    for name in first.manifest["files"]:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    again = build(settings_for(DATA, tmp_path / "a"))
    assert again.id == first.id
    assert again.manifest["built"] == first.manifest["built"]  # nothing rewritten


def test_rebuild_is_byte_identical_whatever_the_hash_seed(tmp_path):
    """Python's hash seed changes from run to run; no published file may depend on it."""
    versions = []
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-m", "pianold", "--base", BASE, "--dist", str(tmp_path / seed), "build"],
                       check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=300)
        versions.append(current_version(tmp_path / seed))
    first, second = versions
    assert first.id == second.id
    for name in first.manifest["files"]:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name


@pytest.mark.parametrize("old, new, shown", [
    ("keywords = [", 'keywords = ["nuova parola chiave", ', "nuova parola chiave"),
    ('email = "', 'email = "ufficio.piano.', "mailto:ufficio.piano.protocollo"),
    ("keywords = [", 'frequency = "ANNUAL"\nkeywords = [', "frequency/ANNUAL"),
], ids=["keyword", "contact", "frequency"])
def test_a_change_only_the_catalogue_shows_publishes_a_new_version(tmp_path, plan_copy, old, new, shown):
    settings = settings_for(plan_copy, tmp_path / "d")
    first = build(settings)
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    again = build(settings)
    assert again.id != first.id and current_version(tmp_path / "d").id == again.id
    assert shown not in (first.path / "catalog.nt").read_text(encoding="utf-8")
    assert shown in (again.path / "catalog.nt").read_text(encoding="utf-8")


def test_base_changes_the_version(tmp_path):
    a = build(settings_for(DATA, tmp_path / "d"))
    b = build(settings_for(DATA, tmp_path / "d", base="http://127.0.0.1:9/x"))
    assert a.id != b.id
    assert "<http://127.0.0.1:9/x/data/plan/bari-psm-2030>" in (b.path / "plans/bari-psm-2030.nt").read_text()
    assert current_version(tmp_path / "d").id == b.id


def test_a_new_store_layout_publishes_a_new_version(tmp_path, monkeypatch):
    """A store written otherwise (here: one whose default graph is not the merge yet) is not
    reused by the next build, or the server would find its default graph empty."""
    import pianold.publish as publish
    from pianold.publish import is_current

    monkeypatch.setattr(publish, "merge_named_graphs", lambda store: None)
    monkeypatch.setattr(publish, "STORE_LAYOUT", "named graphs only")
    old = build(settings_for(DATA, tmp_path / "d"))
    monkeypatch.undo()
    settings = settings_for(DATA, tmp_path / "d")
    assert not is_current(settings)
    new = build(settings)
    assert new.id != old.id and is_current(settings)
    store = pyoxigraph.Store.read_only(str(new.store_path))
    assert bool(store.query(f"ASK {{ <{PLAN}> ?p ?o }}"))  # the default graph, without asking for the union


def test_pianold_s_own_files_changed_publish_a_new_version(tmp_path, monkeypatch):
    """A checkout updated without a new release number (an editable install follows the working
    tree) may build and render otherwise: the next build is not skipped nor reused, so answers get
    new validators instead of a 304 that keeps what the old code made."""
    import pianold.publish as publish
    from pianold.publish import is_current

    old = build(settings_for(DATA, tmp_path / "d"))
    assert old.manifest["pianold_files"] == publish.own_files_digest()
    monkeypatch.setattr(publish, "own_files_digest", lambda: "0" * 64)
    settings = settings_for(DATA, tmp_path / "d")
    assert not is_current(settings)
    new = build(settings)
    assert new.id != old.id and is_current(settings) and new.manifest["pianold_files"] == "0" * 64


def test_the_digest_of_pianold_s_files_reads_names_and_contents(tmp_path):
    from pianold.resources import files_digest, own_files_digest

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.html").write_text("<p>")
    files = {"pianold/a.py": tmp_path / "a.py", "pianold/templates/b.html": tmp_path / "b.html"}
    first = files_digest(files)
    assert files_digest(dict(reversed(files.items()))) == first  # the order found on disk does not matter
    (tmp_path / "b.html").write_text("<p>.")
    assert files_digest(files) != first
    assert files_digest({"pianold/c.py": tmp_path / "a.py", "pianold/templates/b.html": tmp_path / "b.html"}) != files_digest(files)
    assert len(own_files_digest()) == 64


def test_the_digest_of_pianold_s_files_covers_the_licence_names_the_catalogue_takes(tmp_path, monkeypatch):
    """The catalogue names each licence from the national vocabulary vendored under conformance/
    (catalog._italian_licences): an updated copy changes what a build publishes, so it must change
    the digest as the ontology or the shapes do."""
    import shutil

    from pianold import resources

    root = tmp_path / "root"
    for name in ("ontology", "shapes", "vocabularies", "conformance"):
        shutil.copytree(resources.resource_dir(name), root / name)
    monkeypatch.setattr(resources, "_CANDIDATES", (root,))
    resources.own_files_digest.cache_clear()
    try:
        before = resources.own_files_digest()
        licences = root / "conformance" / "dcat-ap-it-rules" / "Licenze.ttl"
        licences.write_bytes(licences.read_bytes().replace(b"Creative Commons", b"Creative  Commons", 1))
        resources.own_files_digest.cache_clear()
        assert resources.own_files_digest() != before
    finally:
        resources.own_files_digest.cache_clear()


def test_sources_edited_without_changing_the_data_keep_the_version_and_are_current(tmp_path, plan_copy):
    from pianold.publish import is_current

    settings = settings_for(plan_copy, tmp_path / "d")
    first = build(settings)
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# a comment changes no triple\n", encoding="utf-8")
    assert not is_current(settings)
    again = build(settings)
    assert again.id == first.id and is_current(settings)


def _snapshot(dist):
    return {str(p.relative_to(dist)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(dist.rglob("*")) if not p.name == ".lock"}


def test_failed_build_leaves_dist_untouched(tmp_path, plan_copy):
    dist = tmp_path / "dist"
    good = build(settings_for(plan_copy, dist))
    before = _snapshot(dist)
    page = plan_copy / "bari-psm-2030/sources/asse-5-page.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("5.1.1.b", "5.1.1.a"), encoding="utf-8")
    with pytest.raises(SourceError, match="duplicate"):
        build(settings_for(plan_copy, dist))
    assert _snapshot(dist) == before
    assert current_version(dist).id == good.id


def test_interrupted_build_leaves_previous_version(tmp_path, plan_copy, monkeypatch):
    dist = tmp_path / "dist"
    good = build(settings_for(plan_copy, dist))
    toml = plan_copy / "bari-psm-2030/plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("Mare", "Mare nostro"), encoding="utf-8")

    import pianold.publish as publish

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed half-way")

    monkeypatch.setattr(publish.pyoxigraph, "Store", crash)  # dumps written, store not
    with pytest.raises(KeyboardInterrupt):
        build(settings_for(plan_copy, dist))
    assert current_version(dist).id == good.id
    assert [p.name for p in (dist / "versions").iterdir()] == [good.id]  # no leftovers
    monkeypatch.undo()
    new = build(settings_for(plan_copy, dist))
    assert new.id != good.id and "Mare nostro" in (new.path / "plans/bari-psm-2030.ttl").read_text()


def test_old_versions_pruned(tmp_path):
    dist = tmp_path / "dist"
    ids = []
    for i in range(4):
        ids.append(build(settings_for(DATA, dist, base=f"http://127.0.0.1:9/v{i}", keep_versions=2)).id)
    assert sorted(p.name for p in (dist / "versions").iterdir()) == sorted(ids[-2:])
    assert os.readlink(dist / "current") == f"versions/{ids[-1]}"


def test_plan_of_another_shape_needs_no_new_classes(tmp_path):
    """Asse > Strategia > Azione: levels are declared per plan (psm:Level), classes stay generic."""
    import shutil

    from conftest import ROOT

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    shutil.copytree(ROOT / "tests/fixtures/three-level-plan", data / "three-level-plan")
    version = build(settings_for(data, tmp_path / "dist", catalog_publisher="cmba"))
    assert [p["id"] for p in version.manifest["plans"]] == ["bari-psm-2030", "test-tre-livelli"]
    store = pyoxigraph.Store.read_only(str(version.store_path))
    plan = f"{BASE}/data/plan/test-tre-livelli"
    rows = list(store.query(f"""
        PREFIX psm: <https://w3id.org/pianold/onto/psm/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?code ?levelName ?depth ?parentCode WHERE {{ GRAPH <{plan}> {{
            ?e skos:notation ?code ; psm:level ?l .
            ?l skos:prefLabel ?levelName ; psm:depth ?depth . FILTER(lang(?levelName) = "it")
            OPTIONAL {{ ?e skos:broader/skos:notation ?parentCode }}
        }} }} ORDER BY ?code"""))
    got = [(r["code"].value, r["levelName"].value, int(r["depth"].value), r["parentCode"].value if r["parentCode"] else None) for r in rows]
    assert got == [
        ("1", "Asse", 1, None), ("1.1", "Strategia", 2, "1"), ("1.1.1", "Azione", 3, "1.1"),
        ("1.1.2", "Azione", 3, "1.1"), ("1.2", "Strategia", 2, "1"), ("1.2.1", "Azione", 3, "1.2"),
        ("2", "Asse", 1, None), ("2.1", "Strategia", 2, "2"), ("2.1.1", "Azione", 3, "2.1"), ("2.1.2", "Azione", 3, "2.1"),
        ("2.2", "Strategia", 2, "2"), ("2.2.1", "Azione", 3, "2.2"),
    ]
    strategy = f"{plan}/strategy/1.1"
    types = {t["t"].value for t in store.query(f"SELECT ?t WHERE {{ <{strategy}> a ?t }}", use_default_graph_as_union=True)}
    assert types == {"https://w3id.org/pianold/onto/psm/PlanElement", "http://www.w3.org/2004/02/skos/core#Concept"}
    link = list(store.query(f"SELECT ?p WHERE {{ <{plan}/action/1.1.2> <http://xmlns.com/foaf/0.1/page> ?p }}", use_default_graph_as_union=True))
    assert link[0]["p"].value == "https://example.org/orti"


def test_a_second_plan_copied_from_the_first_names_the_id_to_change(plan_copy, tmp_path):
    """Starting a second plan by copying the first folder keeps its id: the message names the
    copy's plan.toml and its id line, and a problem in another plan is reported in the same run."""
    import shutil

    from pianold.config import load_settings
    from pianold.ingest import SourceError
    from pianold.publish import build

    copy = plan_copy / "zz-copia"
    shutil.copytree(plan_copy / "bari-psm-2030", copy)
    other = plan_copy / "aa-altro"
    shutil.copytree(plan_copy / "bari-psm-2030", other)
    toml = other / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('id = "bari-psm-2030"', 'id = "altro"').replace('ipa = "cmba"\n', ""), encoding="utf-8")
    settings = load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist")
    with pytest.raises(SourceError) as caught:
        build(settings)
    found = [str(p) for p in caught.value.problems]
    line = next(n for n, t in enumerate((copy / "plan.toml").read_text(encoding="utf-8").split("\n"), 1) if t.startswith("id ="))
    assert any(f.startswith(f"{copy / 'plan.toml'}:{line}:1: plan id 'bari-psm-2030' is already the id of") for f in found), found
    assert any("missing required key 'publisher.ipa'" in f and str(other) in f for f in found), found
    assert not (tmp_path / "dist" / "current").exists()


def test_a_plan_of_another_publisher_under_another_licence_gets_both_decisions_asked_at_once(plan_copy, tmp_path):
    """Neither catalog_publisher nor combined_license set: the build named the licences and stopped,
    and only the next build, once they were mended, asked for the catalogue's publisher."""
    from plan_sources import edit, second_plan

    copy = second_plan(plan_copy, "torino-psm")
    edit(copy, "plan.toml", 'ipa = "cmba"', 'ipa = "cmto"')
    edit(copy, "plan.toml", "licences/A21_CCBY40", "licences/A11_CCO10")
    with pytest.raises(SourceError) as caught:
        build(settings_for(plan_copy, tmp_path / "dist"))
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 2, found
    assert found[0].startswith(f"{copy / 'plan.toml'}:") and "set combined_license" in found[0], found
    assert found[1].startswith(f"{plan_copy}:") and "set catalog_publisher" in found[1], found
    assert not (tmp_path / "dist" / "current").exists()


def test_the_manifest_names_the_data_folder_a_version_was_built_from(tmp_path, plan_copy):
    """serve tells a version copied from elsewhere from one of its own sources by the data folder its
    manifest records: the folder by its path or by where a link to it leads is the same one, and
    the same sources built from another folder keep the version and record that folder."""
    import shutil

    from pianold.publish import built_elsewhere

    (tmp_path / "release").symlink_to(plan_copy)
    version = build(settings_for(tmp_path / "release", tmp_path / "dist"))
    assert version.manifest["data_dir"] == str(tmp_path / "release")
    assert built_elsewhere(settings_for(tmp_path / "release", tmp_path / "dist"), version) is None
    assert built_elsewhere(settings_for(plan_copy, tmp_path / "dist"), version) is None
    assert built_elsewhere(settings_for(DATA, tmp_path / "dist"), version) == str(tmp_path / "release")
    shutil.copytree(plan_copy, tmp_path / "moved")
    again = build(settings_for(tmp_path / "moved", tmp_path / "dist"))
    assert again.id == version.id and again.manifest["data_dir"] == str(tmp_path / "moved")
    assert built_elsewhere(settings_for(plan_copy, tmp_path / "dist"), again) == str(tmp_path / "moved")


def test_a_link_that_cannot_be_switched_leaves_no_stray_link_behind(tmp_path):
    """`cp -rL dist` makes dist/pushed a folder too: marking a version pushed cannot replace it, and
    the link made to replace it was left behind as .pushed-PID. A push now refuses before it starts
    (NotSwitchable); a switch that fails all the same leaves nothing behind."""
    from pianold.publish import NotSwitchable, _switch, pushing

    dist = tmp_path / "dist"
    version = build(settings_for(DATA, dist))
    (dist / "pushed").mkdir()
    (dist / "pushed" / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(NotSwitchable, match="nothing was pushed"):
        with pushing(dist):
            pass
    with pytest.raises(IsADirectoryError):
        _switch(dist, "pushed", version.id)
    assert sorted(p.name for p in dist.iterdir()) == [".lock", "current", "pushed", "versions"]
