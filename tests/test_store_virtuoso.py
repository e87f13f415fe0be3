"""The remote backend against a real Virtuoso (Debian's virtuoso-opensource 7), loaded by `pianold
push` over its authenticated Graph Store Protocol endpoint, as docs/deployment.md tells a user to;
then pianold serving from it, compared with the embedded store."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.parse

import pytest
from rdflib import Graph
from rdflib.query import Result

from conftest import BASE, DATA, MAX_BYTES, require
from live import ISQL, VIRTUOSO, http, start_server, start_virtuoso

USER = "pianold"
OURS = {f"{BASE}/data/plan/bari-psm-2030", "https://w3id.org/pianold/onto/psm", f"{BASE}/catalog"}


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    """One private Virtuoso for the module, set up as the deployment guide says: a user with
    SPARQL_UPDATE rights for `pianold push`; always stopped."""
    require(shutil.which(VIRTUOSO) is not None and shutil.which(ISQL) is not None,
            "Virtuoso is not installed (apt-get install virtuoso-opensource: virtuoso-t and isql-vt)")
    server = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    try:
        password = secrets.token_urlsafe(12)
        server.isql(f"DB.DBA.USER_CREATE('{USER}', '{password}'); GRANT SPARQL_UPDATE TO \"{USER}\";")
        server.password = password
        yield server
    finally:
        server.stop()


def push(virtuoso, dist, *extra: str, password: str | None = None, user: str | None = USER, union: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIANOLD_")}
    env["PIANOLD_STORE_URL"] = virtuoso.url + "/sparql"
    if password is not None:
        env["PIANOLD_STORE_PASSWORD"] = password
    if user is not None:
        env["PIANOLD_STORE_USER"] = user
    return subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--base", BASE, "push",
                           "--gsp-url", virtuoso.url + "/sparql-graph-crud-auth", *(["--union-default-graph"] if union else []), *extra],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def virtuoso_server(virtuoso, built_dist, tmp_path_factory):
    """pianold serving the session's build from the Virtuoso it was pushed into."""
    run = push(virtuoso, built_dist.dist_dir, password=virtuoso.password)
    assert run.returncode == 0 and "3 named graphs (the default graph left to the store" in run.stdout, run.stdout + run.stderr
    folder = tmp_path_factory.mktemp("on-virtuoso")
    server = start_server(built_dist.dist_dir, DATA, BASE, folder / "server.log",
                          env={"PIANOLD_STORE_URL": virtuoso.url + "/sparql"})
    yield server
    server.stop()
    log = (folder / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log


def sparql(server, query: str, accept: str, **params):
    return http(server.url + "/sparql?" + urllib.parse.urlencode({"query": query, **params}), headers={"Accept": accept})


def test_push_without_the_password_is_a_clear_error(virtuoso, built_dist):
    """Virtuoso's Graph Store endpoint that writes asks for digest authentication."""
    run = push(virtuoso, built_dist.dist_dir)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "401" in run.stderr and "PIANOLD_STORE_PASSWORD" in run.stderr, run.stderr
    run = push(virtuoso, built_dist.dist_dir, password="not-the-password")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "401" in run.stderr and "store_user" in run.stderr and "not-the-password" not in run.stderr, run.stderr


def test_a_password_without_a_user_is_refused(virtuoso, built_dist):
    run = push(virtuoso, built_dist.dist_dir, password=virtuoso.password, user=None)
    assert run.returncode == 1 and "store_user" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_the_password_is_never_read_from_a_settings_file(tmp_path):
    from pianold.config import ConfigError, load_settings

    config = tmp_path / "pianold.toml"
    config.write_text('store_user = "pianold"\nstore_password = "secret"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="PIANOLD_STORE_PASSWORD") as refused:
        load_settings(config, env={})
    assert "secret" not in str(refused.value)
    config.write_text('store_user = "pianold"\n', encoding="utf-8")
    assert load_settings(config, env={}).store_user == "pianold"


def _store_asking(challenge: str, user: str, password: str):
    """A Graph Store endpoint on loopback answering 401 with `challenge` until a request carries
    basic credentials for `user`; (its URL, the requests' Authorization headers, a stop function)."""
    import base64
    import http.server
    import threading

    seen = []
    wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("Authorization"))
            ok = self.headers.get("Authorization") == wanted
            self.send_response(204 if ok else 401)
            if not ok:
                self.send_header("WWW-Authenticate", challenge)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop():
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}/store", seen, stop


