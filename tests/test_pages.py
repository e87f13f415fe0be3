"""HTML pages: Italian first, alternates and downloads, the plan tree, escaping of data text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from pianold.config import load_settings
from pianold.ingest import load_plan
from pianold.model import plan_graph
from pianold.publish import Built, publish
from pianold.resources import ontology_file
from pianold.vocab import ONTOLOGY_IRI
from pianold.web import create_app

from conftest import BASE, DATA

ACTION = f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.a"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def client(built_dist):
    return create_app(built_dist).test_client()


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    """A published version whose labels carry markup (as a graph from elsewhere could)."""
    settings = load_settings(env={}, data_dir=DATA, dist_dir=tmp_path_factory.mktemp("xss"), base=BASE)
    plan = load_plan(DATA / "bari-psm-2030")
    graph = plan_graph(plan, settings.uris)
    graph.set((URIRef(ACTION), SKOS.prefLabel, Literal(XSS, lang="it")))
    graph.set((URIRef(ACTION), SKOS.notation, Literal('5.1.1.a"><script>alert(2)</script>')))
    built = Built([plan], Graph(identifier=URIRef(ONTOLOGY_IRI)).parse(ontology_file(), format="turtle"))
    built.add(graph)
    publish(settings, built)
    return create_app(settings).test_client()


class Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_data(self, data):
        if self.in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self.in_script = False


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def test_data_text_is_escaped(hostile_client):
    for path in ("/data/plan/bari-psm-2030/action/5.1.1.a.html", "/data/plan/bari-psm-2030/specific-objective/5.1.1.html",
                 "/data/plan/bari-psm-2030.html"):
        html = hostile_client.get(path).get_data(as_text=True)
        page = outline(html)
        assert not [t for t, a in page.tags if t == "img"], path
        assert all(s.strip().startswith("{") for s in page.scripts), path  # only JSON-LD blocks
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert" in html or "\\u003cscript" in html, path


def test_page_structure(client):
    html = client.get("/data/plan/bari-psm-2030/action/5.1.1.a.html").get_data(as_text=True)
    page = outline(html)
    assert page.tags[0] == ("html", {"lang": "it"})
    assert [t for t, _ in page.tags].count("h1") == 1
    alternates = {a["type"]: a["href"] for t, a in page.tags if t == "link" and a.get("rel") == "alternate"}
    assert alternates == {
        "text/turtle": "/data/plan/bari-psm-2030/action/5.1.1.a.ttl",
        "application/ld+json": "/data/plan/bari-psm-2030/action/5.1.1.a.jsonld",
        "application/rdf+xml": "/data/plan/bari-psm-2030/action/5.1.1.a.rdf",
        "application/n-triples": "/data/plan/bari-psm-2030/action/5.1.1.a.nt",
    }
    hrefs = [a.get("href", "") for t, a in page.tags if t == "a"]
    assert "#main" in hrefs  # skip link for keyboard users
    assert any(h.startswith("/sparql?query=") for h in hrefs)
    # breadcrumb plan > axis > objective > specific objective, children of the parent as siblings
    for target in ("/data/plan/bari-psm-2030", "/data/plan/bari-psm-2030/axis/5", "/data/plan/bari-psm-2030/objective/5.1",
                   "/data/plan/bari-psm-2030/specific-objective/5.1.1", "/data/plan/bari-psm-2030/action/5.1.1.b"):
        assert target in hrefs, target
    assert "https://pianostrategico.cittametropolitana.ba.it/asse-5" in hrefs  # external link
    assert "Rafforzamento dell’Agenzia Metropolitana per la casa" in html
    assert 'lang="en"' in html


def test_plan_page_has_clickable_tree(client):
    html = client.get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    svg = html[html.index("<svg"):html.index("</svg>")]
    links = re.findall(r'<a href="([^"]+)"', svg)
    assert len(links) == 29  # 11 axes, 3 objectives, 5 specific objectives, 10 actions
    assert "/data/plan/bari-psm-2030/action/5.3.1.b" in links
    assert "Housing first" in svg


def test_axis_page_shows_motto_and_description(client):
    html = client.get("/data/plan/bari-psm-2030/axis/5.html").get_data(as_text=True)
    assert "«Tutti, nessuno escluso»" in html
    assert "L’area Metropolitana deve rappresentare uno spazio accogliente per tutti." in html


def test_ontology_page_documents_every_term(client):
    html = client.get("/onto/psm.html").get_data(as_text=True)
    for term in ("StrategicPlan", "PlanElement", "Axis", "Objective", "SpecificObjective", "Action", "Level",
                 "adoptedBy", "contributesTo", "motto", "notationPattern"):
        assert f'href="/onto/psm/{term}"' in html, term
    term = client.get("/onto/psm/Action.html").get_data(as_text=True)
    assert "Azione" in term and "Action" in term and "sottoclasse di" in term


def test_home_lists_plans(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/data/plan/bari-psm-2030"' in html
    assert "Piano Strategico Metropolitano – PSM BARI 20&gt;30" in html


def test_values_are_listed_in_code_order_and_italian_first(client):
    page = client.get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    axes = [int(n) for n in re.findall(r'href="/data/plan/bari-psm-2030/axis/(\d+)"', page)]
    assert len(axes) >= 22  # the tree, the top concepts and the parts, at least
    assert all(b in (a + 1, 1) for a, b in zip(axes, axes[1:])), axes  # every list 1, 2, 3… (not 1, 10, 11, 2…)
    catalog = client.get("/catalog.html").get_data(as_text=True)
    italian, english = catalog.find(">Piani strategici metropolitani pubblicati"), catalog.find(">Metropolitan strategic plans published")
    assert 0 < italian < english


def test_dates_are_named_for_what_they_are(client):
    catalog = client.get("/catalog.html").get_data(as_text=True)
    assert "pubblicato il" in catalog and "adottato nel" not in catalog
    plan = client.get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    assert "adottato nel" in plan  # dct:dateAccepted, the year the plan was adopted


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb / #rgb colours."""
    def lum(colour):
        h = colour.lstrip("#")
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b_ = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_sdg_badges_are_readable(client):
    html = client.get("/data/plan/bari-psm-2030/action/5.1.1.a.html").get_data(as_text=True)
    badges = re.findall(r'<rect width="24" height="18" rx="3" fill="(#[0-9A-Fa-f]{6})"/><text [^>]*fill="(#[0-9a-f]+)">(\d+)<', html)
    assert "11" in {n for _, _, n in badges}  # SDG 11's orange #FD9D24 had white text (2.1:1)
    for fill, text, number in badges:
        assert _contrast(fill, text) >= 4.5, (number, fill, text)


