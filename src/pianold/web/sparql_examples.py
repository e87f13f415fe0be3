"""The example-query gallery of the query page: real questions about the published plans.

The examples about one element name it by code: an action of the first published plan and its
axis, read from the data (`sample_codes`), so that a deployment publishing another city's plan
gets examples that answer there too (Bari's codes were written into them)."""

PREFIXES = """PREFIX psm: <https://w3id.org/pianold/onto/psm/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX ti: <https://w3id.org/italia/onto/TI/>
PREFIX cov: <https://w3id.org/italia/onto/COV/>
"""

EXAMPLES = [
    {"title": "Piani pubblicati", "title_en": "Published plans", "query": PREFIXES + """
SELECT ?plan ?title ?publisher ?start ?end WHERE {
  ?plan a psm:StrategicPlan ; skos:prefLabel ?title ;
        dct:publisher/rdfs:label ?publisher ;
        ti:hasTemporalCoverage [ ti:startTime ?start ; ti:endTime ?end ] .
  FILTER(lang(?title) = "it")
}"""},
    {"title": "Azioni per asse", "title_en": "Actions per axis", "query": PREFIXES + """
SELECT ?plan ?axisCode ?axis (COUNT(?action) AS ?actions) WHERE {
  ?axis_ a psm:Axis ; skos:inScheme ?plan ; skos:notation ?axisCode ; skos:prefLabel ?axis .
  OPTIONAL { ?action a psm:Action ; skos:broader+ ?axis_ . }
}
GROUP BY ?plan ?axisCode ?axis
ORDER BY ?plan xsd:integer(?axisCode)"""},
    {"title": "Percorso completo di un'azione", "title_en": "Full path of an action", "query": PREFIXES + """
SELECT ?plan ?depth ?level ?code ?title WHERE {
  ?action skos:notation "@ACTION@" ; skos:inScheme ?plan .
  ?action skos:broader* ?node .
  ?node skos:notation ?code ; skos:prefLabel ?title ; psm:level ?l .
  ?l psm:depth ?depth ; skos:prefLabel ?level .
  FILTER(lang(?level) = "it")
}
ORDER BY ?plan ?depth"""},
    {"title": "I due livelli sotto l'asse @AXIS@", "title_en": "The two levels below axis @AXIS@", "query": PREFIXES + """
SELECT ?plan ?objective ?objectiveTitle ?specific ?specificTitle WHERE {
  ?axis a psm:Axis ; skos:inScheme ?plan ; skos:notation "@AXIS@" .
  ?o skos:broader ?axis ; skos:notation ?objective ; skos:prefLabel ?objectiveTitle .
  ?s skos:broader ?o ; skos:notation ?specific ; skos:prefLabel ?specificTitle .
}
ORDER BY ?plan ?objective ?specific"""},
    {"title": "Traguardi SDG di ogni azione (prima le azioni senza)", "title_en": "SDG targets of each action (unlinked first)",
     "query": PREFIXES + """
SELECT ?plan ?code ?title ?target ?targetTitle WHERE {
  ?action a psm:Action ; skos:inScheme ?plan ; skos:notation ?code ; skos:prefLabel ?title .
  OPTIONAL {
    ?action psm:contributesTo ?sdg . ?sdg skos:notation ?target ; skos:prefLabel ?targetTitle .
    FILTER(lang(?targetTitle) = "it")
  }
}
ORDER BY BOUND(?target) ?plan ?code ?target"""},
    {"title": "Cerca nei titoli", "title_en": "Search the titles", "query": PREFIXES + """
SELECT ?element ?code ?title WHERE {
  ?element a psm:PlanElement ; skos:notation ?code ; skos:prefLabel ?title .
  FILTER(regex(?title, "abitat|casa|housing", "i"))
}
ORDER BY ?code"""},
    {"title": "Assi con il loro motto", "title_en": "Axes and their mottos", "query": PREFIXES + """
SELECT ?plan ?code ?title ?motto WHERE {
  ?axis a psm:Axis ; skos:inScheme ?plan ; skos:notation ?code ; skos:prefLabel ?title .
  OPTIONAL { ?axis psm:motto ?motto }
}
ORDER BY ?plan xsd:integer(?code)"""},
    {"title": "Livelli di ogni piano", "title_en": "Levels of every plan", "query": PREFIXES + """
SELECT ?plan ?depth ?level (COUNT(?e) AS ?elements) WHERE {
  ?plan psm:hasLevel ?l . ?l psm:depth ?depth ; skos:prefLabel ?level .
  FILTER(lang(?level) = "it")
  OPTIONAL { ?e psm:level ?l }
}
GROUP BY ?plan ?depth ?level
ORDER BY ?plan ?depth"""},
    {"title": "Corrispondenze tra piani", "title_en": "Matches across plans", "query": PREFIXES + """
SELECT ?element ?title ?property ?match ?matchTitle WHERE {
  VALUES ?property { skos:closeMatch skos:relatedMatch skos:exactMatch }
  ?element ?property ?match ; skos:prefLabel ?title .
  OPTIONAL { ?match skos:prefLabel ?matchTitle }
}
ORDER BY ?element ?match"""},
    {"title": "Descrizione di un'azione (grafo)", "title_en": "Describe an action (graph)", "query": PREFIXES + """
CONSTRUCT { ?action ?p ?o } WHERE {
  ?action skos:notation "@OTHER_ACTION@" ; ?p ?o .
}"""},
]

for example in EXAMPLES:
    example["query"] = example["query"].replace("PREFIX rdfs:", "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\nPREFIX rdfs:", 1).strip()

BARI_CODES = {"ACTION": "5.1.1.a", "AXIS": "5", "OTHER_ACTION": "5.2.2.a"}  # when the data has no action to show


def sample_query(plan_iri: str) -> str:
    """Two actions of the plan (the first by code, and the next) and the first one's axis, if
    the plan has one (a level's class is optional: its actions may sit under no psm:Axis)."""
    return PREFIXES + f"""
SELECT ?action ?axis WHERE {{
  ?a a psm:Action ; skos:inScheme <{plan_iri}> ; skos:notation ?action .
  OPTIONAL {{ ?a skos:broader+ ?x . ?x a psm:Axis ; skos:notation ?axis . }}
}}
ORDER BY ?action
LIMIT 2"""


def sample_codes(rows: list[dict]) -> dict[str, str]:
    """The codes the examples name, from sample_query's rows (Bari's when there are none)."""
    if not rows:
        return BARI_CODES
    first = str(rows[0]["action"])
    return {"ACTION": first, "AXIS": str(rows[0].get("axis", BARI_CODES["AXIS"])), "OTHER_ACTION": str(rows[-1]["action"])}


def gallery(codes: dict[str, str]) -> list[dict]:
    """The examples, naming the elements `codes` gives (in a query, as the text of a SPARQL string)."""
    def fill(text: str, literal: bool) -> str:
        for name, code in codes.items():
            text = text.replace(f"@{name}@", code.replace("\\", "\\\\").replace('"', '\\"') if literal else code)
        return text

    return [{key: fill(value, key == "query") for key, value in example.items()} for example in EXAMPLES]
