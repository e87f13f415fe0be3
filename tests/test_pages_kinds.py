"""Every page says in words what its resource is (no raw CURIE such as `dcatapit:Agent`)."""

from __future__ import annotations

import re
import urllib.parse

from live import http


def test_every_page_names_its_kind_in_words(live_server):
    status, _, body = http(live_server.url + "/sitemap.xml")
    assert status == 200
    paths = [urllib.parse.urlsplit(u).path for u in re.findall(r"<loc>([^<]+)</loc>", body.decode())]
    paths += ["/catalog/service/sparql.html", "/catalog/distribution/bari-psm-2030-sparql.html",  # not in the sitemap
              "/catalog/contact/cmba.html", "/catalog/distribution/all-ttl/checksum.html"]
    kinds = {}
    for path in paths:
        status, _, page = http(live_server.url + path, headers={"Accept": "text/html"})
        assert status == 200, path
        found = re.search(r'<p class="kind">([^<]*)', page.decode())
        if found:
            kinds[path] = found.group(1).strip()
    assert len(kinds) > 40
    raw = {path: kind for path, kind in kinds.items() if not kind or re.search(r"\b[a-z]+:[A-Za-z]", kind)}
    assert raw == {}
    assert kinds["/data/public-organization/cmba.html"] == "organizzazione pubblica"
    assert kinds["/catalog.html"] == "catalogo"
    assert kinds["/data/plan/bari-psm-2030/adoption.html"] == "atto giuridico"
    assert kinds["/catalog/service/sparql.html"] == "servizio di dati"
    assert kinds["/catalog/contact/cmba.html"] == "punto di contatto"
    assert kinds["/catalog/distribution/all-ttl/checksum.html"] == "somma di controllo"