def test_a_store_asking_for_basic_authentication_gets_it():
    """Stores behind a proxy (Fuseki, say) ask for basic authentication rather than digest."""
    from pianold.store.remote import push as push_graphs

    url, seen, stop = _store_asking('Basic realm="store"', "loader", "s3cret")
    try:
        push_graphs(url, {"urn:g": b"<urn:a> <urn:b> <urn:c> .\n"}, b"<urn:a> <urn:b> <urn:c> .\n", user="loader", password="s3cret")
        assert seen[0] is None and seen[1].startswith("Basic ") and len(seen) == 4  # each PUT: unauthenticated, then answered
    finally:
        stop()


def test_a_store_asking_for_an_unknown_scheme_is_a_clear_error():
    from pianold.store.base import StoreError
    from pianold.store.remote import push as push_graphs

    url, _, stop = _store_asking('Bearer realm="store"', "loader", "s3cret")
    try:
        with pytest.raises(StoreError, match="cannot authenticate to the store at .*Bearer"):
            push_graphs(url, {"urn:g": b"<urn:a> <urn:b> <urn:c> .\n"}, None, user="loader", password="s3cret")
    finally:
        stop()


def test_a_push_to_the_unauthenticated_endpoint_says_why_it_failed(virtuoso, built_dist):
    """Virtuoso's /sparql-graph-crud writes for nobody: its 403 page is an HTML page, whose message
    is what the user needs."""
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(built_dist.dist_dir), "--base", BASE, "push",
                          "--gsp-url", virtuoso.url + "/sparql-graph-crud"],
                         capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in os.environ.items() if not k.startswith("PIANOLD_")})
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert ": 403 " in run.stderr and "Permission denied" in run.stderr and "<" not in run.stderr.replace("<https", ""), run.stderr


def test_virtuoso_has_no_default_graph_to_write(virtuoso, virtuoso_server, built_dist):
    """Virtuoso's default graph is the union of all its graphs: its Graph Store endpoint refuses a
    PUT to `?default` (500), so a push that writes the merge there stops, saying what to do."""
    run = push(virtuoso, built_dist.dist_dir, password=virtuoso.password, union=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "the default graph: 500" in run.stderr and "not configured to have default graph" in run.stderr, run.stderr
    assert "--union-default-graph" in run.stderr and "<html" not in run.stderr.lower(), run.stderr


def test_push_loads_each_named_graph(virtuoso, virtuoso_server, live_server):
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    def counts(url):
        status, _, body = http(url + "?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
        assert status == 200, body
        return {g: int(n) for g, n in list(csv.reader(io.StringIO(body.decode())))[1:]}

    ours, theirs = counts(live_server.url + "/sparql"), counts(virtuoso.url + "/sparql")
    assert set(ours) == OURS and {g: theirs[g] for g in OURS} == ours


def test_a_push_removes_a_plan_no_longer_published_from_virtuoso(virtuoso, virtuoso_server, built_dist):
    """Deleting a graph goes through the same authentication as loading one."""
    from pianold.store.remote import _gsp, _opener, stored_graphs

    gone, gsp = f"{BASE}/data/plan/gone-psm", virtuoso.url + "/sparql-graph-crud-auth"
    _gsp(gsp, "PUT", {"graph": gone}, f'<{gone}> <urn:other:name> "old" .\n'.encode(), 30, _opener(gsp, USER, virtuoso.password), USER)
    assert gone in stored_graphs(virtuoso.url + "/sparql")
    run = push(virtuoso, built_dist.dist_dir, password=virtuoso.password)
    assert run.returncode == 0 and "1 no longer published removed" in run.stdout, run.stdout + run.stderr
    assert gone not in stored_graphs(virtuoso.url + "/sparql")
