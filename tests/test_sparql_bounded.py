"""Queries answered in the server process must be provably small; everything else goes to a worker."""

from __future__ import annotations

import csv
import io
import json
import time

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from pianold.publish import current_version
from pianold.store.bounded import BINDING_WEIGHT, MAX_BINDINGS, MAX_DEPTH, MAX_INLINE_GRAPHS, MAX_OPERATORS, MAX_PATTERNS, TEMPLATE_WEIGHT, Pattern, count_matches, proven_solutions, read_form, solution_limit
from pianold.store.oxigraph import merge_named_graphs
from pianold.store.workers import QueryJob, WorkerPool, execute
from pianold.web import create_app

from conftest import BASE, MAX_BYTES

PSM_NS = "https://w3id.org/pianold/onto/psm/"
PSM = f"PREFIX psm: <{PSM_NS}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
ACTION = f"{BASE}/data/plan/bari-psm-2030/action/5.1.1.a"
PLAN = f"{BASE}/data/plan/bari-psm-2030"

BOUNDED_FORM = {
    "one resource": f"SELECT ?p ?o WHERE {{ <{ACTION}> ?p ?o }}\n# comment",
    "several constant subjects, filter, group, order": PSM + f'SELECT ?t (COUNT(?x) AS ?n) WHERE {{ <{PLAN}> skos:prefLabel ?t ; '
    f'skos:hasTopConcept ?x , ?y . FILTER(lang(?t) = "it") <{ACTION}> a psm:Action }} GROUP BY ?t ORDER BY DESC(?n) LIMIT 5',
    "construct": f"CONSTRUCT {{ <{ACTION}> ?p ?o }} WHERE {{ <{ACTION}> ?p ?o }}",
    "ask with a language-tagged literal": f'ASK {{ <{ACTION}> <http://www.w3.org/2004/02/skos/core#prefLabel> "x"@it }}',
    "literals with braces": f'SELECT * WHERE {{ <{ACTION}> ?p "a}}b" . <{ACTION}> ?p 3 . <{ACTION}> ?p true }}',
    "bind of a safe function": f"SELECT * WHERE {{ <{ACTION}> ?p ?o BIND(STR(?o) AS ?s) }}",
    "variable subject": PSM + "SELECT ?e ?l WHERE { ?e psm:level ?l }",
    "variable subject, grouped": PSM + "SELECT ?l (COUNT(?e) AS ?n) WHERE { ?e psm:level ?l ; a psm:Action } GROUP BY ?l",
}
NOT_BOUNDED = {
    "blank node subject": PSM + "SELECT ?l WHERE { _:e psm:level ?l }",
    "anonymous subject": PSM + "SELECT ?l WHERE { [] psm:level ?l }",
    "property path": PSM + f"SELECT * WHERE {{ <{ACTION}> skos:broader+ ?a }}",
    "sequence path": f"SELECT * WHERE {{ <{ACTION}> <http://p>/<http://q> ?o }}",
    "optional": f"SELECT * WHERE {{ <{ACTION}> ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    "union": f"SELECT * WHERE {{ {{ <{ACTION}> ?p ?o }} UNION {{ <{PLAN}> ?p ?o }} }}",
    "not exists": f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER NOT EXISTS {{ ?o ?q ?r }} }}",
    "values": f"SELECT * WHERE {{ <{ACTION}> ?p ?o }} VALUES ?o {{ 1 2 }}",
    "service": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "growing function": f"SELECT (CONCAT(?o, ?o) AS ?x) WHERE {{ <{ACTION}> ?p ?o }}",
    "replace": f'SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(REPLACE(STR(?o), "a", "aa") != "") }}',
    # pyoxigraph compiles a REGEX pattern for every solution: milliseconds each for `\w{1,30}`
    "regex": f'SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(REGEX(STR(?o), "\\w{{1,30}}x")) }}',
    "regex without parentheses": f'SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER regex(?o, "x") }}',
    # a token is one unit of the budget: a long one would cost every solution its length
    "a long literal": f'SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(UCASE(?o) != "{"ΐ" * 300}") }}',
    "a long prefix": "PREFIX p: <http://x/" + "ΐ" * 300 + f"> SELECT (STR(p:) AS ?v) WHERE {{ <{ACTION}> ?p ?o }}",
    "a long IRI": f"SELECT * WHERE {{ <{ACTION}> ?p <http://x/{'a' * 300}> }}",
    "function by IRI": f"SELECT (<http://www.w3.org/2001/XMLSchema#integer>(?o) AS ?i) WHERE {{ <{ACTION}> ?p ?o }}",
    "blank node property list": f"SELECT * WHERE {{ <{ACTION}> ?p [ ?q ?r ] }}",
    "describe of a variable": f"DESCRIBE ?x WHERE {{ <{ACTION}> ?p ?x }}",
    "undeclared prefix": "SELECT * WHERE { ex:a ?p ?o }",
    "relative IRI": "SELECT * WHERE { <a> ?p ?o }",
    "relative IRI with a colon": "SELECT * WHERE { ?s ?p <./a:b> }",  # pyoxigraph refuses it: the worker's 200, not a 400
    # relative IRIs in expressions resolve against BASE, whose length no token carries
    "base": f"BASE <http://example.org/{'ΐ' * 200}/> SELECT ?s (STR(<a>) AS ?a) WHERE {{ ?s ?p ?o }}",
    "too long": f"SELECT * WHERE {{ <{ACTION}> ?p ?o }}" + "#" * 5000,
    "not SPARQL": "DROP ALL",
    # `<` after a value in parentheses: the engine compares; an IRI-first reader would see `<'>`
    # and then a string hiding a NOT EXISTS whose work grows with the data
    "ambiguous comparison": f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(?o<'>' && NOT EXISTS {{ ?a ?b ?c }} && '<'>?o) }}",
    "describe (follows blank nodes)": f"DESCRIBE <{ACTION}>",
    "a graph named twice": f"SELECT * FROM <{PLAN}> FROM <{PLAN}> WHERE {{ <{ACTION}> ?p ?o }}",
    # two triples and a blank node for each item, written for every solution
    "a collection in a template": f"CONSTRUCT {{ <{ACTION}> ?p (?o ?o ?o) }} WHERE {{ <{ACTION}> ?p ?o }}",
}
# Text the engine reads otherwise than a naive reader would: the patterns must be the engine's.
READ_AS_THE_ENGINE = {
    "a comment ended by CR": (f"SELECT * WHERE {{ <{ACTION}> ?p ?o # \r . ?a ?b ?c \n }}",
                              [Pattern(ACTION, None, None), Pattern(None, None, None)]),
    "an IRI with a no-break space": (f"SELECT ?o (<http://a\xa0'> AS ?z) WHERE {{ ?a ?b ?c }} #' ) WHERE {{ <{ACTION}> ?p ?o }}",
                                     [Pattern(None, None, None)]),
}