def test_every_official_sdg_colour_gets_a_readable_badge_text(client):
    from pianold import vocabularies
    app = client.application
    with app.test_request_context("/"):
        sdg_text = app.jinja_env.get_template("resource.html").make_module({}).sdg_text  # the pages' own macro
        for goal in vocabularies.goals().values():
            assert _contrast(goal.colour, str(sdg_text(goal.colour))) >= 4.5, goal


def test_gzip_downloads_declare_the_type_they_are_served_with(client):
    for page in ("/", "/onto/psm.html", "/data/plan/bari-psm-2030.html"):
        html = client.get(page).get_data(as_text=True)
        links = re.findall(r'<a href="([^"]+\.gz)" type="([^"]+)"', html)
        assert links, page
        for href, media in links:
            assert media == "application/gzip", (page, href)
            assert client.get(href).mimetype == "application/gzip", href


def test_ontology_page_offers_the_ontology_not_a_plan(client):
    onto = client.get("/onto/psm.html").get_data(as_text=True)
    assert "Scarica l'ontologia" in onto.replace("&#39;", "'") and "Download the ontology" in onto
    assert "Scarica il piano" not in onto
    plan = client.get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    assert "Scarica il piano" in plan and "Download the plan" in plan


@pytest.mark.parametrize("limit, expected", [(1, "1 riga <span lang=\"en\">/ row</span>"),
                                             (2, "2 righe <span lang=\"en\">/ rows</span>")])
def test_sparql_row_count_agrees_in_number(client, limit, expected):
    query = f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {limit}"
    html = client.get("/sparql", query_string={"query": query, "format": "html"}).get_data(as_text=True)
    assert expected in html


@pytest.mark.parametrize("path, schema_type", [
    ("/catalog.html", "DataCatalog"), ("/catalog/dataset/all.html", "Dataset"),
    ("/data/public-organization/cmba.html", "Organization"), ("/data/plan/bari-psm-2030/action/5.1.1.a.html", "DefinedTerm"),
    ("/data/plan/bari-psm-2030.html", "Dataset"),
])
def test_schema_org_types_follow_what_the_resource_is(client, path, schema_type):
    import json as json_module

    page = client.get(path).get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert block, path
    assert json_module.loads(block.group(1))["@type"] == schema_type


def test_linked_catalogue_resources_are_named_by_their_titles(client):
    """A dataset's distributions, its contact point and the catalogue citing it are named by their
    dct:title or vcard:fn, which the description of the page does not carry, not by raw IRIs."""
    dataset = client.get("/catalog/dataset/all.html").get_data(as_text=True)
    assert re.search(r'<a href="/catalog/distribution/all-ttl"[^>]*>Tutti i dati in Turtle</a>', dataset)
    assert re.search(r'<a href="/catalog"[^>]*>Catalogo dei Piani Strategici Metropolitani</a>', dataset)  # Citato da
    assert re.search(r'<a href="/catalog/contact/cmba"[^>]*>Città metropolitana di Bari</a>', dataset)
    assert not re.search(r'<a [^>]*>https://w3id\.org/pianold/catalog/', dataset)
    contact = client.get("/catalog/contact/cmba.html").get_data(as_text=True)
    assert "<h1>Città metropolitana di Bari" in contact
    assert re.search(r'<a href="/catalog/dataset/all"[^>]*>Tutti i piani strategici metropolitani', contact)


