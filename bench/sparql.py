"""SPARQL endpoint throughput as ratios to baselines measured in the same run.

    python bench/sparql.py [--sizes bari,100000,1000000] [--seconds 4]

For each dataset (the built Bari plan, and synthetic plans from bench/synthetic.py) and each query
(light SELECT on one resource, a join with FILTER regex, skos:broader+, a GROUP BY), it measures:
- repeated: the identical query under load (wrk, 16 connections) after one warm-up request, so
  pianold answers from its versioned cache; only 2xx answers count; the static app's load is
  measured right before it, as the machine's load drifts over a run;
- cold: distinct queries one after another (a comment makes each text new), so every one runs,
  sent to every server in turn (static app included) so that all run under the same conditions;
against (a) a static Flask app returning a fixed 2 KB body under the same server and threads,
(b) `oxigraph serve-read-only` on the same data, (c) `rdflib-endpoint` (only up to 100k triples:
loading 1M triples into rdflib's memory store takes minutes). Loopback only, bounded in time."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, load, running, save, static_app_args  # noqa: E402
from synthetic import generate  # noqa: E402

from pianold.store.oxigraph import merge_named_graphs  # noqa: E402

PREFIX = "PREFIX psm: <https://w3id.org/pianold/onto/psm/> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
QUERIES = {
    "light SELECT (one resource)": PREFIX + "SELECT ?p ?o WHERE { <{action}> ?p ?o }",
    "join + FILTER regex": PREFIX + 'SELECT ?a ?t ?pt WHERE { ?a a psm:Action ; skos:prefLabel ?t ; skos:broader ?p . ?p skos:prefLabel ?pt FILTER(regex(?t, "casa|abitare|mare", "i")) } LIMIT 100',
    "skos:broader+": PREFIX + "SELECT (COUNT(*) AS ?n) WHERE { ?a a psm:Action ; skos:broader+ ?axis . ?axis a psm:Axis }",
    "GROUP BY": PREFIX + "SELECT ?level (COUNT(?e) AS ?n) WHERE { ?e psm:level ?level } GROUP BY ?level",
}


def make_dist(nquads: Path, folder: Path) -> Path:
    """A dist folder holding one version with an Oxigraph store of `nquads` (no build)."""
    import pyoxigraph as ox

    version = folder / "versions" / "bench"
    version.mkdir(parents=True)
    store = ox.Store(str(version / "store"))
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    merge_named_graphs(store)  # as `pianold build` does
    store.flush()
    del store
    (version / "manifest.json").write_text(json.dumps({"version": "bench", "built": "2026-01-01T00:00:00+00:00",
                                                       "base": "https://w3id.org/pianold", "plans": [], "files": {}}))
    os.symlink("versions/bench", folder / "current")
    return folder


def datasets(sizes: list[str], work: Path):
    for size in sizes:
        if size == "bari":
            dist = work / "bari"
            subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "build"], check=True, capture_output=True)
            nq = dist / "current" / "all.nq"
            action = "https://w3id.org/pianold/data/plan/bari-psm-2030/action/5.1.1.a"
            with open(nq, "rb") as fh:
                count = sum(1 for _ in fh)
            yield f"Bari ({count:,} triples)", dist, nq, action
        else:
            n = int(size)
            nq = work / f"synthetic-{n}.nq"
            with open(nq, "w", encoding="utf-8") as fh:
                for line in generate(n):
                    fh.write(line + "\n")
            dist = make_dist(nq, work / f"dist-{n}")
            action = "https://w3id.org/pianold/data/plan/synthetic/action/1.1.1.a"
            yield f"synthetic {n:,} triples", dist, nq, action


def cold(endpoints: dict[str, tuple[str, dict]], query: str, seconds: float, limit: int = 300) -> dict[str, float | None]:
    """Distinct queries (a comment makes each text new) sent to every endpoint in turn, one at a
    time, so that all of them run under the same conditions on this noisy machine: queries per
    second of each endpoint's own answering time, or None when it stopped the query (pianold's
    time limit answers 503). An endpoint leaves the rotation once it has had `seconds` or `limit`
    queries, so a slow one does not starve the others of samples. One unmeasured warm-up round
    first. endpoints: name -> (URL, extra query parameters)."""
    conns, spent, done = {}, {}, {}
    for name, (url, _) in endpoints.items():
        parts = urllib.parse.urlsplit(url)
        conns[name] = (http.client.HTTPConnection(parts.hostname, parts.port, timeout=300), parts.path)
        spent[name], done[name] = 0.0, 0
    stopped: set[str] = set()

    def ask(name: str) -> float:
        conn, path = conns[name]
        fields = {"query": f"{query}\n# {time.monotonic_ns()}", **endpoints[name][1]}
        began = time.perf_counter()
        conn.request("GET", path + "?" + urllib.parse.urlencode(fields), headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        response.read()
        if response.status in (503, 504):
            stopped.add(name)
        elif response.status != 200:
            raise RuntimeError(f"{endpoints[name][0]} answered {response.status}")
        return time.perf_counter() - began

    for name in endpoints:
        ask(name)
    while active := [n for n in endpoints if n not in stopped and spent[n] < seconds and done[n] < limit]:
        for name in active:
            spent[name] += ask(name)
            done[name] += 1
    return {name: None if name in stopped else done[name] / spent[name] for name in endpoints}


def repeated(url: str, seconds: float, accept: dict) -> float:
    """The identical query under load, after one warm-up request (pianold then answers from its cache)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=accept), timeout=120) as warm:
        warm.read()
    return load(url, seconds, headers=accept)["rps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="bari,100000,1000000")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sparql-"))
    report = {}
    try:
        with running(static_app_args(args.threads)) as static_url:
            for name, dist, nq, action in datasets(args.sizes.split(","), work):
                ox_dir = work / f"ox-{dist.name}"
                subprocess.run(["oxigraph", "load", "--location", str(ox_dir), "--file", str(nq)], check=True, capture_output=True)
                pianold = [sys.executable, str(ROOT / "bench/serve_dist.py"), str(dist), "{port}", str(args.threads)]
                oxigraph = ["oxigraph", "serve-read-only", "--location", str(ox_dir), "--bind", "127.0.0.1:{port}", "--union-default-graph"]
                rdflib_ep = ["rdflib-endpoint", "serve", "--host", "127.0.0.1", "--port", "{port}", str(nq)]
                use_rdflib = shutil.which("rdflib-endpoint") and nq.stat().st_size < 30_000_000
                rows = []
                with running(pianold, "/sparql?query=ASK%7B%7D") as p_url, running(oxigraph, "/query?query=ASK%7B%7D") as o_url:
                    r_ctx = running(rdflib_ep, "/?query=ASK%7B%7D", timeout=300) if use_rdflib else None
                    try:
                        r_url = r_ctx.__enter__() if r_ctx else None
                    except RuntimeError as err:  # rdflib-endpoint did not come up: report without it
                        print(f"rdflib-endpoint skipped: {err}")
                        r_ctx = r_url = None
                    try:
                        for qname, template in QUERIES.items():
                            query = template.replace("{action}", action)
                            enc = urllib.parse.urlencode({"query": query})
                            accept = {"Accept": "application/sparql-results+json"}
                            # cold first: a load phase leaves queued work behind on every server
                            endpoints = {"static": (static_url + "/", {}), "pianold": (p_url + "/sparql", {}),
                                         "oxigraph": (o_url + "/query", {"union-default-graph": ""})}
                            if r_url:
                                endpoints["rdflib"] = (r_url + "/", {})  # its endpoint is at /
                            c = cold(endpoints, query, args.seconds)
                            p_cold, o_cold, r_cold, static_cold = c["pianold"], c["oxigraph"], c.get("rdflib"), c["static"]
                            static_rep = load(static_url + "/", args.seconds)["rps"]
                            p_rep = repeated(f"{p_url}/sparql?{enc}", args.seconds, accept)
                            o_rep = repeated(f"{o_url}/query?{enc}&union-default-graph", args.seconds, accept)
                            r_rep = repeated(f"{r_url}/?{enc}", args.seconds, accept) if r_url else None
                            rows.append((qname, p_rep, o_rep, r_rep, p_cold, o_cold, r_cold, static_cold, static_rep))
                    finally:
                        if r_ctx:
                            r_ctx.__exit__(None, None, None)
                report[name] = rows
                print(f"\n{name}  (repeated: ratios to the static 2 KB app's load measured just before; cold: interleaved)")
                print(f"{'query':<30} {'rep/static':>10} {'rep/oxi':>8} {'rep/rdflib':>10} {'cold/static':>11} {'cold/oxi':>9} {'cold/rdflib':>11}")
                for qname, p_rep, o_rep, r_rep, p_cold, o_cold, r_cold, static_cold, static_rep in rows:
                    fmt = lambda a, b: "stopped" if a is None else f"{a / b:.2f}x" if b else "-"  # noqa: E731
                    print(f"{qname:<30} {fmt(p_rep, static_rep):>10} {fmt(p_rep, o_rep):>8} {fmt(p_rep, r_rep):>10} "
                          f"{fmt(p_cold, static_cold):>11} {fmt(p_cold, o_cold):>9} {fmt(p_cold, r_cold):>11}")
        print("\nTargets: light SELECT >= 0.7x static (>= 4x rdflib-endpoint); regex join, broader+, GROUP BY >= 0.8x "
              "Oxigraph and >= 10x rdflib-endpoint; repeated queries >= 0.9x static.")
        save("sparql", {"datasets": report})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