@pytest.mark.parametrize("query", BOUNDED_FORM.values(), ids=BOUNDED_FORM.keys())
def test_bounded_forms_are_recognised(query):
    assert read_form(query).patterns


@pytest.mark.parametrize("query", NOT_BOUNDED.values(), ids=NOT_BOUNDED.keys())
def test_other_queries_go_to_a_worker(query):
    assert read_form(query) is None


@pytest.mark.parametrize("query, expected", READ_AS_THE_ENGINE.values(), ids=READ_AS_THE_ENGINE.keys())
def test_patterns_are_the_engines(store, query, expected):
    assert read_form(query).patterns == expected
    assert proven_solutions(store, query, budget=1000) is None  # `?a ?b ?c` matches every triple


def test_a_number_signed_with_plus_after_a_predicate_is_a_path_to_the_engine():
    """Oxigraph reads `<s> <p> +1` as the path `<p>+` (one or more steps) to the object 1, not as a
    triple pattern: it walks every `<p>` step reachable from <s>, which the count of <s>'s own `<p>`
    matches does not see. On a chain of 100,000 `<p>` steps, 16 such patterns proven to have one
    solution held a server thread for 0.93 s; on the synthetic 100k plan, `<plan> dct:hasPart +1 ;
    dct:hasPart +2` (proven at 100 solutions) took 27 ms, growing with the data. An object that is
    a number signed with `+` is not bounded."""
    store = ox.Store()
    s, p, m = (ox.NamedNode(f"http://a/{x}") for x in "spm")
    one = ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    for graph in (ox.NamedNode("http://a/g"), ox.DefaultGraph()):
        store.add(ox.Quad(s, p, m, graph))
        store.add(ox.Quad(m, p, one, graph))
    query = "ASK { <http://a/s> <http://a/p> +1 }"
    assert bool(store.query(query)) and not bool(store.query("ASK { <http://a/s> <http://a/p> 1 }"))  # two steps
    assert read_form(query) is None and proven_solutions(store, query, budget=10_000) is None
    assert read_form(f"SELECT * WHERE {{ <{ACTION}> ?p ?o ; a +1.5 }}") is None
    assert len(read_form(f"SELECT * WHERE {{ <{ACTION}> ?p 1 , -1 }}").patterns) == 2  # no `-` path modifier


