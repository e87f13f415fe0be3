"""Every benchmark in one command, loopback only, each bounded, each printing ratios to baselines
measured in the same run:

    python bench/run_all.py            # deref, SPARQL (Bari + 100k), inline budget, build scale (100k, 1M)
    python bench/run_all.py --quick    # shorter runs, build scale up to 100k

Results also land in bench/results/*.json."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = "1" if args.quick else "3"
    runs = [
        ["deref.py", "--seconds", seconds],
        ["sparql.py", "--sizes", "bari" if args.quick else "bari,100000", "--seconds", "1" if args.quick else "2"],
        ["inline_budget.py", "--sizes", "bari" if args.quick else "bari,100000"],
        ["build_scale.py", "--sizes", "10000,100000" if args.quick else "100000,1000000"],
    ]
    failed = []
    for script, *options in runs:
        print(f"\n=== {script} {' '.join(options)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *options], timeout=5400).returncode != 0:
            failed.append(script)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
