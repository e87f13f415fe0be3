"""Serve an existing dist folder with pianold's app under waitress, without building (benchmarks)."""

import logging
import sys
from pathlib import Path

import waitress

from pianold.config import load_settings
from pianold.web import create_app
from pianold.web.sparql_protocol import start_workers

if __name__ == "__main__":
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    dist, port, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    app = create_app(load_settings(env={}, dist_dir=dist, sparql_workers=2))
    start_workers(app)  # as `pianold serve` does
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, ident="pianold")