@pytest.fixture(scope="module")
def store(built_dist):
    return ox.Store.read_only(str(current_version(built_dist.dist_dir).store_path))


def in_named_graphs(store, subject, predicate) -> int:
    """Matches in the named graphs, which the proof counts (their merge, the default graph, holds no more)."""
    return sum(1 for q in store.quads_for_pattern(subject, predicate, None) if q.graph_name != ox.DefaultGraph())


def test_budget_counts_the_store_and_the_query_size(store):
    light = BOUNDED_FORM["one resource"]
    size = read_form(light).size
    assert size == 9  # SELECT ?p ?o WHERE { <…> ?p ?o }: the comment is no token
    degree = in_named_graphs(store, ox.NamedNode(ACTION), None)
    assert degree > 10
    assert proven_solutions(store, light, budget=degree * size) == degree  # at most one solution per match
    assert proven_solutions(store, light, budget=degree * size - 1) is None
    cross = f"SELECT * WHERE {{ <{ACTION}> ?p ?o . <{ACTION}> ?q ?r }}"
    assert proven_solutions(store, cross, budget=degree * degree * read_form(cross).size - 1) is None
    assert proven_solutions(store, cross, budget=degree * degree * read_form(cross).size) is not None
    assert proven_solutions(store, light, budget=0) is None
    levels = in_named_graphs(store, None, ox.NamedNode(PSM_NS + "level"))
    assert levels > 10
    scan = PSM + "SELECT ?e ?l WHERE { ?e psm:level ?l }"
    assert read_form(scan).size == 9  # the prologue is not counted
    assert proven_solutions(store, scan, budget=levels * 9) == levels
    assert proven_solutions(store, scan, budget=levels * 9 - 1) is None


def test_sorted_solutions_weigh_log2_of_their_number(store):
    """An ORDER BY compares each solution about log2(n) times, each comparison reading terms from
    the store: without the weight, sorting a few hundred solutions held a server thread for 12 ms
    on the Bari data, 76 worker round trips (bench/inline_budget.py)."""
    levels = in_named_graphs(store, None, ox.NamedNode(PSM_NS + "level"))
    scan = PSM + "SELECT ?e ?l WHERE { ?e psm:level ?l }"
    size = read_form(scan + " ORDER BY ?l").size
    assert size == 9 + 3 and read_form(scan + " ORDER BY ?l").sorted and not read_form(scan).sorted
    unsorted_budget = levels * size
    assert proven_solutions(store, scan + " LIMIT 1000", unsorted_budget) == levels  # unsorted, it fits
    assert proven_solutions(store, scan + " ORDER BY ?l", unsorted_budget) is None
    sorted_budget = levels * size * levels.bit_length()
    assert proven_solutions(store, scan + " ORDER BY ?l", sorted_budget) == levels
    assert proven_solutions(store, scan + " ORDER BY ?l", sorted_budget - 1) is None


def test_a_wide_projection_leaves_room_for_fewer_solutions(store):
    """Each solution costs one evaluation of every term: 50 projected expressions weigh 50 times one."""
    narrow = f"SELECT (STR(?o) AS ?a) WHERE {{ <{ACTION}> ?p ?o }}"
    wide = "SELECT " + " ".join(f"(STR(?o) AS ?a{i})" for i in range(50)) + f" WHERE {{ <{ACTION}> ?p ?o }}"
    budget = 1000
    assert proven_solutions(store, narrow, budget) is not None and proven_solutions(store, wide, budget) is None
    assert read_form(wide).size > 50 * read_form(narrow).size / 2


def test_a_long_constant_weighs_its_length():
    """Every solution may evaluate and write a constant once: one of 402 bytes weighs six of a
    short one (TERM_BYTES = 64), and a prefixed name weighs its expansion. Before, three such
    constants in a projection held a server thread for 10 ms on the Bari data at the default
    budget (bench/inline_budget.py)."""
    short = f'SELECT ?p (UCASE("x") AS ?a) WHERE {{ <{ACTION}> ?p ?o }}'
    long = short.replace('"x"', '"' + "ΐ" * 200 + '"')  # two bytes each
    assert read_form(long).size == read_form(short).size + 5
    prefixed = "PREFIX x: <http://example.org/{}> SELECT (STR(x:a) AS ?a) WHERE {{ <" + ACTION + "> ?p ?o }}"
    assert read_form(prefixed.format("a" * 200)).size == read_form(prefixed.format("")).size + 2  # 220 bytes: three



