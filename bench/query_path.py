"""Where a cold query's time goes on the way through pianold, against the engine's own time,
measured in the same run: why "≥ 0.8× Oxigraph's server" is out of reach for queries that go to
a worker, and what the worker round trip costs.

    python bench/query_path.py [--sizes bari,100000] [--runs 100]

For each dataset and each query of bench/sparql.py, with pauses of 0, 3 and 20 ms between runs
(a server waiting for its next request sleeps; on a shared machine code runs slower after a
sleep), it times: the query answered in process (workers.execute: the engine and its writer), the
same query through a query worker (WorkerPool.run: pipe, worker, pipe) and the static app's whole
HTTP request under waitress (the floor of any Python web answer). It prints each as a ratio to
the in-process time. Loopback only; bounded by --runs."""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import running, save, static_app_args  # noqa: E402
from sparql import QUERIES, datasets  # noqa: E402

import pyoxigraph as ox  # noqa: E402

from pianold.store.workers import QueryJob, WorkerPool, execute  # noqa: E402

PAUSES = (0.0, 0.003, 0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="bari,100000")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-path-"))
    report = {}
    pool = WorkerPool(1, wait_seconds=60)
    try:
        with running(static_app_args(2)) as static_url:
            static = http.client.HTTPConnection(static_url.split("//")[1], timeout=30)

            def static_request() -> None:
                static.request("GET", "/", headers={"Accept": "application/sparql-results+json"})
                static.getresponse().read()

            for name, dist, _, action in datasets(args.sizes.split(","), work):
                path = str((dist / "current").resolve() / "store")
                store = ox.Store.read_only(path)
                rows = []
                for qname, template in QUERIES.items():
                    query = template.replace("{action}", action)
                    serial = iter(range(10 ** 9))

                    def job() -> QueryJob:  # a new text each time, as the cold benchmark sends
                        return QueryJob(path, f"{query}\n# {next(serial)}", "application/sparql-results+json", 10_000, 32 << 20)

                    pool.run(job(), 60)  # the worker opens the store once
                    for pause in PAUSES:
                        times = {"in process": [], "worker": [], "static HTTP": []}
                        for _ in range(args.runs):
                            for kind, run in (("in process", lambda: execute(store, job())),
                                              ("worker", lambda: pool.run(job(), 60)), ("static HTTP", static_request)):
                                time.sleep(pause)
                                began = time.perf_counter()
                                run()
                                times[kind].append(time.perf_counter() - began)
                        medians = {kind: statistics.median(t) for kind, t in times.items()}
                        rows.append((qname, pause, medians))
                report[name] = [{"query": q, "pause_ms": p * 1000, **{k: v * 1e6 for k, v in m.items()}} for q, p, m in rows]
                print(f"\n{name}: medians of {args.runs} runs, as ratios to the query answered in process")
                print(f"{'query':<30} {'pause':>6} {'in process':>11} {'worker':>8} {'static HTTP':>12}")
                for qname, pause, m in rows:
                    base = m["in process"]
                    print(f"{qname:<30} {pause * 1000:>4.0f}ms {base * 1e6:>9.0f}us {m['worker'] / base:>7.2f}x "
                          f"{m['static HTTP'] / base:>11.2f}x")
            static.close()
        print("\nA query sent to a worker costs the 'worker' ratio; every answer over HTTP costs at least the static "
              "app's request on top of its query. Oxigraph's server answers in about the in-process time plus its "
              "own (Rust) HTTP cost, so pianold reaches 0.8x of it only where in process + static HTTP + its own "
              "checks stay under 1.25x of that.")
        save("query_path", {"datasets": report})
    finally:
        pool.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