@pytest.mark.parametrize("path", ["/catalog/contact/cmba.html", "/catalog/distribution/all-ttl/checksum.html",
                                  "/catalog/linkset/bari-psm-2030/psm-contributesTo/sdg.html", "/catalog.html",
                                  "/catalog/service/sparql.html", "/onto/psm.html", "/data/plan/bari-psm-2030/period.html"])
def test_catalogue_properties_are_named_in_words(client, path):
    """The properties of the catalogue's contact point, checksums and linksets (vCard, SPDX, VoID,
    DCAT, ADMS-AP_IT, VANN) are named in Italian, with their CURIE aside, not by a raw IRI."""
    html = client.get(path).get_data(as_text=True)
    names = re.findall(r'<th scope="row"><a [^>]*>([^<]*)</a>', html)
    curies = re.findall(r'<th scope="row">.*?<code class="meta">([^<]*)</code></th>', html)
    assert names and len(curies) == len(names), path
    assert [n for n in names if re.match(r"[a-z]+:", n)] == [], path  # neither http://… nor vcard:fn
    assert [c for c in curies if "://" in c] == [], path


def test_external_links_are_named_where_the_data_names_them(client):
    """The external links of an action (its EuroVoc subjects, its SDG targets, the plan site) read
    as the same names the Links section gives them, with the IRI as the title; a web page without a
    name stays its address."""
    html = client.get("/data/plan/bari-psm-2030/action/5.1.1.a.html").get_data(as_text=True)
    section = html[html.index('id="external-h"'):]
    section = section[:section.index("</section>")]
    links = dict(re.findall(r'<a href="([^"]+)" rel="external"[^>]*>([^<]+)</a>', section))
    assert links["http://eurovoc.europa.eu/2496"] == "2496 politica della casa"
    assert links["http://metadata.un.org/sdg/11.1"].startswith("11.1 Entro il 2030, garantire a tutti")
    assert links["https://pianostrategico.cittametropolitana.ba.it/asse-5"] == "https://pianostrategico.cittametropolitana.ba.it/asse-5"
    assert 'title="http://eurovoc.europa.eu/2496"' in section


def test_sdg_coverage_sentence_agrees_in_number(tmp_path):
    """A plan with one action linked to an SDG reads '1 azione su 10 è collegata', not '1 azioni su
    10 sono collegate' (and '1 of 10 actions is linked')."""
    from plan_sources import copy_bari

    from pianold.publish import build

    folder = copy_bari(tmp_path)
    links = (folder / "links.csv").read_text(encoding="utf-8").splitlines()
    (folder / "links.csv").write_text("\n".join([links[0]] + [r for r in links if r.startswith("5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,")]) + "\n",
                                      encoding="utf-8")
    settings = load_settings(env={}, data_dir=folder.parent, dist_dir=tmp_path / "dist", base=BASE)
    build(settings)
    html = create_app(settings).test_client().get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    assert "1 azione su 10 è collegata ad almeno un obiettivo" in html
    assert "1 of 10 actions is linked" in html


def test_download_sizes_are_written_the_italian_way(client):
    """Sizes in the download lists have a decimal comma ("71,2 kB"), not the English point."""
    for path in ("/", "/data/plan/bari-psm-2030.html", "/onto/psm.html"):
        html = client.get(path).get_data(as_text=True)
        sizes = re.findall(r'</a> <span class="meta">([^<]*)</span></li>', html)
        assert sizes and all(re.fullmatch(r"\d+(,\d)? [kMG]B|\d+ byte", s) for s in sizes), (path, sizes)
        assert any("," in s for s in sizes), (path, sizes)


def test_referenced_by_lists_plan_elements_with_their_codes(client):
    """'Citato da' names plan elements as the other lists do, code first: on the page of the class
    Azione, '5.1.1.a Rafforzamento…', not ten titles without the code that orders them."""
    html = client.get("/onto/psm/Action.html").get_data(as_text=True)
    section = html[html.index('id="incoming-h"'):]
    section = section[:section.index("</section>")]
    assert re.search(r'<a href="/data/plan/bari-psm-2030/action/5\.1\.1\.a"[^>]*><span class="code">5\.1\.1\.a</span> '
                     r'Rafforzamento dell’Agenzia Metropolitana per la casa</a>', section), section