def test_a_construct_template_weighs_what_writing_it_costs(store):
    """Each solution of a CONSTRUCT writes every triple of its template, with the Python writer:
    weighed as any other token, a template of 75 triples over the 29 levels of the Bari data held
    a server thread for 7 ms in Turtle and 12 ms in RDF/XML (a collection of 300 items, two triples
    and a blank node each, 41 ms), where the slowest SELECT the default budget allows takes 2.5 ms.
    A template's tokens weigh TEMPLATE_WEIGHT each (the short form's template is its pattern), and
    a template holds no collection; a resource's own triples are still answered in the server."""
    light = f"CONSTRUCT {{ <{ACTION}> ?p ?o }} WHERE {{ <{ACTION}> ?p ?o }}"
    assert read_form(light).size == 12 + (TEMPLATE_WEIGHT - 1) * 5  # the template: { <…> ?p ?o }
    assert read_form(f"CONSTRUCT WHERE {{ <{ACTION}> ?p ?o }}").size == 7 + (TEMPLATE_WEIGHT - 1) * 5
    assert proven_solutions(store, light, budget=10_000) is not None
    wide = PSM + "CONSTRUCT { " + " ".join(f"?s <urn:p{i}> ?o ." for i in range(75)) + " } WHERE { ?s psm:level ?o }"
    assert proven_solutions(store, wide, budget=10_000) is None

def test_many_triple_patterns_go_to_a_worker(store):
    """Oxigraph plans a group of n triple patterns in about n**4 steps, whatever they match: 200
    patterns of an IRI the store does not hold (each counted as one match, so a bound of one
    solution) took 11 s to plan, 400 took 208 s, in a server thread the time limit cannot stop.
    A group of more than MAX_PATTERNS patterns is not bounded; one of MAX_PATTERNS plans in well
    under a millisecond."""
    def star(n: int) -> str:
        return "PREFIX : <http://example.org/> SELECT * WHERE { ?a " + ";".join(f":p ?v{i}" for i in range(n)) + " }"

    assert read_form(star(200)) is None and proven_solutions(store, star(200), budget=10_000) is None
    assert read_form(star(MAX_PATTERNS + 1)) is None
    assert len(read_form(star(MAX_PATTERNS)).patterns) == MAX_PATTERNS
    assert proven_solutions(store, star(MAX_PATTERNS), budget=10_000) == 1
    started = time.perf_counter()
    execute(store, QueryJob("", star(MAX_PATTERNS), "application/sparql-results+json", 10, MAX_BYTES))
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize("expression", [
    "FILTER(?o" + "&&1" * 1300 + ")",  # 187 ms
    "BIND(1" + "+1" * 1900 + " AS ?x)",  # `+1` reads as a signed number: counted as an operator all the same
    "FILTER(!1)" * 390,  # FILTERs are joined with && into one expression: 8 ms
], ids=["and chain", "sum of signed numbers", "many filters"])
def test_long_operator_chains_go_to_a_worker(store, expression):
    """Oxigraph's optimiser takes time quadratic in a chain of operators, whatever the solutions:
    `FILTER(?o&&1&&1…)` in the 4096 characters of a bounded query held a server thread for 187 ms
    with no solution at all, fifty times the slowest query the budget was measured to allow. A
    query with more than MAX_OPERATORS operators (and FILTERs, which the engine joins with &&)
    is not bounded; a chain of MAX_OPERATORS is answered in about a millisecond."""
    query = f"SELECT ?o WHERE {{ <{ACTION}> <http://example.org/absent> ?o {expression} }}"
    assert len(query) <= 4096 and read_form(query) is None
    chain = f"SELECT ?o WHERE {{ <{ACTION}> <http://example.org/absent> ?o FILTER(?o" + "&&1" * (MAX_OPERATORS - 1) + ") }"
    assert proven_solutions(store, chain, budget=10_000) == 1
    started = time.perf_counter()
    execute(store, QueryJob("", chain, "application/sparql-results+json", 10, MAX_BYTES))
    assert time.perf_counter() - started < 0.05




