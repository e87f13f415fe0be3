"""HTML pages for people: home, and one page per resource (plan, element, ontology term…)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, render_template, request
from markupsafe import Markup
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, VOID

from pianold import vocabularies
from pianold.catalog import SPDX
from pianold.vocab import COV, ONTOLOGY_IRI, PSM
from pianold.web import catalog, describe
from pianold.web.caching import Representation, etag_for
from pianold.web.fastpath import mark_cacheable
from pianold.web.labels import KINDS, Namer, literal_in, short
from pianold.web.sdg_chart import sdg_chart_svg, sdg_coverage
from pianold.web.tree import plan_tree_svg
from pianold.web.urls import path_for_iri

bp = Blueprint("pages", __name__)

FORMAT_NAMES = [("ttl", "Turtle", "text/turtle"), ("jsonld", "JSON-LD", "application/ld+json"),
                ("rdf", "RDF/XML", "application/rdf+xml"), ("nt", "N-Triples", "application/n-triples")]
HIDDEN = {SKOS.prefLabel, RDFS.label, DCTERMS.title, DCTERMS.description, PSM.motto, RDFS.comment}


def documents():
    from pianold.web.resources import _cache

    return _cache()


def term_labels() -> dict:
    snap = g.snapshot
    cache = current_app.extensions.setdefault("pianold.term_labels", {})
    if snap.version.id not in cache:
        cache.clear()
        cache[snap.version.id] = describe.term_labels(snap.store)
    return cache[snap.version.id]


def link_for(iri: str) -> tuple[str, bool]:
    """(href, is_local): local IRIs link to this server's pages, others go out."""
    path = path_for_iri(current_app.config["PIANOLD"].base, iri)
    return (path, True) if path is not None else (iri, False)


def sparql_link(iri: str) -> str:
    query = f"SELECT ?property ?value WHERE {{\n  <{iri}> ?property ?value .\n}}"
    return "/sparql?" + urlencode({"query": query})


@bp.route("/", methods=["GET", "HEAD"])
def home():
    version = g.snapshot.version
    plans = version.manifest["plans"]
    mark_cacheable(request.environ)

    def make() -> Representation:
        items = [{**plan, "href": link_for(plan["iri"])[0]} for plan in plans]
        cat = catalog.catalog_graph()
        body = render_template("home.html", plans=items, version=version,
                               schema_json=_json_script(catalog.schema_catalog(cat, request.url_root)),
                               downloads=catalog.downloads(cat, catalog.catalog_uris().everything))
        return Representation.build(body.encode("utf-8"), "text/html; charset=utf-8", etag_for(version.id, "home", request.url_root), version.built)

    return documents().get((version.id, "home", request.url_root), make).respond()


@bp.app_template_filter("size_it")
def size_it(size: int) -> str:
    """A file's size as Italian writes it, for the download lists: "71,2 kB" (decimal comma), "512 byte"."""
    from jinja2.filters import do_filesizeformat

    return f"{size} byte" if size < 1000 else do_filesizeformat(size).replace(".", ",")


