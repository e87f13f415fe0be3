"""Build at scale: a generated plan folder (plan.toml + wpDataTables CSVs, as a plan office would
write them) of ~100k and ~1M triples through the whole `pianold build` (readers, model, SHACL,
dumps, catalogue, store), then `pianold serve` on the built store until its first 200.

    python bench/build_scale.py --sizes 100000,1000000

Prints build time, peak memory (max RSS of the build process), time to the first 200 and the
growth of build time per 10× data. Targets: peak ≤ 2 GB at 1M, first 200 ≤ 2 s, 10× data ≤ 12×
build time. Loopback only; each step is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, save  # noqa: E402

WORDS = ("sviluppo rete servizi abitare inclusione mobilità sostenibile territorio comunità cultura turismo "
         "innovazione digitale lavoro scuola ambiente energia acqua mare porto periferie centri storici "
         "agricoltura paesaggio salute welfare casa giovani imprese ricerca").split()
TRIPLES_PER_ELEMENT = 13  # measured: triples per element of the generated plans
AXES = 20  # about; one table each, well under the readers' 5 MB limit


def write_plan(folder: Path, triples: int, seed: int = 11) -> int:
    """A plan folder of about `triples` triples; returns the number of actions."""
    rnd = random.Random(seed)
    elements = max(-(-triples // TRIPLES_PER_ELEMENT), 40)
    fan = max(2, round((elements / AXES) ** (1 / 3)))  # objectives per axis = specific per objective = actions per specific
    axes = -(-elements // (fan + fan ** 2 + fan ** 3))  # enough axes to reach the size asked for, not fewer
    folder.mkdir(parents=True)
    (folder / "sources").mkdir()
    text = lambda n: " ".join(rnd.choice(WORDS) for _ in range(n)).capitalize()  # noqa: E731
    toml = [f'id = "scala-{triples}"', f'title = "Piano di scala {triples}"', 'description = "Piano generato per misurare la build."',
            'source = "https://example.org/piano"', 'license = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"',
            "", "[publisher]", 'name = "Città metropolitana di Prova"', 'ipa = "cmprova"', 'email = "piano@example.org"',
            "", "[territory]", 'province = "001"', "", "[period]", "start = 2021-01-01", "end = 2030-12-31", ""]
    levels = [("axis", "Asse", "Axis", None, r"^[1-9][0-9]*$"),
              ("objective", "Obiettivo", "Objective", "Obiettivo", r"^[1-9][0-9]*\.[1-9][0-9]*$"),
              ("specific-objective", "Obiettivo specifico", "SpecificObjective", "Obiettivo Specifico", r"^[1-9][0-9]*\.[1-9][0-9]*\.[1-9][0-9]*$"),
              ("action", "Azione", "Action", "Azioni", r"^[1-9][0-9]*\.[1-9][0-9]*\.[1-9][0-9]*\.[1-9][0-9]*$")]
    for key, name, cls, column, pattern in levels:
        toml += ["[[levels]]", f'key = "{key}"', f'name = "{name}"', f'class = "{cls}"', f"pattern = '{pattern}'"]
        if column:
            toml.append(f'column = "{column}"')
        toml.append("")
    actions = 0
    for a in range(1, axes + 1):
        toml += ["[[axes]]", f'code = "{a}"', f'title = "{text(4)} {a}"', ""]
        toml += ["[[tables]]", f'axis = "{a}"', f'file = "sources/asse-{a}.csv"', 'format = "wdt-csv"', ""]
        with open(folder / "sources" / f"asse-{a}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["wdt_ID", "Obiettivo", "Obiettivo Specifico", "Azioni", "Link"])
            row = 0
            for o in range(1, fan + 1):
                objective = f"{text(6)} ({a}.{o})"
                for s in range(1, fan + 1):
                    specific = f"{text(8)} ({a}.{o}.{s})"
                    for x in range(1, fan + 1):
                        row += 1
                        actions += 1
                        writer.writerow([row, objective, specific, f"{a}.{o}.{s}.{x} {text(9)}", ""])
    (folder / "plan.toml").write_text("\n".join(toml), encoding="utf-8")
    return actions


def build(data: Path, dist: Path, timeout: float) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, triples) of `pianold build` in a fresh process."""
    script = ("import json, resource, sys; from pathlib import Path; from pianold.config import load_settings;"
              "from pianold.publish import build; v = build(load_settings(env={}, data_dir=Path(sys.argv[1]), dist_dir=Path(sys.argv[2])));"
              "print(json.dumps({'triples': sum(p['triples'] for p in v.manifest['plans']),"
              " 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", script, str(data), str(dist)], capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"build failed:\n{run.stderr[-3000:]}")
    import json

    result = json.loads(run.stdout.strip().splitlines()[-1])
    return seconds, result["rss"] / 1024, result["triples"]


def first_200(data: Path, dist: Path, timeout: float = 120) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pianold", "--data", str(data), "--dist", str(dist), "serve",
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        raise SystemExit(f"no 200 within {timeout} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--timeout", type=float, default=3600, help="per build, seconds")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pianold-scale-") as tmp:
        for size in sizes:
            data = Path(tmp) / f"data-{size}"
            actions = write_plan(data / "plan", size)
            dist = Path(tmp) / f"dist-{size}"
            seconds, peak_mb, triples = build(data, dist, args.timeout)
            ready = first_200(data, dist)
            rows.append({"target_triples": size, "triples": triples, "actions": actions, "build_s": round(seconds, 1),
                         "peak_mb": round(peak_mb), "first_200_s": round(ready, 2)})
            print(f"{triples:>9} triples ({actions} actions): build {seconds:7.1f} s, peak {peak_mb:6.0f} MB, "
                  f"first 200 after start {ready:.2f} s", flush=True)
    for small, big in zip(rows, rows[1:]):
        data_ratio = big["triples"] / small["triples"]
        time_ratio = big["build_s"] / small["build_s"]
        print(f"{small['triples']} → {big['triples']}: {data_ratio:.1f}× data, {time_ratio:.1f}× build time "
              f"(target ≤ {1.2 * data_ratio:.1f}×)")
    save("build_scale", {"rows": rows})


if __name__ == "__main__":
    main()
