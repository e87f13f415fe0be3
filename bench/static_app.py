"""Baseline server for the benchmarks: Flask returning a fixed 2 KB body, under waitress with
the options `pianold serve` uses."""

import sys

import waitress
from flask import Flask

BODY = ("x" * 2047 + "\n").encode()
app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def static_body(path):
    return app.response_class(BODY, content_type="text/plain; charset=utf-8")


if __name__ == "__main__":
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # queue depth under load is expected
    from pianold.config import load_settings
    from pianold.serve import waitress_options

    options = waitress_options(load_settings(env={}, port=int(sys.argv[1]), workers=int(sys.argv[2])))
    waitress.serve(app, ident="static", **options)