def _json_script(data) -> Markup:
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def resource_page(iri: str, graph) -> str:
    """The page of any resource; plans, plan elements and the ontology get their own sections."""
    node = URIRef(iri)
    store = g.snapshot.store
    namer = Namer(graph, term_labels(), _labels_of_linked(store, graph, node))
    types = set(graph.objects(node, RDF.type))
    is_element = PSM.PlanElement in types
    is_plan = PSM.StrategicPlan in types
    local_path = path_for_iri(current_app.config["PIANOLD"].base, iri) or ""

    def entry(value):
        if isinstance(value, URIRef):
            href, local = link_for(str(value))
            return {"iri": str(value), "href": href, "local": local, "label": namer.it(value),
                    "label_en": namer.en(value), "notation": graph.value(value, SKOS.notation)}
        return {"literal": str(value), "lang": value.language if isinstance(value, Literal) else None,
                "datatype": short(str(value.datatype)) if isinstance(value, Literal) and value.datatype else None}

    properties = []
    for prop in sorted(set(graph.predicates(node)), key=lambda p: namer.it(p)):
        if prop in HIDDEN and is_element:
            continue
        # codes in their own order (axis 2 before axis 10), Italian text before the other languages
        values = sorted(graph.objects(node, prop), key=lambda v: (
            _code_sort(graph.value(v, SKOS.notation)), isinstance(v, Literal) and v.language not in (None, "", "it"), str(v)))
        properties.append({"iri": str(prop), "short": short(str(prop)), "label": namer.it(prop), "label_en": namer.en(prop),
                           "href": link_for(str(prop))[0], "values": [entry(v) for v in values]})
    incoming = [(label, iri) for _, label, iri in sorted(
        {(tuple(_code_sort(graph.value(s, SKOS.notation))), namer.it(s), str(s)) for s, _ in graph.subject_predicates(node)
         if isinstance(s, URIRef)})]
    external = [{"href": iri, "label": namer.named(URIRef(iri)) or iri, "notation": graph.value(URIRef(iri), SKOS.notation)}
                for iri in sorted({str(o) for o in graph.objects(node, None) if isinstance(o, URIRef)
                                   and not link_for(str(o))[1] and o not in types})]

    children = [entry(c) for c in sorted(graph.objects(node, SKOS.narrower), key=_code_key(graph))]
    if is_plan:
        children = [entry(c) for c in sorted(graph.objects(node, SKOS.hasTopConcept), key=_code_key(graph))]
    level = graph.value(node, PSM.level)
    context = {
        "iri": iri, "local_path": local_path, "title": namer.it(node), "title_en": namer.en(node),
        "kind": namer.it(level) if level is not None else _kind(types, namer),
        "notation": graph.value(node, SKOS.notation),
        "motto": graph.value(node, PSM.motto), "description": _in_lang(graph, node, DCTERMS.description, "it") or _in_lang(graph, node, RDFS.comment, "it"),
        "description_en": _in_lang(graph, node, DCTERMS.description, "en") or _in_lang(graph, node, RDFS.comment, "en"),
        "properties": properties, "incoming": [{"label": lab, "href": link_for(s)[0], "iri": s,
                                                             "notation": graph.value(URIRef(s), SKOS.notation)} for lab, s in incoming],
        "external": external, "children": children, "formats": FORMAT_NAMES, "sparql_link": sparql_link(iri),
        "breadcrumb": [], "siblings": [], "tree_svg": None, "terms": [], "downloads": [], "links": None,
        "sdg_chart": None,
    }
    context["breadcrumb"] = _section_crumbs(node, graph, namer)
    if is_element:
        context["breadcrumb"] = [_crumb(row) for row in describe.ancestors(store, iri)]
        plan = graph.value(node, SKOS.inScheme)
        if plan is not None:
            context["breadcrumb"].insert(0, {"href": link_for(str(plan))[0], "label": namer.it(plan), "code": None})
        context["siblings"] = sorted((_crumb({"a": r["s"], "code": r.get("code"), "label": r.get("label")})
                                      for r in describe.siblings(store, iri)), key=lambda c: _code_sort(c["code"]))
        context["links"] = _link_sections(graph, node, entry)
    if is_plan:
        elements = describe.plan_elements(store, iri)
        depth = len(list(graph.objects(node, PSM.hasLevel)))
        leaves = sum(1 for r in elements if int(str(r["depth"])) == depth)
        coverage = sdg_coverage(store, iri)
        context["sdg_chart"] = Markup(sdg_chart_svg(coverage.per_goal, leaves))
        context["sdg_linked"] = coverage.linked
        context["sdg_leaves"] = leaves
        context["tree_svg"] = Markup(plan_tree_svg(elements, link_for))
    if is_plan or iri == ONTOLOGY_IRI:
        context["downloads"] = catalog.downloads(catalog.catalog_graph(), node)
    if iri == ONTOLOGY_IRI:
        context["terms"] = _ontology_terms(graph, namer)
    context["schema_json"] = _json_script(_schema_org(node, graph, namer, types))
    return render_template("resource.html", **context)


def _labels_of_linked(store, graph, node) -> Graph:
    """Labels of the local resources the page links to that its graph leaves unnamed: the
    description carries the skos:prefLabel and rdfs:label of what it links to, not a dataset's or a
    distribution's dct:title or a contact point's vcard:fn, which the page would show as raw IRIs."""
    base = current_app.config["PIANOLD"].base
    linked = {o for o in graph.objects(node, None) if isinstance(o, URIRef)}
    linked |= {s for s, _ in graph.subject_predicates(node) if isinstance(s, URIRef)}
    return describe.labels_of(store, {str(n) for n in linked if n != node and literal_in(graph, n) is None
                                      and path_for_iri(base, str(n)) is not None})


MATCHES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.relatedMatch)


def _link_sections(graph, node, entry) -> dict:
    """SDG targets, EuroVoc subjects and matches with other plans (both directions), labelled."""
    def listing(values):
        items = []
        for v in sorted(set(values), key=lambda v: _code_sort(graph.value(v, SKOS.notation) or str(v))):
            item = entry(v)
            goal = vocabularies.sdg_goal(str(v))
            item["goal"] = vocabularies.goals()[goal] if goal else None
            items.append(item)
        return items

    matches = [(p, o) for p in MATCHES for o in graph.objects(node, p)]
    matches += [(p, s) for p in MATCHES for s in graph.subjects(p, node)]
    return {"sdg": listing(graph.objects(node, PSM.contributesTo)),
            "subjects": listing(graph.objects(node, DCTERMS.subject)),
            "matches": [{**entry(other), "kind": short(str(p))} for p, other in sorted(set(matches), key=lambda m: (str(m[0]), str(m[1])))]}