@pytest.mark.parametrize("binding", ["BIND(1 AS ?a{i})", "BIND(?o AS ?a{i})"], ids=["constants", "copies"])
def test_many_bound_variables_go_to_a_worker(binding):
    """Oxigraph plans the variables a query binds with AS (BIND, projected or grouped expressions)
    in time quadratic in their number, whatever the solutions: 290 BINDs in 4096 characters held
    a server thread for 4 ms, and 250 projected `(?o AS ?aN)` for 6 ms, for one solution (the
    slowest query the budget allows takes 2.5 ms). A query binding more than MAX_BINDINGS is not
    bounded."""
    def binds(n: int) -> str:
        return f"SELECT * WHERE {{ <{ACTION}> ?p ?o " + " ".join(binding.format(i=i) for i in range(n)) + " }"

    projected = "SELECT " + " ".join(f"(?o AS ?a{i})" for i in range(250)) + f" WHERE {{ <{ACTION}> ?p ?o }}"
    assert len(projected) <= 4096 and read_form(projected) is None
    assert read_form(binds(290)) is None and read_form(binds(MAX_BINDINGS + 1)) is None
    assert len(read_form(binds(MAX_BINDINGS)).patterns) == 1


def test_each_bound_variable_weighs_what_extending_a_solution_by_it_costs(store):
    """The engine extends each solution by each variable bound with AS at several times the cost of
    the expression's tokens: 64 `(STR(?o) AS ?aN)` over the 17 distributions of the Bari data held a
    server thread for 3.9–7.7 ms, proven at the default budget (10,000), where the slowest query it
    allowed otherwise takes 2.5–3.7 ms. Each binding adds BINDING_WEIGHT to the query's size: the
    wide projection goes to a worker, and a count, as queries write it, stays in the server."""
    wide = ("SELECT ?s " + " ".join(f"(STR(?o) AS ?a{i})" for i in range(64))
            + " WHERE { ?s <http://www.w3.org/ns/dcat#distribution> ?o }")
    assert read_form(wide) is not None and proven_solutions(store, wide, budget=10_000) is None
    count = PSM + "SELECT ?level (COUNT(?e) AS ?n) WHERE { ?e psm:level ?level } GROUP BY ?level"
    assert proven_solutions(store, count, budget=10_000) is not None
    plain, bound = read_form("SELECT ?o WHERE { ?s ?p ?o }"), read_form("SELECT (?o AS ?x) WHERE { ?s ?p ?o }")
    assert bound.size - plain.size == 4 + BINDING_WEIGHT  # its four tokens (`(`, `AS`, `?x`, `)`) and the binding


def test_a_case_change_inside_another_goes_to_a_worker():
    """UCASE and LCASE read their whole argument, at about 10 ns a character for some letters (`ΐ`,
    which UCASE also makes three), and a case change of a case change reads it all again, where the
    query weighs the constant once: UCASE twelve times over a constant of 240 bytes, for the 162
    labels of the Bari data, held a server thread for 8 ms (over a GROUP_CONCAT of it, 7.7 ms),
    three times the slowest query the budget allowed otherwise. A case change inside another's
    argument is not bounded; side by side, or around other calls, as queries write them, they are."""
    nested = '"' + "ΐ" * 120 + '"'
    for _ in range(12):
        nested = f"UCASE({nested})"
    assert read_form(PSM + f"SELECT (STRLEN({nested}) AS ?n) WHERE {{ ?s skos:prefLabel ?o }}") is None
    for expression in ("UCASE(LCASE(?o))", "LCASE(STR(UCASE(?o)))", "UCASE((LCASE(?o)))"):
        assert read_form(f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER({expression} != '') }}") is None, expression
    assert read_form(f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER ucase(lcase(?o)) }}") is None
    assert read_form(f"SELECT * WHERE {{ <{ACTION}> ?p ?o }} ORDER BY UCASE(LCASE(?o))") is None
    for light in (f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(CONTAINS(LCASE(STR(?o)), LCASE('x'))) }}",
                  f"SELECT * WHERE {{ <{ACTION}> ?p ?o }} ORDER BY UCASE(?o) LCASE(?o)",
                  f"SELECT (STRLEN(UCASE(GROUP_CONCAT(?o))) AS ?n) WHERE {{ <{ACTION}> ?p ?o }}"):
        assert read_form(light).patterns, light

