"""Dereference throughput as a ratio to a static 2 KB Flask app under the same server and threads.

    python bench/deref.py [--seconds 5] [--threads 4] [--connections 16]

Loopback only; every load run is bounded in time. Cases: 303 redirects, documents in Turtle,
JSON-LD and HTML (served from the per-version document cache after the first request), and
conditional GETs answered 304. Targets (issue #4): >= 0.9x for dereference, >= 1.0x for 304s."""

from __future__ import annotations

import argparse
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, load, print_table, running, save, static_app_args  # noqa: E402

DOC = "/data/plan/bari-psm-2030/action/5.1.1.a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4, help="WSGI server threads, the same for both apps")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    dist = Path(tempfile.mkdtemp(prefix="bench-deref-"))
    pianold = [sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(ROOT / "data"), "serve",
               "--port", "{port}", "--workers", str(args.threads)]
    results = {}
    with running(static_app_args(args.threads)) as static_url, running(pianold) as url:
        etags = {}
        for ext in ("ttl", "jsonld", "html"):
            with urllib.request.urlopen(f"{url}{DOC}.{ext}") as r:  # warm the document cache
                etags[ext] = r.headers["ETag"]
        cases = [
            ("static 2 KB baseline", static_url + "/", {}),
            ("303 redirect (Accept: text/turtle)", url + DOC, {"Accept": "text/turtle"}),
            ("Turtle document", f"{url}{DOC}.ttl", {}),
            ("JSON-LD document", f"{url}{DOC}.jsonld", {}),
            ("HTML page", f"{url}{DOC}.html", {}),
            ("304 Turtle (If-None-Match)", f"{url}{DOC}.ttl", {"If-None-Match": etags["ttl"]}),
            ("304 HTML (If-None-Match)", f"{url}{DOC}.html", {"If-None-Match": etags["html"]}),
        ]
        for name, target_url, headers in cases:
            results[name] = load(target_url, args.seconds, args.connections, headers=headers)
        results["static 2 KB baseline (again)"] = load(static_url + "/", args.seconds, args.connections)
    baseline = (results["static 2 KB baseline"]["rps"] + results["static 2 KB baseline (again)"]["rps"]) / 2
    rows = [(name, r["rps"], baseline, ">= 1.0x" if name.startswith("304") else (">= 0.9x" if "baseline" not in name else "-"))
            for name, r in results.items()]
    print_table(f"Dereference vs static 2 KB Flask app (waitress, {args.threads} threads, {args.connections} connections, "
                f"{args.seconds:.0f} s per case)", rows)
    failures = {n: r for n, r in results.items() if r["non_2xx_3xx"] and "304" not in n}
    if failures:
        print("non-2xx/3xx answers:", failures)
    save("deref", {"threads": args.threads, "connections": args.connections, "results": results})


if __name__ == "__main__":
    main()
