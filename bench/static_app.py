"""Baseline server for the benchmarks: Flask returning a fixed 2 KB body, under waitress."""

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
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]), ident="static")