def test_deeply_nested_expressions_go_to_a_worker():
    """Oxigraph parses, optimises and evaluates a nested expression recursively, up to 9 KB of the
    thread's stack a level: in a server thread of 2 MiB (glibc's default for threads under `ulimit
    -s unlimited`), `FILTER(ABS(ABS(…?o…)))` 250 levels deep, 1.4 KB of query proven to have one
    solution, overflowed the stack and the whole server process died (SIGSEGV); so did a template's
    blank nodes nested 930 deep. Parentheses and brackets nested deeper than MAX_DEPTH are not
    bounded; the deepest accepted expression, with MAX_OPERATORS operators besides, is answered in
    a thread of 256 KiB (in a child process: an overflow ends it)."""
    import subprocess
    import sys

    def nested(function: str, depth: int, prefix: str = "") -> str:  # depth counts FILTER's own parentheses
        return f"SELECT ?o WHERE {{ <{ACTION}> ?p ?o FILTER({prefix}{(function + '(') * (depth - 1)}?o{')' * (depth - 1)}) }}"

    assert read_form(nested("ABS", 250)) is None
    def blank_nodes(depth: int) -> str:  # `[ :p [ :p … 1 ] ]` in a template: 930 levels overflowed 2 MiB
        return f"PREFIX : <http://example.org/> CONSTRUCT {{ :s :p {'[:p' * depth} 1{']' * depth} }} WHERE {{ <{ACTION}> ?p ?o }}"

    assert read_form(blank_nodes(930)) is None and read_form(blank_nodes(MAX_DEPTH + 1)) is None
    assert read_form(blank_nodes(MAX_DEPTH)).patterns
    assert read_form(nested("COALESCE", MAX_DEPTH + 1)) is None and read_form(nested("", MAX_DEPTH + 1)) is None
    deepest = nested("COALESCE", MAX_DEPTH, "!" * (MAX_OPERATORS - 1))  # FILTER counts as one operator
    assert read_form(deepest).patterns
    run = f"""
import threading, pyoxigraph as ox
store = ox.Store()
store.add(ox.Quad(ox.NamedNode({ACTION!r}), ox.NamedNode("http://example.org/p"), ox.Literal("x")))
threading.stack_size(256 * 1024)
thread = threading.Thread(target=lambda: list(store.query({deepest!r})))
thread.start()
thread.join()
"""
    assert subprocess.run([sys.executable, "-c", run], timeout=60).returncode == 0

def test_a_graph_listed_twice_is_matched_once(store):
    """execute() takes each graph once, whoever builds the job: listed twice, the engine would
    match every triple twice and exceed the bound the proof passed on (QueryJob.at_most)."""
    query = PSM + "SELECT ?e ?l WHERE { ?e psm:level ?l }"
    once = QueryJob("", query, "application/sparql-results+json", 10000, MAX_BYTES, default_graphs=(PLAN,), at_most=10000)
    twice = QueryJob("", query, "application/sparql-results+json", 10000, MAX_BYTES, default_graphs=(PLAN, PLAN), at_most=10000)
    rows = json.loads(execute(store, once).body)["results"]["bindings"]
    assert len(rows) == in_named_graphs(store, None, ox.NamedNode(PSM_NS + "level")) > 10
    assert json.loads(execute(store, twice).body)["results"]["bindings"] == rows


def test_matches_are_counted_in_every_named_graph_up_to_the_cap():
    """Counted once per named graph holding them: as many as any dataset a query can name may
    hold (FROM <g0> FROM <g1> matches a triple twice in Oxigraph 0.5); the default graph, their
    merge, holds no more."""
    store = ox.Store()
    s, p, o = ox.NamedNode("http://a/s"), ox.NamedNode("http://a/p"), ox.NamedNode("http://a/o")
    for g in range(3):
        store.add(ox.Quad(s, p, o, ox.NamedNode(f"http://a/g{g}")))
        store.add(ox.Quad(ox.NamedNode(f"http://a/s{g}"), p, ox.Literal("x"), ox.NamedNode("http://a/g0")))
    merge_named_graphs(store)
    assert count_matches(store, Pattern("http://a/s", "http://a/p", o), 100) == 3
    assert count_matches(store, Pattern(None, "http://a/p", None), 100) == 6
    in_default = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://a/p> ?o }"
    in_two = "SELECT (COUNT(*) AS ?n) FROM <http://a/g0> FROM <http://a/g1> WHERE { ?s <http://a/p> ?o }"
    n_default, n_two = (int(next(iter(store.query(q)))[0].value) for q in (in_default, in_two))
    assert n_default == 4 and n_two <= 6  # the merge holds <s> <p> <o> once; both within the count
    assert count_matches(store, Pattern(None, None, None), 5) == 5
    assert count_matches(store, Pattern(None, None, ox.NamedNode("http://a/none")), 5) == 0
    with pytest.raises(ValueError):
        count_matches(store, Pattern("http://a/s> . ?x ?y ?z . <http://a", None, None), 5)