# Where a catalogue resource sits, one step up, by the property its parent holds it with
_PARENT_PROPERTIES = (DCAT.distribution, SPDX.checksum, VOID.classPartition, VOID.propertyPartition, VOID.subset)


def _section_crumbs(node: URIRef, graph: Graph, namer: Namer) -> list[dict]:
    """The path to a resource of the catalogue (the catalogue, then its parent: a distribution's
    dataset, a checksum's distribution, a partition's dataset) or of the ontology (the ontology)."""
    iri = str(node)
    if iri.startswith(ONTOLOGY_IRI + "/"):
        return [{"href": link_for(ONTOLOGY_IRI)[0], "label": "Ontologia PSM", "code": None}]
    catalog_iri = catalog.catalog_uris().catalog
    if not iri.startswith(str(catalog_iri) + "/"):
        return []
    crumbs = [{"href": link_for(str(catalog_iri))[0], "label": "Catalogo", "code": None}]
    parent = next((s for prop in _PARENT_PROPERTIES for s in sorted(graph.subjects(prop, node)) if isinstance(s, URIRef)), None)
    if parent is not None:
        crumbs.append({"href": link_for(str(parent))[0], "label": namer.it(parent), "code": None})
    return crumbs


def _crumb(row) -> dict:
    return {"href": link_for(str(row["a"]))[0], "code": str(row["code"]) if row.get("code") is not None else None,
            "label": str(row["label"]) if row.get("label") is not None else str(row.get("code"))}


def _code_sort(code):
    return [(0, int(s), "") if s.isdecimal() else (1, 0, s) for s in str(code or "").split(".")]


def _code_key(graph):
    return lambda n: _code_sort(graph.value(n, SKOS.notation))


def _in_lang(graph, node, prop, lang):
    for value in graph.objects(node, prop):
        if isinstance(value, Literal) and value.language == lang:
            return str(value)
    return None


def _kind(types, namer) -> str | None:
    """What the resource is, in words: its class in the ontology, else the most telling of the
    classes a page has a name for (labels.KINDS), else the first."""
    for t in sorted(types, key=str):
        if str(t).startswith(str(PSM)) or t in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.Ontology):
            return namer.it(t)
    named = next((t for t in KINDS if t in types), None)
    if named is not None:
        return namer.it(named)
    return namer.it(sorted(types, key=str)[0]) if types else None


def _ontology_terms(graph, namer) -> list[dict]:
    terms = []
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in sorted(graph.subjects(RDF.type, kind), key=str):
            if str(term).startswith(str(PSM)):
                terms.append({"href": link_for(str(term))[0], "short": short(str(term)), "label": namer.it(term),
                              "label_en": namer.en(term), "kind": namer.it(kind),
                              "comment": _in_lang(graph, term, RDFS.comment, "it")})
    return terms


# schema.org types of the resources that are no plan element, by their DCAT/FOAF/COV type
_SCHEMA_TYPES = ((DCAT.Distribution, "DataDownload"), (COV.PublicOrganization, "Organization"), (FOAF.Agent, "Organization"),
                 (DCAT.DataService, "WebAPI"), (DCTERMS.PeriodOfTime, "Thing"))


def _schema_org(node, graph, namer, types) -> dict:
    data = {"@context": "https://schema.org", "@id": str(node), "url": str(node), "name": namer.it(node), "inLanguage": "it"}
    cat = catalog.catalog_graph()
    if PSM.StrategicPlan in types or node == URIRef(ONTOLOGY_IRI) or DCAT.Dataset in types:
        return {"@context": "https://schema.org", **catalog.schema_dataset(cat, node),
                "includedInDataCatalog": {"@type": "DataCatalog", "@id": str(catalog.catalog_uris().catalog)}}
    if DCAT.Catalog in types:
        return catalog.schema_catalog(cat, str(node))
    if SKOS.Concept in types and graph.value(node, SKOS.inScheme) is not None:
        data["@type"] = "DefinedTerm"
        scheme = graph.value(node, SKOS.inScheme)
        data["inDefinedTermSet"] = {"@type": "DefinedTermSet", "@id": str(scheme), "name": namer.it(scheme)}
    else:
        data["@type"] = next((name for cls, name in _SCHEMA_TYPES if cls in types), "Thing")
    notation = graph.value(node, SKOS.notation)
    if notation is not None:
        data["termCode"] = str(notation)
    description = _in_lang(graph, node, DCTERMS.description, "it")
    if description:
        data["description"] = description
    return data