def test_graph_results_name_the_parts_of_a_triple(client):
    """A CONSTRUCT's results page heads its columns Soggetto / Predicato / Oggetto: '?subject' read as
    a variable the query does not have; a SELECT's columns stay its variables."""
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2"
    html = client.get("/sparql", query_string={"query": query, "format": "html"}).get_data(as_text=True)
    heads = re.findall(r'<th scope="col">(.*?)</th>', html)
    assert heads == ['Soggetto <span lang="en">/ Subject</span>', 'Predicato <span lang="en">/ Predicate</span>',
                     'Oggetto <span lang="en">/ Object</span>']
    html = client.get("/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", "format": "html"}).get_data(as_text=True)
    assert re.findall(r'<th scope="col">(.*?)</th>', html) == ["?s"]


def test_authority_values_and_the_catalogue_s_partitions_are_named(client):
    """The values a catalogue record gives by IRI alone (the EU tables' frequency, language and
    file type, IANA media types, the checksum's algorithm, the licence) and its VoID partitions and
    linksets read as names on the pages, not as raw IRIs."""
    def linked(html: str) -> set[str]:
        return set(re.findall(r"<a [^>]*>([^<]+)</a>", html))

    dataset = client.get("/data/plan/bari-psm-2030.html").get_data(as_text=True)
    distribution = client.get("/catalog/distribution/plans-bari-psm-2030-ttl.html").get_data(as_text=True)
    checksum = client.get("/catalog/distribution/plans-bari-psm-2030-ttl/checksum.html").get_data(as_text=True)
    names = linked(dataset) | linked(distribution) | linked(checksum)
    for name in ("irregolare", "italiano", "inglese", "Turtle", "text/turtle", "SHA-256",
                 "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)"):
        assert name in names, name
    assert [n for n in names if n.startswith(("http://publications.europa.eu/", "http://www.iana.org/", "http://spdx.org/",
                                              "https://w3id.org/italia/controlled-vocabulary/licences/"))] == []
    partition = client.get("/catalog/partition/bari-psm-2030/class/psm-Action.html").get_data(as_text=True)
    assert "<h1>Partizione per classe psm:Action" in partition
    linkset = client.get("/catalog/linkset/bari-psm-2030/dct-subject/eurovoc.html").get_data(as_text=True)
    assert "<h1>Collegamenti dct:subject verso EuroVoc" in linkset


def test_pages_of_different_kinds_of_one_name_have_different_titles(client):
    """The contact point and the organisation are both named 'Città metropolitana di Bari': their
    page titles (browser tabs, history, a screen reader's first words) say which is which."""
    titles = {path: re.search(r"<title>([^<]*)</title>", client.get(path).get_data(as_text=True)).group(1)
              for path in ("/catalog/contact/cmba.html", "/data/public-organization/cmba.html", "/data/plan/bari-psm-2030/action/5.1.1.a.html")}
    assert titles["/catalog/contact/cmba.html"].startswith("Città metropolitana di Bari (punto di contatto)")
    assert titles["/data/public-organization/cmba.html"].startswith("Città metropolitana di Bari (organizzazione pubblica)")
    assert titles["/data/plan/bari-psm-2030/action/5.1.1.a.html"].startswith("5.1.1.a ")  # an element: its code says enough


@pytest.mark.parametrize("path, crumbs", [
    ("/catalog/distribution/plans-bari-psm-2030-ttl.html", ["Catalogo", "Piano Strategico Metropolitano – PSM BARI 20>30"]),
    ("/catalog/distribution/plans-bari-psm-2030-ttl/checksum.html", ["Catalogo", "Piano «Piano Strategico Metropolitano – PSM BARI 20>30» in Turtle"]),
    ("/catalog/partition/bari-psm-2030/class/psm-Action.html", ["Catalogo", "Piano Strategico Metropolitano – PSM BARI 20>30"]),
    ("/catalog/linkset/bari-psm-2030/dct-subject/eurovoc.html", ["Catalogo", "Piano Strategico Metropolitano – PSM BARI 20>30"]),
    ("/catalog/dataset/all.html", ["Catalogo"]),
    ("/onto/psm/Action.html", ["Ontologia PSM"]),
])
def test_catalogue_and_ontology_pages_have_a_path_back(client, path, crumbs):
    """Plan elements had a breadcrumb; a distribution, its checksum, a partition, a linkset or an
    ontology term had none: the way back to its dataset, the catalogue or the ontology."""
    import html as html_lib

    page = client.get(path).get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Percorso / Breadcrumb" class="breadcrumb"><ol>(.*?)</ol></nav>', page, re.S)
    assert nav, path
    assert [html_lib.unescape(t) for t in re.findall(r'<li><a href="[^"]+">([^<]+)</a></li>', nav.group(1))] == crumbs
