"""dct:modified of a plan's dataset, and its pages' sitemap lastmod, move only when the plan does;
the catalogue keeps the day it was first issued."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, XSD

from conftest import BASE
from live import http, start_server


def _build(data, dist):
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(data), "--base", BASE, "build"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_a_plan_is_modified_when_its_data_changes_not_when_another_plan_does(plan_copy, tmp_path):
    second = plan_copy / "copia-psm"
    shutil.copytree(plan_copy / "bari-psm-2030", second)
    toml = second / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('id = "bari-psm-2030"', 'id = "copia-psm"'), encoding="utf-8")
    (second / "links.csv").unlink()
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
