"""Serve an existing dist folder with pianold's app as `pianold serve` does, without building (benchmarks)."""

import sys
from pathlib import Path

from pianold.config import load_settings
from pianold.serve import configure_logging, serve_app
from pianold.web import create_app

if __name__ == "__main__":
    configure_logging()  # the access log included
    dist, port, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    settings = load_settings(env={}, dist_dir=dist, port=port, workers=threads, sparql_workers=2)
    serve_app(create_app(settings), settings)