def test_in_process_answers_equal_worker_answers(store, built_dist):
    version = current_version(built_dist.dist_dir)
    pool = WorkerPool(1)
    try:
        for query in BOUNDED_FORM.values():
            for media in ("application/sparql-results+json", "text/csv", "text/turtle"):
                job = QueryJob(str(version.store_path), query, media, 10000, MAX_BYTES, base_iri=BASE + "/sparql")
                try:
                    inline = execute(store, job)
                except Exception as err:  # the same failure from both
                    inline = type(err).__name__
                try:
                    remote = pool.run(job, 10)
                except Exception as err:
                    remote = type(err).__name__
                assert inline == remote, query
    finally:
        pool.close()


def test_server_answers_the_same_with_and_without_the_inline_tier(built_dist):
    on = create_app(built_dist).test_client()
    off_app = create_app(built_dist.replace(sparql_inline_budget=0))
    off = off_app.test_client()
    try:
        for query in BOUNDED_FORM.values():
            a = on.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json, text/turtle"})
            b = off.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json, text/turtle"})
            assert (a.status_code, a.content_type) == (b.status_code, b.content_type), query
            if a.content_type.startswith("application/sparql-results+json"):  # Oxigraph's writer in-process: same JSON
                assert json.loads(a.data) == json.loads(b.data), query
            else:
                assert a.data == b.data, query
        bad = f"SELECT * WHERE {{ <{ACTION}> ?p ?o FILTER(?o > ) }}"
        assert on.get("/sparql", query_string={"query": bad}).status_code == 400
    finally:
        pool = off_app.extensions.get("pianold.sparql_pool")
        if pool:
            pool.close()


def test_queries_in_server_threads_are_no_more_than_the_workers(built_dist):
    """With every in-thread slot taken, a provably small query goes to a worker: SPARQL never
    holds more server threads than twice its workers plus the waiting ones."""
    app = create_app(built_dist.replace(sparql_workers=1))
    client = app.test_client()
    pool, inline = app.extensions["pianold.sparql_pool"], app.extensions["pianold.sparql_inline"]
    query, accept = BOUNDED_FORM["one resource"], {"Accept": "application/sparql-results+json"}
    try:
        first = client.get("/sparql", query_string={"query": query}, headers=accept)
        assert first.status_code == 200 and pool.pids() == []  # answered in the server thread
        assert inline.acquire(blocking=False)  # the only slot, as a query in another thread would hold it
        try:
            second = client.get("/sparql", query_string={"query": query + "\n# again"}, headers=accept)
        finally:
            inline.release()
        assert second.status_code == 200 and len(pool.pids()) == 1
        assert json.loads(second.data) == json.loads(first.data)
    finally:
        pool.close()


def test_a_query_over_many_listed_graphs_goes_to_a_worker(built_dist):
    """The engine looks each pattern up in every graph a request lists (default-graph-uri,
    named-graph-uri), which the match counts do not weigh: a bounded join over 2900 listed graphs
    (a 64 KiB form) held a server thread for 0.6 s on the Bari data. A request listing more than
    MAX_INLINE_GRAPHS graphs goes to a worker; one listing a plan's graph stays in the server."""
    app = create_app(built_dist.replace(sparql_workers=1))
    client = app.test_client()
    pool = app.extensions["pianold.sparql_pool"]
    query, accept = PSM + "SELECT ?e ?l WHERE { ?e psm:level ?l }", {"Accept": "application/sparql-results+json"}
    try:
        one = client.post("/sparql", data={"query": query, "default-graph-uri": [PLAN]}, headers=accept)
        assert one.status_code == 200 and pool.pids() == []  # answered in the server thread
        many = [PLAN] + [f"a:{i}" for i in range(MAX_INLINE_GRAPHS)]
        listed = client.post("/sparql", data={"query": query, "default-graph-uri": many}, headers=accept)
        assert listed.status_code == 200 and len(pool.pids()) == 1  # by a worker
        assert json.loads(listed.data) == json.loads(one.data)
    finally:
        pool.close()


MEMO: dict = {}  # shared across examples, as the server shares it across queries on one version


