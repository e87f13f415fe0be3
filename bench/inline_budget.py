"""What a larger `sparql_inline_budget` costs: the slowest query the bound proof then lets run in a
server thread, where it cannot be stopped, against the worker round trip it saves.

    python bench/inline_budget.py [--sizes bari,100000] [--budgets 10000,50000,150000]
    python bench/inline_budget.py --dist dist --budgets 10000,50000      # a deployment's own data

For each dataset (the built Bari plan, synthetic plans from bench/synthetic.py) and each budget,
it tries heavy query shapes (sorts, wide projections, long constants, self-joins, aggregates,
CONSTRUCT) on every predicate of the data, keeps those that store/bounded.py accepts at that
budget, runs each as the server runs an accepted query (workers.execute in process, with the
proven bound, so Oxigraph's writer under the row cap and the capped writer above it; the
endpoint's base IRI) and reports the slowest, each query timed as the median of three runs. The baseline, measured in the same run, is the round trip to a query worker that an
accepted query skips (a worker's answer to `ASK {}` less the same answer in process). An operator
raising the budget on their own data reads here how long a server thread may then be held by a
query the time limit cannot reach. Loopback only; bounded by the shapes and predicates."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save  # noqa: E402
from sparql import datasets  # noqa: E402

import pyoxigraph as ox  # noqa: E402

from pianold.config import Settings, load_settings  # noqa: E402
from pianold.store.bounded import MAX_PATTERNS, MAX_TOKEN_CHARS, proven_solutions  # noqa: E402
from pianold.store.workers import QueryFailed, QueryJob, WorkerPool, execute  # noqa: E402
from pianold.web.sparql_protocol import PATH  # noqa: E402

SHAPES = (
    "SELECT * WHERE {{ ?s {p} ?o }}",
    "SELECT * WHERE {{ ?s {p} ?o }} ORDER BY DESC(STR(?o))",
    "SELECT (GROUP_CONCAT(UCASE(STR(?o))) AS ?g) WHERE {{ ?s {p} ?o }}",
    "SELECT ?o (COUNT(*) AS ?n) WHERE {{ ?s {p} ?o }} GROUP BY ?o ORDER BY ?o",
    "SELECT DISTINCT (LCASE(STR(?o)) AS ?l) WHERE {{ ?s {p} ?o }} ORDER BY ?l",
    "SELECT * WHERE {{ ?s {p} ?o . ?s ?q ?r }}",
    "SELECT * WHERE {{ ?s {p} ?o . ?x {p} ?o }} ORDER BY ?x",
    "SELECT (COUNT(DISTINCT CONCAT(STR(?s), STR(?o))) AS ?n) WHERE {{ ?s {p} ?o }}",
    "CONSTRUCT {{ ?s <urn:x> ?o . ?o <urn:y> ?s }} WHERE {{ ?s {p} ?o }}",
    # as many patterns as the proof accepts: Oxigraph's planning grows as their number to the fourth
    "SELECT * WHERE {{ ?s " + " ; ".join(f"{{p}} ?o{i}" for i in range(MAX_PATTERNS)) + " }}",
    # constants as long as a token may be (bounded.MAX_TOKEN_CHARS), repeated in every solution
    'SELECT ?s (UCASE("{long}") AS ?a) (LCASE("{long}") AS ?b) (STR("{long}") AS ?c) WHERE {{ ?s {p} ?o }}',
    "PREFIX x: <http://example.org/{long}> SELECT ?o (STR(x:a) AS ?a) (STR(x:b) AS ?b) WHERE {{ ?s {p} ?o }} ORDER BY ?o",
    # the limits the proof sets on shapes whose cost the match counts do not show (bounded.py's docstring):
    # a wide CONSTRUCT template, written triple by triple for each solution by the Python writer,
    "CONSTRUCT {{ " + " ".join(f"?s <urn:t{i}> ?o ." for i in range(24)) + " }} WHERE {{ ?s {p} ?o }}",
    # as many variables bound with AS as it accepts (the engine plans them in quadratic time),
    "SELECT ?s " + " ".join(f"(STR(?o) AS ?a{i})" for i in range(64)) + " WHERE {{ ?s {p} ?o }}",
    # and expressions nested as deep as it accepts (the engine recurses once per level)
    "SELECT * WHERE {{ ?s {p} ?o FILTER(" + "ABS(" * 14 + "STRLEN(STR(?o))" + ")" * 14 + " >= 0) }}",
)
LONG = "\u0390" * (MAX_TOKEN_CHARS - 30)  # two bytes each in UTF-8


def round_trip(store, store_path: str, settings: Settings, samples: int = 200) -> float:
    """Seconds a worker adds to a query: its answer to `ASK {}` less the same answer in process."""
    job = QueryJob(store_path, "ASK {}", "application/sparql-results+json", settings.sparql_max_rows,
                   settings.sparql_max_answer_bytes)
    pool = WorkerPool(1)
    try:
        pool.run(job, settings.sparql_timeout)  # the worker boots and opens the store
        inline, worker = [], []
        for _ in range(samples):
            began = time.perf_counter()
            execute(store, job)
            inline.append(time.perf_counter() - began)
            began = time.perf_counter()
            pool.run(job, settings.sparql_timeout)
            worker.append(time.perf_counter() - began)
    finally:
        pool.close()
    return statistics.median(worker) - statistics.median(inline)


def slowest(store, store_path: str, predicates: list, budget: int, settings: Settings) -> dict:
    """The slowest accepted query at this budget (and how many were accepted)."""
    worst = {"seconds": 0.0, "query": None, "bytes": 0}
    accepted = 0
    for predicate in predicates:
        for shape in SHAPES:
            query = shape.format(p=str(predicate), long=LONG)
            at_most = proven_solutions(store, query, budget)
            if at_most is None:
                continue
            accepted += 1
            media = "text/turtle" if "CONSTRUCT" in query[:12] else "application/sparql-results+json"
            job = QueryJob(store_path, query, media, settings.sparql_max_rows, settings.sparql_max_answer_bytes,
                           base_iri=settings.base + PATH, at_most=at_most)  # as the server runs an accepted query
            runs = []
            for _ in range(3):
                began = time.perf_counter()
                try:
                    body = execute(store, job).body
                except QueryFailed as err:  # e.g. an answer over the size cap: stopped, as the server stops it
                    body = str(err).encode()
                runs.append(time.perf_counter() - began)
            spent = statistics.median(runs)
            if spent > worst["seconds"]:
                worst = {"seconds": spent, "query": query, "bytes": len(body)}
    return {"accepted": accepted, **worst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="bari,100000")
    parser.add_argument("--budgets", default="10000,50000,150000")
    parser.add_argument("--dist", type=Path, help="measure this built dist folder's published version instead of --sizes")
    args = parser.parse_args()
    settings = load_settings()  # the deployment's row cap, answer cap and base, as `pianold serve` reads them
    budgets = [int(b) for b in args.budgets.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    report = {}
    try:
        sources = [(str(args.dist), args.dist, None, None)] if args.dist else datasets(args.sizes.split(","), work)
        for name, dist, _nq, _action in sources:
            store_path = os.path.realpath(dist / "current" / "store")
            store = ox.Store.read_only(store_path)
            predicates = [row[0] for row in store.query("SELECT DISTINCT ?p WHERE { GRAPH ?g { ?s ?p ?o } }")]
            saved = round_trip(store, store_path, settings)
            print(f"\n{name}: the worker round trip an in-process query skips: {saved * 1e6:.0f} µs (the baseline)")
            print(f"{'budget':>8} {'accepted':>8} {'slowest':>9} {'/ round trip':>12}  slowest query (answer bytes)")
            rows = []
            for budget in budgets:
                found = slowest(store, store_path, predicates, budget, settings)
                rows.append({"budget": budget, "round_trip_seconds": saved, **found})
                print(f"{budget:>8} {found['accepted']:>8} {found['seconds'] * 1e3:>7.1f}ms {found['seconds'] / saved:>11.0f}x  "
                      f"{(found['query'] or '-')[:110]} ({found['bytes']:,})")
            report[name] = rows
        save("inline_budget", {"datasets": report})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
