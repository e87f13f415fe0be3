"""dct:modified of a plan's dataset, and its pages' sitemap lastmod, move only when the plan does;
the catalogue keeps the day it was first issued."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import subprocess
import sys

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, XSD

from conftest import BASE
from live import http, start_server
from plan_sources import second_plan


def _build(data, dist):
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(data), "--base", BASE, "build"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_a_plan_is_modified_when_its_data_changes_not_when_another_plan_does(plan_copy, tmp_path):
    second = second_plan(plan_copy)
    dist = tmp_path / "dist"
    _build(plan_copy, dist)

    # history: the plans last changed, and the catalogue was first issued, on earlier days
    manifest_file = (dist / "current").resolve() / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    assert {p["id"]: p["modified"] for p in manifest["plans"]} == {"bari-psm-2030": manifest["built"][:10], "copia-psm": manifest["built"][:10]}
    manifest["issued"] = "2025-06-01"
    for plan in manifest["plans"]:
        plan["modified"] = "2026-01-02"
    manifest_file.write_text(json.dumps(manifest))

    page = second / "sources" / "asse-5-page.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("per la casa", "per l’abitare"), encoding="utf-8")
    _build(plan_copy, dist)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()

    catalog = Graph().parse((dist / "current" / "catalog.ttl").as_posix(), format="turtle")
    bari, copia = URIRef(f"{BASE}/data/plan/bari-psm-2030"), URIRef(f"{BASE}/data/plan/copia-psm")
    assert catalog.value(bari, DCTERMS.modified) == Literal("2026-01-02", datatype=XSD.date)
    assert catalog.value(bari, OWL.versionInfo) == Literal("bari-psm-2030@2026-01-02")
    assert catalog.value(copia, DCTERMS.modified) == Literal(today, datatype=XSD.date)
    assert {catalog.value(d, DCTERMS.modified) for d in catalog.objects(bari, DCAT.distribution)} == {Literal("2026-01-02", datatype=XSD.date)}
    root = catalog.value(None, DCAT.dataset, bari)
    assert catalog.value(root, DCTERMS.issued) == Literal("2025-06-01", datatype=XSD.date)
    assert catalog.value(root, DCTERMS.modified) == Literal(today, datatype=XSD.date)

    server = start_server(dist, plan_copy, BASE, tmp_path / "server.log")
    try:
        status, _, body = http(server.url + "/sitemap.xml")
        assert status == 200
        lastmod = dict(re.findall(r"<loc>http://[^/]+([^<]*)</loc><lastmod>([^<]+)</lastmod>", body.decode()))
    finally:
        server.stop()
    assert lastmod["/data/plan/bari-psm-2030/action/5.1.1.a.html"] == "2026-01-02"
    assert lastmod["/data/plan/copia-psm/action/5.1.1.a.html"] == today
    assert lastmod["/"] == today and lastmod["/onto/psm.html"] == today


def test_a_plan_reverted_to_an_earlier_version_is_modified_on_the_day_of_the_revert(plan_copy, tmp_path):
    """Sources put back as they were in a version still kept (keep_versions) made the build reuse
    that version's folder, catalogue and all: the plan's dct:modified (and its pages' lastmod) went
    back to that version's day, earlier than the change just undone, so a harvester taking the
    dates at their word kept the undone data."""
    dist = tmp_path / "dist"

    def age(plan_day):  # the current version, as if built on earlier days
        manifest_file = (dist / "current").resolve() / "manifest.json"
        manifest = json.loads(manifest_file.read_text())
        manifest["issued"] = "2025-06-01"
        for plan in manifest["plans"]:
            plan["modified"] = plan_day
        manifest_file.write_text(json.dumps(manifest))

    page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
    original = page.read_text(encoding="utf-8")
    _build(plan_copy, dist)
    first = (dist / "current").resolve().name
    age("2026-01-02")
    page.write_text(original.replace("per la casa", "per l’abitare"), encoding="utf-8")
    _build(plan_copy, dist)
    assert (dist / "current").resolve().name != first
    age("2026-02-03")  # the change, published on a later day
    page.write_text(original, encoding="utf-8")  # and undone today
    _build(plan_copy, dist)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    manifest = json.loads(((dist / "current").resolve() / "manifest.json").read_text())
    assert [p["modified"] for p in manifest["plans"]] == [today] and manifest["issued"] == "2025-06-01"
    catalog = Graph().parse((dist / "current" / "catalog.ttl").as_posix(), format="turtle")
    assert catalog.value(URIRef(f"{BASE}/data/plan/bari-psm-2030"), DCTERMS.modified) == Literal(today, datatype=XSD.date)

    _build(plan_copy, dist)  # an unchanged rebuild keeps the version as it is
    assert json.loads(((dist / "current").resolve() / "manifest.json").read_text()) == manifest


def test_a_dump_is_last_modified_when_its_content_changed_not_at_every_build(plan_copy, tmp_path):
    """Every dump was sent with its version's build time as Last-Modified: after a change to one
    plan, a harvester revalidating the unchanged ontology dumps with If-Modified-Since downloaded
    them all again, and their Last-Modified was later than the day the catalogue gives them."""
    dist = tmp_path / "dist"
    _build(plan_copy, dist)
    # the first version, as if built on an earlier day (a build records when each file was published)
    earlier, earlier_http = "2026-01-02T10:00:00+00:00", "Fri, 02 Jan 2026 10:00:00 GMT"
    manifest_file = (dist / "current").resolve() / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["built"] = earlier
    for info in manifest["files"].values():
        info["modified"] = earlier
    manifest_file.write_text(json.dumps(manifest))

    page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("per la casa", "per l’abitare"), encoding="utf-8")
    _build(plan_copy, dist)

    server = start_server(dist, plan_copy, BASE, tmp_path / "server.log")
    try:
        for name in ("ontology/psm.ttl", "ontology/psm.nt.gz", "context.jsonld"):  # the same bytes as before
            status, headers, _ = http(f"{server.url}/dumps/{name}")
            assert status == 200 and headers["Last-Modified"] == earlier_http, name
            status, head, _ = http(f"{server.url}/dumps/{name}", method="HEAD")
            assert status == 200 and head["Last-Modified"] == earlier_http, name
            status, _, body = http(f"{server.url}/dumps/{name}", headers={"If-Modified-Since": earlier_http})
            assert (status, body) == (304, b""), name
        for name in ("plans/bari-psm-2030.ttl", "all.nq", "catalog.ttl"):  # changed
            status, headers, _ = http(f"{server.url}/dumps/{name}")
            assert status == 200 and headers["Last-Modified"] != earlier_http, name
            status, _, body = http(f"{server.url}/dumps/{name}", headers={"If-Modified-Since": earlier_http})
            assert status == 200 and body, name
    finally:
        server.stop()


def test_sources_put_back_the_same_day_publish_a_version_later_than_the_one_they_undo(plan_copy, tmp_path):
    """Sources put back as they were in a version still kept made the build switch back to that
    version's folder, and with it to its build time: every Last-Modified went back to before the
    version it replaced, so a client revalidating with If-Modified-Since was told (304) that the
    undone data it held was still current."""
    dist = tmp_path / "dist"
    page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
    original = page.read_text(encoding="utf-8")
    _build(plan_copy, dist)
    first = (dist / "current").resolve()
    manifest = json.loads((first / "manifest.json").read_text())
    manifest["built"] = "2026-01-02T10:00:00+00:00"  # earlier the same day, as far as the catalogue's dates go
    (first / "manifest.json").write_text(json.dumps(manifest))
    page.write_text(original.replace("per la casa", "per l’abitare"), encoding="utf-8")
    _build(plan_copy, dist)
    changed = (dist / "current").resolve()
    changed_at = json.loads((changed / "manifest.json").read_text())["built"]
    page.write_text(original, encoding="utf-8")
    _build(plan_copy, dist)
    reverted = (dist / "current").resolve()
    assert reverted.name not in (first.name, changed.name)
    assert json.loads((reverted / "manifest.json").read_text())["built"] > changed_at

    since = email.utils.format_datetime(dt.datetime.fromisoformat(changed_at), usegmt=True)
    server = start_server(dist, plan_copy, BASE, tmp_path / "server.log")
    try:
        for path in ("/catalog.ttl", "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", "/dumps/plans/bari-psm-2030.ttl"):
            status, headers, body = http(server.url + path, headers={"If-Modified-Since": since})
            assert status == 200 and body, path
            assert email.utils.parsedate_to_datetime(headers["Last-Modified"]) > dt.datetime.fromisoformat(changed_at), path
        status, _, body = http(server.url + "/dumps/plans/bari-psm-2030.ttl")
        assert "per la casa" in body.decode("utf-8")
    finally:
        server.stop()

    _build(plan_copy, dist)  # and an unchanged rebuild keeps it
    assert (dist / "current").resolve() == reverted


def test_the_ontology_and_its_distributions_are_modified_when_the_ontology_is(built_dist):
    """The ontology's distributions were dated by the build: a build on any later day (a plan's
    change) dated its unchanged files after the ontology's own dct:modified, and a harvester
    reading the dates took them for new."""
    from pianold.catalog import catalog_graph
    from pianold.publish import build_dataset, current_version
    from pianold.vocab import ONTOLOGY_IRI

    built = build_dataset(built_dist)
    onto = URIRef(ONTOLOGY_IRI)
    own = built.ontology.value(onto, DCTERMS.modified)
    later = dt.datetime.combine(own.toPython() + dt.timedelta(days=400), dt.time(9), tzinfo=dt.timezone.utc)
    files = current_version(built_dist.dist_dir).manifest["files"]
    catalog = catalog_graph(built_dist.uris, built.plans, built.stats, built.ontology, files, later)
    assert catalog.value(onto, DCTERMS.modified) == own
    distributions = list(catalog.objects(onto, DCAT.distribution))
    assert len(distributions) == 6  # five files and the SPARQL endpoint
    assert {catalog.value(d, DCTERMS.modified) for d in distributions} == {own}
    everything = catalog.value(None, DCTERMS.hasPart, onto)  # "all", which contains the plans too, is the build's
    assert catalog.value(everything, DCTERMS.modified) == Literal(later.date().isoformat(), datatype=XSD.date)


def test_a_change_only_the_catalogue_shows_leaves_the_distributions_dates(plan_copy, tmp_path):
    """A new keyword changes the plan's record (its dct:modified moves) but none of its files: their
    distributions kept being dated by the plan, so a harvester went to fetch again files whose bytes,
    checksums and HTTP Last-Modified had not changed."""
    dist = tmp_path / "dist"
    _build(plan_copy, dist)
    manifest_file = (dist / "current").resolve() / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["built"] = "2026-01-02T10:00:00+00:00"  # as if built on an earlier day
    for plan in manifest["plans"]:
        plan["modified"] = "2026-01-02"
    for info in manifest["files"].values():
        info["modified"] = manifest["built"]
    manifest_file.write_text(json.dumps(manifest))
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("keywords = [", 'keywords = ["nuova parola chiave", ', 1), encoding="utf-8")
    _build(plan_copy, dist)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()

    catalog = Graph().parse((dist / "current" / "catalog.ttl").as_posix(), format="turtle")
    bari = URIRef(f"{BASE}/data/plan/bari-psm-2030")
    assert catalog.value(bari, DCTERMS.modified) == Literal(today, datatype=XSD.date)  # its record changed
    files = [d for d in catalog.objects(bari, DCAT.distribution) if catalog.value(d, DCAT.downloadURL) is not None]
    assert len(files) == 5
    assert {catalog.value(d, DCTERMS.modified) for d in files} == {Literal("2026-01-02", datatype=XSD.date)}
    everything = URIRef(f"{BASE}/catalog/dataset/all")
    assert {catalog.value(d, DCTERMS.modified) for d in catalog.objects(everything, DCAT.distribution)
            if catalog.value(d, DCAT.downloadURL) is not None} == {Literal("2026-01-02", datatype=XSD.date)}


def test_content_put_back_is_a_new_version_even_when_its_old_folder_lost_files(plan_copy, tmp_path):
    """The old folder, damaged since, was written again under its old id: a server that had served
    that id before could replay what it cached of it then, with the old Last-Modified."""
    dist = tmp_path / "dist"
    page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
    original = page.read_text(encoding="utf-8")
    _build(plan_copy, dist)
    first = (dist / "current").resolve()
    page.write_text(original.replace("per la casa", "per l’abitare"), encoding="utf-8")
    _build(plan_copy, dist)
    dump = first / "plans" / "bari-psm-2030.ttl"
    dump.write_bytes(dump.read_bytes()[:100])  # a file lost since
    page.write_text(original, encoding="utf-8")
    _build(plan_copy, dist)
    assert (dist / "current").resolve().name != first.name