def _subjects(store) -> list[str]:
    return sorted({q.subject.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.subject, ox.NamedNode)})[:40]


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_query_called_bounded_never_exceeds_its_budget(store, data):
    """Soundness: whatever patterns are combined, a query the recognizer lets through to the server
    process yields at most the solutions it proved, and those, times its size (and their log2 when
    sorted), stay within the budget."""
    subjects = [f"<{s}>" for s in _subjects(store)] + ["?s{i}", "?e"]
    predicates = ["?p{i}", "<http://www.w3.org/2004/02/skos/core#prefLabel>", "a", "<http://www.w3.org/2004/02/skos/core#narrower>",
                  f"<{PSM_NS}level>"]
    n = data.draw(st.integers(1, 4))
    parts = []
    for i in range(n):
        s = data.draw(st.sampled_from(subjects)).format(i=i)
        p = data.draw(st.sampled_from(predicates)).format(i=i)
        parts.append(f"{s} {p} ?o{i} .")
    budget = data.draw(st.integers(1, 20000))
    extra = data.draw(st.sampled_from(["", 'FILTER(STRLEN(STR(?o0)) >= 0)', "BIND(LCASE(STR(?o0)) AS ?x)"]))
    order = data.draw(st.sampled_from(["", " ORDER BY ?o0"]))
    query = "SELECT * WHERE { " + " ".join(parts) + f" {extra} }}" + order
    form = read_form(query)
    assert form is not None
    proven = proven_solutions(store, query, budget)
    assert proven_solutions(store, query, budget, MEMO) == proven  # memoised counts decide alike
    if proven is not None:
        rows = json.loads(execute(store, QueryJob("", query, "application/sparql-results+json", 10 ** 6, MAX_BYTES)).body)
        found = len(rows["results"]["bindings"])
        assert found <= proven
        assert proven * form.size * (max(1, proven.bit_length()) if order else 1) <= budget


@pytest.mark.parametrize("query, limit", [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 10", 10),
    ("PREFIX x: <http://x/> SELECT * WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 5 OFFSET 2", 5),
    ("SELECT * WHERE { ?s ?p ?o } OFFSET 2 LIMIT 7 VALUES ?s { <http://a> }", 7),
    ("SELECT * WHERE { { SELECT * WHERE { ?s ?p ?o } LIMIT 3 } ?o ?q ?r }", None),  # a subquery's limit
    ('SELECT * WHERE { ?s ?p "LIMIT 3" } # LIMIT 3', None),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3", None),  # solutions, not triples
    ("ASK { ?s ?p ?o }", None),
    ("SELECT * WHERE { ?s ?p ?o }", None),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o<#> } LIMIT 1 {\n 100) }", None),  # the engine reads `#> } LIMIT 1 {` as a comment
    ("SELECT * WHERE { ?s ?p ?o FILTER(true || ?o<'>' || ?o = ' } LIMIT 1 { ' || 'xx<'>?o) }", None),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT \u00b2", None),  # a digit to str.isdigit, not to SPARQL
    ("SELECT * WHERE { ?s ?p ?o } ORDER BY (<urn:x\xa0LIMIT\xa05>)", None),  # one IRI to the engine
])
def test_solution_limit_is_the_top_level_limit_of_a_select(query, limit):
    assert solution_limit(query) == limit


@pytest.mark.parametrize("media", ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                                   "text/tab-separated-values"])
def test_results_known_to_be_small_are_written_by_oxigraph_with_the_same_content(store, media):
    """Oxigraph's own writer (for a proven bound under the row cap) and the capped writer agree."""
    formats = {"application/sparql-results+json": ox.QueryResultsFormat.JSON, "application/sparql-results+xml": ox.QueryResultsFormat.XML,
               "text/tab-separated-values": ox.QueryResultsFormat.TSV}
    query = PSM + "SELECT ?e ?l ?t WHERE { ?e psm:level ?l OPTIONAL { ?e skos:prefLabel ?t FILTER(lang(?t) = 'en') } } ORDER BY ?e LIMIT 20"
    capped = execute(store, QueryJob("", query, media, 10000, MAX_BYTES))
    native = execute(store, QueryJob("", query, media, 10000, MAX_BYTES, at_most=solution_limit(query)))
    assert capped.body != native.body or media != "application/sparql-results+json"  # really the other writer
    assert native.media_type == capped.media_type == media and not native.truncated

    def rows(body):
        if media == "text/csv":  # lossy by design: compare the cells
            return list(csv.reader(io.StringIO(body.decode())))[1:]
        parsed = ox.parse_query_results(body, formats[media])
        return [tuple(str(t) if t is not None else None for t in row) for row in parsed]

    assert len(rows(native.body)) == 20
    assert rows(native.body) == rows(capped.body)
    over_cap = execute(store, QueryJob("", query, media, 10, MAX_BYTES, at_most=20))  # a bound above the cap: capped writer
    assert over_cap.truncated and len(rows(over_cap.body)) == 10
