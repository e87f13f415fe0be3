"""The remote backend against a real Oxigraph server, loaded by `pianold push`; its failures."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BASE, DATA, require
from live import QuietHandler, free_port, http, serve_loopback, start_server



def _start_oxigraph(folder):
    """An empty `oxigraph serve` on loopback: (its URL, its process)."""
    require(shutil.which("oxigraph") is not None, "the `oxigraph` server is not installed (pip install oxigraph)")
    for attempt in range(5):  # free_port() releases its port: another process may take it before oxigraph binds it
        port = free_port()
        process = subprocess.Popen(["oxigraph", "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while process.poll() is None:  # poll until it answers; one that never answers fails here, not in every test after
            try:
                urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    pytest.fail(f"oxigraph serve did not answer on port {port} within 60 s")
                time.sleep(0.1)
        time.sleep(0.2)
        if process.poll() is None:  # it answered, and it is ours (not another server that held the port)
            break
    else:
        pytest.fail(f"oxigraph serve exited with {process.returncode} on five free ports in a row")
    return url, process


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory):
    url, process = _start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield url, process
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def stored_dist(built_dist):
    """The session's build, recorded as the version a remote store holds (what `pianold push` marks)."""
    from pianold.publish import pushing

    with pushing(built_dist.dist_dir):
        pass  # as if loaded into a store
    return built_dist


@pytest.fixture(scope="module")
def remote_server(oxigraph_server, tmp_path_factory):
    url, _ = oxigraph_server
    folder = tmp_path_factory.mktemp("remote")
    dist = folder / "dist"
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(DATA), "--base", BASE, "build"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--base", BASE, "push", "--gsp-url", url + "/store"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "3 named graphs and their merge" in run.stdout, run.stderr
    server = start_server(dist, DATA, BASE, folder / "server.log", env={"PIANOLD_STORE_URL": url + "/query"})
    yield server
    server.stop()


def test_dereference_through_the_remote_store(remote_server):
    status, headers, body = http(remote_server.url + "/data/plan/bari-psm-2030/action/5.2.2.b.ttl")
    assert status == 200 and "Riqualificazione e riutilizzo dei beni confiscati".encode() in body
    status, _, body = http(remote_server.url + "/data/plan/bari-psm-2030.html")
    assert status == 200 and b"<svg" in body


def test_sparql_through_the_remote_store(remote_server):
    query = "PREFIX psm: <https://w3id.org/pianold/onto/psm/> SELECT (COUNT(?a) AS ?n) WHERE { ?a a psm:Action }"
    status, headers, body = http(remote_server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
    assert status == 200 and body.decode().splitlines()[1] == "10"
    status, _, body = http(remote_server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELEC x"}), headers={"Accept": "text/csv"})
    assert status == 400
    # the Oxigraph server's syntax error worded as the embedded engine's: line, column, the line and a caret
    query = "SELECT * WHERE {\n  ?s ?p }"
    status, _, body = http(remote_server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
    assert status == 400 and "syntax error in the query at line 2, column" in body.decode(), body
    lines = body.decode().rstrip("\n").split("\n")
    assert lines[-2] == "    ?s ?p }" and lines[-1].strip() == "^", lines


COUNTS = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }",
    "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/pianold/data/plan/bari-psm-2030> WHERE { ?s ?p ?o }",
]


@pytest.mark.parametrize("query", COUNTS)
def test_the_remote_store_answers_as_the_embedded_one(remote_server, live_server, query):
    """The catalogue, the merged default graph and FROM: the same dataset either way."""
    def count(server):
        status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
        assert status == 200, body
        return int(body.decode().splitlines()[1])

    assert count(remote_server) == count(live_server) > 0
    for path in ("/catalog.ttl", "/data/plan/bari-psm-2030.ttl"):
        remote, local = http(remote_server.url + path)[2], http(live_server.url + path)[2]
        from rdflib import Graph
        assert len(Graph().parse(data=remote.decode(), format="turtle")) == len(Graph().parse(data=local.decode(), format="turtle"))


def test_a_push_removes_the_graphs_of_plans_no_longer_published(oxigraph_server, remote_server, tmp_path, plan_copy):
    import shutil as sh

    from plan_sources import second_plan

    url, _ = oxigraph_server
    second = second_plan(plan_copy)
    dist = tmp_path / "dist"
    env = {**os.environ, "PIANOLD_STORE_URL": url + "/query"}

    def build_and_push():
        for command in (["build"], ["push", "--gsp-url", url + "/store"]):
            run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(plan_copy), "--base", BASE,
                                  *command], capture_output=True, text=True, timeout=300, env=env)
            assert run.returncode == 0, run.stderr
        return run.stdout

    from pianold.store.remote import _gsp, stored_graphs
    _gsp(url + "/store", "PUT", {"graph": "urn:other:dataset"}, b'<urn:x> <urn:y> "another team\'s data" .\n', 10)
    try:
        build_and_push()
        assert f"{BASE}/data/plan/copia-psm" in stored_graphs(url + "/query")
        sh.rmtree(second)
        assert "1 no longer published removed" in build_and_push()
        assert f"{BASE}/data/plan/copia-psm" not in stored_graphs(url + "/query")
        assert "urn:other:dataset" in stored_graphs(url + "/query")  # a shared store's other data is not ours to delete
    finally:
        # the store is shared by the module's other tests: leave it as remote_server loaded it, pass or fail
        _gsp(url + "/store", "DELETE", {"graph": "urn:other:dataset"}, None, 10)
        subprocess.run([sys.executable, "-m", "pianold", "--dist", str(remote_server.dist), "--base", BASE, "push",
                        "--gsp-url", url + "/store"], capture_output=True, text=True, timeout=300, env=env, check=True)


def test_a_remote_answer_over_the_byte_cap_is_refused(oxigraph_server, remote_server):

    from pianold.store.remote import RemoteStore
    from pianold.store.workers import QueryFailed, QueryJob

    url, _ = oxigraph_server
    store = RemoteStore(url + "/query")
    job = QueryJob("", "SELECT * WHERE { ?s ?p ?o }", "text/csv", 10000, 1000)
    with pytest.raises(QueryFailed) as refused:
        store.sparql(job, 10)
    assert refused.value.status == 422 and "larger than the 1000 bytes" in str(refused.value)
    assert store.sparql(job._replace(max_bytes=10 ** 7), 10).body.count(b"\n") > 100


def test_push_to_an_unreachable_store_is_a_clear_error(tmp_path, built_dist):
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(built_dist.dist_dir), "push", "--gsp-url",
                          f"http://127.0.0.1:{free_port()}/store"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "cannot load the store" in run.stderr and "Traceback" not in run.stderr


def test_store_down_gives_502_and_cached_documents_keep_working(tmp_path, stored_dist):
    dead = f"http://127.0.0.1:{free_port()}/query"
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": dead})
    try:
        status, _, body = http(server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", headers={"Accept": "text/plain"})
        assert status == 502 and b"unreachable" in body
        status, _, _ = http(server.url + "/")  # the home page comes from the local build
        assert status == 200
        status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}), headers={"Accept": "text/csv"})
        assert status == 502
    finally:
        server.stop()


def test_slow_store_gives_504(tmp_path, stored_dist):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log",
                          env={"PIANOLD_STORE_URL": url, "PIANOLD_SPARQL_TIMEOUT": "1"})
    try:
        status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}), headers={"Accept": "text/csv"})
        assert status == 504 and b"did not answer" in body
        status, _, body = http(server.url + "/data/plan/bari-psm-2030/axis/1.ttl", headers={"Accept": "text/plain"})
        assert status == 504
    finally:
        server.stop()
        silent.close()


def test_queries_waiting_on_a_slow_store_are_bounded(tmp_path, stored_dist):
    """Remote queries are admitted as the embedded pool admits them (sparql_workers + 2); the
    others get 503 at once, and dereference still has threads."""
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(32)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log",
                          env={"PIANOLD_STORE_URL": url, "PIANOLD_SPARQL_TIMEOUT": "3", "PIANOLD_SPARQL_WORKERS": "1"})
    statuses = []
    try:
        def ask(i):
            query = urllib.parse.urlencode({"query": f"ASK {{}} # {i}"})
            statuses.append(http(server.url + "/sparql?" + query, headers={"Accept": "text/csv"})[0])

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        # the three refused get their 503 at once, and only while the other three are admitted and waiting
        deadline = time.monotonic() + 30
        while statuses.count(503) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert statuses == [503, 503, 503], statuses
        # dereference still has threads: answered while the admitted queries still wait on the store
        # (an order of events, not a wall-clock bound: they end with 504 at the 3 s limit)
        assert http(server.url + "/health/live")[0] == 200
        assert 504 not in statuses, statuses
        for t in threads:
            t.join(30)
        assert sorted(statuses) == [503, 503, 503, 504, 504, 504], statuses
    finally:
        server.stop()
        silent.close()


def test_the_row_cap_applies_to_a_remote_store(oxigraph_server, remote_server, tmp_path):
    url, _ = oxigraph_server
    server = start_server(remote_server.dist, DATA, BASE, tmp_path / "log",
                          env={"PIANOLD_STORE_URL": url + "/query", "PIANOLD_SPARQL_MAX_ROWS": "5"})
    try:
        for query, accept, lines in (("SELECT ?s WHERE { ?s ?p ?o }", "text/csv", 6),  # header + 5 rows
                                     ("CONSTRUCT WHERE { ?s ?p ?o }", "application/n-triples", 5)):
            status, headers, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})
            assert status == 200 and headers["X-Pianold-Truncated"] == "5"
            assert len(body.decode().strip().splitlines()) == lines
        status, headers, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}),
                                     headers={"Accept": "application/sparql-results+xml"})
        assert status == 200 and b"<boolean>true</boolean>" in body
    finally:
        server.stop()


def test_a_store_trickling_its_answer_is_stopped_at_the_time_limit(tmp_path, stored_dist):
    """The time limit holds for the whole answer, not for each read of the socket."""
    url, stop = _store_trickling(think=0, interval=0.5, count=60)
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": url, "PIANOLD_SPARQL_TIMEOUT": "2"})
    try:
        started = time.monotonic()
        status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"}),
                               headers={"Accept": "text/csv"})
        assert status == 504 and b"did not answer within 2 s" in body
        assert time.monotonic() - started < 8
    finally:
        server.stop()
        stop()


def _store_trickling(think: float, interval: float, count: int):
    """A SPARQL store on loopback that, for each query, thinks `think` seconds, sends the headers of
    a long answer, then one byte every `interval` seconds, `count` times; (its query URL, a function
    that stops it)."""
    def trickle(conn):
        time.sleep(think)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(count):
            conn.sendall(b" ")
            time.sleep(interval)

    return _raw_store(trickle)


def _raw_store(answer):
    """A SPARQL store on loopback speaking raw HTTP: each connection, in a thread of its own, has
    its request read whole, then `answer(conn)` writes what it will; (its query URL, a function
    that stops it and closes the connections)."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held = []

    def handle(conn):
        try:
            _read_request(conn)
            answer(conn)
        except OSError:
            pass

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()

    def stop():
        sock.close()
        for conn in held:
            conn.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}/query", stop


def test_blank_nodes_and_empty_languages_from_other_stores_are_read():
    from pianold.store.remote import _ox_term

    virtuoso = _ox_term({"type": "bnode", "value": "nodeID://b10006"})
    assert virtuoso == _ox_term({"type": "bnode", "value": "nodeID://b10006"}) != _ox_term({"type": "bnode", "value": "nodeID://b10007"})
    assert _ox_term({"type": "literal", "value": "x", "xml:lang": ""}).language is None
    import pyoxigraph as ox  # RDF 1.2 base direction
    assert _ox_term({"type": "literal", "value": "x", "xml:lang": "ar", "its:dir": "rtl"}).direction == ox.BaseDirection.RTL


def test_a_server_on_a_remote_store_serves_the_version_pushed_into_it(tmp_path, plan_copy):
    """A build is served once `pianold push` has loaded it: before that, the store holds the
    previous version, and answers labelled with the new version would hold the old data (and be
    cached under the new version's ETags for as long as it is served)."""
    url, store = _start_oxigraph(tmp_path)
    dist = tmp_path / "dist"
    env = {**os.environ, "PIANOLD_STORE_URL": url + "/query", "PIANOLD_KEEP_VERSIONS": "1"}

    def pianold(*command):
        run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(plan_copy), "--base", BASE,
                              *command], capture_output=True, text=True, timeout=300, env=env)
        assert run.returncode == 0, run.stderr
        return run

    def served():
        status, headers, body = http(server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl")
        assert status == 200, body
        ready = json.loads(http(server.url + "/health/ready")[2])
        assert headers["X-Pianold-Version"] == ready["version"]
        return ready["version"], body.decode()

    server = None
    try:
        pianold("build")
        server = start_server(dist, plan_copy, BASE, tmp_path / "server.log", env={"PIANOLD_STORE_URL": url + "/query"})
        assert "run `pianold push`" in server.log.read_text()
        status, _, body = http(server.url + "/health/ready")
        assert status == 503 and b"pianold push" in body
        status, _, body = http(server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", headers={"Accept": "text/plain"})
        assert status == 503 and b"pianold push" in body

        pianold("push", "--gsp-url", url + "/store")
        first, text = served()
        assert "Rafforzamento dell’Agenzia Metropolitana per la casa" in text

        page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
        page.write_text(page.read_text(encoding="utf-8").replace("per la casa", "per l’abitare"), encoding="utf-8")
        pianold("build")
        assert served() == (first, text)  # the store still holds the first version: so does the server
        assert (dist / "versions" / first).is_dir()  # kept while the store holds it, whatever keep_versions says

        pianold("push", "--gsp-url", url + "/store")
        second, text = served()
        assert second != first and "per l’abitare" in text and "per la casa" not in text
    finally:
        if server:
            server.stop()
        store.terminate()
        store.wait(10)


def test_a_remote_answer_is_cut_at_the_row_cap_as_the_embedded_one(oxigraph_server, remote_server):
    """The store's answer is read as it arrives and no further than the row after the cap: an
    answer far larger than the byte cap as a whole still gives its first rows, truncated."""
    from pianold.store.remote import RemoteStore
    from pianold.store.workers import QueryJob

    url, _ = oxigraph_server
    store = RemoteStore(url + "/query")
    for media, query in (("text/csv", "SELECT * WHERE { ?s ?p ?o }"),
                         ("application/n-triples", "CONSTRUCT WHERE { ?s ?p ?o }")):
        whole = store.sparql(QueryJob("", query, media, 10 ** 6, 10 ** 8), 10)
        assert not whole.truncated and len(whole.body) > 20_000
        cut = store.sparql(QueryJob("", query, media, 5, 3000), 10)
        assert cut.truncated and len(cut.body.decode().splitlines()) == (6 if media == "text/csv" else 5)



def _read_request(conn) -> None:
    """Read a whole HTTP request (POST with a Content-Length) from a connection: closing one with
    unread bytes would reset it under the client's feet."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(65536)
    head, body = request.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += conn.recv(65536)


def _store_sending(chunks: list[bytes]):
    """A one-answer SPARQL store on loopback that sends `chunks` as the body, each in its own write."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve():
        conn, _ = sock.accept()
        with conn:
            _read_request(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nConnection: close\r\n\r\n")
            for chunk in chunks:
                conn.sendall(chunk)
                time.sleep(0.002)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/query"


def test_rows_split_anywhere_by_the_network_are_read_whole():
    """Each row is decoded once it has arrived, whatever byte the network cut it at (inside a
    string, a multi-byte character, between rows); `head` may follow `results`."""
    from pianold.store.remote import RemoteStore
    from pianold.store.workers import QueryJob

    rows = [{"s": {"type": "uri", "value": f"http://e/{i}"},
             "t": {"type": "literal", "value": f"città “{i}” – ü", "xml:lang": "it"}} for i in range(40)]
    rows[3].pop("t")  # an unbound value
    expected = "s,t\r\n" + "".join(f"http://e/{i},{'' if i == 3 else f'città “{i}” – ü'}\r\n" for i in range(40))
    for document in ({"head": {"vars": ["s", "t"]}, "results": {"bindings": rows}},
                     {"results": {"bindings": rows}, "head": {"vars": ["s", "t"]}}):
        data = json.dumps(document, ensure_ascii=False, indent=1).encode()
        for size in (1, 7, 4096):
            url = _store_sending([data[i:i + size] for i in range(0, len(data), size)] if size > 1 else
                                 [data[i:i + 1] for i in range(0, 600)] + [data[600:]])
            answer = RemoteStore(url, timeout=20).sparql(QueryJob("", "SELECT * {}", "text/csv", 100, 10 ** 6), 20)
            assert answer.body.decode() == expected and not answer.truncated


def test_a_remote_answer_ending_inside_its_rows_is_a_store_error():
    from pianold.store.base import StoreError
    from pianold.store.remote import RemoteStore
    from pianold.store.workers import QueryJob

    url = _store_sending([b'{"head": {"vars": ["s"]}, "results": {"bindings": [{"s": {"type": "uri", "value": "http://e/1"}}, {"s": '])
    with pytest.raises(StoreError, match="ends inside its results"):
        RemoteStore(url).sparql(QueryJob("", "SELECT * {}", "text/csv", 100, 10 ** 6), 10)


def test_a_huge_row_is_decoded_a_few_times_not_once_per_chunk(monkeypatch):
    """A row of many MB (a GROUP_CONCAT over the store) arrives in hundreds of chunks: decoding it
    from its start at each chunk took seconds of CPU for 30 MB, enough for the time limit's 504."""
    import io
    from pianold.store import remote

    attempts = []

    class Counting(json.JSONDecoder):
        def raw_decode(self, s, idx=0):
            attempts.append(idx)
            return super().raw_decode(s, idx)

    monkeypatch.setattr(remote.json, "JSONDecoder", Counting)
    value = "x" * (8 * 2 ** 20)
    data = json.dumps({"head": {"vars": ["all"]},
                       "results": {"bindings": [{"all": {"type": "literal", "value": value}}]}}).encode()
    answer = io.BufferedReader(io.BytesIO(data), remote.CHUNK)
    variables, boolean, rows = remote._sparql_json(answer)
    assert variables == ["all"] and boolean is None
    assert [row["all"]["value"] == value for row in rows] == [True]
    assert len(attempts) < 40  # 1 (head) + a few doublings; one a chunk is 129


def test_a_build_during_a_push_does_not_prune_the_version_being_pushed(tmp_path, plan_copy):
    """`pianold push` loads the version current when it starts; a build meanwhile (keep_versions=1)
    pruned that version, so dist/pushed then named a folder that was gone and every page of the
    servers on the store answered 503. The build now waits for the push."""
    import threading

    from pianold.publish import PUSHED, current_version, is_complete

    gate, loading = threading.Event(), threading.Event()

    class Store(QuietHandler):
        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            loading.set()
            gate.wait(120)
            self.send_response(204)
            self.end_headers()

    store_url, stop_store = serve_loopback(Store)
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIANOLD_")}
    env["PIANOLD_KEEP_VERSIONS"] = "1"
    command = [sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(plan_copy), "--base", BASE]
    run = subprocess.run([*command, "build"], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    first = current_version(dist).id
    push = build = None
    try:
        push = subprocess.Popen([*command, "push", "--gsp-url", store_url + "/store"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert loading.wait(60), push.communicate()
        page = plan_copy / "bari-psm-2030" / "sources" / "asse-5-page.txt"
        page.write_text(page.read_text(encoding="utf-8").replace("per la casa", "per l’abitare"), encoding="utf-8")
        build = subprocess.Popen([*command, "build"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 240
        while build.poll() is None and time.monotonic() < deadline:  # until it is done, or waits for the push's lock
            if any(" -> FLOCK " in line and f" {build.pid} " in line for line in open("/proc/locks")):
                break
            time.sleep(0.2)
        gate.set()
        out, err = push.communicate(timeout=120)
        assert push.returncode == 0, err
        out, err = build.communicate(timeout=300)
        assert build.returncode == 0, err
        pushed = current_version(dist, PUSHED)
        assert pushed is not None and pushed.id == first and is_complete(pushed.path)
        assert current_version(dist).id != first
    finally:
        gate.set()
        for process in (push, build):
            if process and process.poll() is None:
                process.kill()
                process.wait(10)
        stop_store()


def test_a_store_breaking_off_a_chunked_answer_gives_502(tmp_path, stored_dist):
    """A store that stops mid-answer (killed, or its connection reset) while sending it chunked, as
    Oxigraph does: http.client raises IncompleteRead, which is no OSError, and the request ended
    in a 500 instead of the 502 of a store that cannot answer."""
    def break_off(conn):
        start = b'{"head": {"vars": ["s"]}, "results": {"bindings": [{"s": {"type": "uri", "value": "http://e/1"}}, '
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n" % len(start) + start + b"\r\n" + b"400\r\n" + b'{"s": {"type"')
        conn.close()

    url, stop = _raw_store(break_off)
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": url})
    try:
        status, _, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"}),
                               headers={"Accept": "text/csv"})
        assert status == 502 and b"broke off its answer" in body, (status, body)
        status, _, body = http(server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", headers={"Accept": "text/plain"})
        assert status == 502, (status, body)
    finally:
        server.stop()
        stop()


def test_an_answer_with_a_byte_order_mark_is_read():
    """json.loads(bytes) skipped a UTF-8 BOM, as RFC 8259 lets a reader do; the reader of answers as
    they arrive decoded it as text and refused the ASK (or results-first) answer read whole."""
    from pianold.store.remote import RemoteStore
    from pianold.store.workers import QueryJob

    url = _store_sending([b'\xef\xbb\xbf{"head": {}, "boolean": true}'])
    answer = RemoteStore(url).sparql(QueryJob("", "ASK {}", "application/sparql-results+json", 100, 10 ** 6), 10)
    assert json.loads(answer.body) == {"head": {}, "boolean": True}
    url = _store_sending([b'\xef\xbb\xbf{"head": {"vars": ["s"]}, "results": {"bindings": [{"s": {"type": "uri", "value": "http://e/1"}}]}}'])
    answer = RemoteStore(url).sparql(QueryJob("", "SELECT * {}", "text/csv", 100, 10 ** 6), 10)
    assert answer.body.decode() == "s\r\nhttp://e/1\r\n"


def test_the_time_limit_counts_from_the_query_not_from_the_store_s_first_byte():
    """The whole answer is read against one deadline from when the query is sent (as before answers
    were read as they arrive): a store that thinks for most of the limit before its headers, then
    trickles its body, was given a second full limit once the headers came."""
    from pianold.store.remote import RemoteStore, StoreTimeout
    from pianold.store.workers import QueryJob

    url, stop = _store_trickling(think=1.9, interval=0.1, count=400)  # thinking under the 2 s limit of each socket read
    started = time.monotonic()
    try:
        with pytest.raises(StoreTimeout, match="within 2 s"):
            RemoteStore(url).sparql(QueryJob("", "SELECT * {}", "text/csv", 100, 10 ** 6), 2)
        assert time.monotonic() - started < 3.4  # 2 s and a read; not 1.9 s + 2 s
    finally:
        stop()


def _store_answering(status: int, content_type: str, body: bytes, endless: bool = False, headers: dict | None = None):
    """A SPARQL store on loopback that gives every request the same answer (or `body` without end);
    (its query URL, a function that stops it)."""
    received = []

    class Handler(QuietHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if not endless:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for _ in range(100_000 if endless else 1):
                    self.wfile.write(body)
            except OSError:
                pass  # the reader hung up

        do_GET = do_POST

    url, stop = serve_loopback(Handler)
    stop.received = received  # the bodies of the requests it answered
    return url + "/query", stop


@pytest.mark.parametrize("status, content_type, body", [
    (200, "text/html", b"<html><body>Please log in</body></html>"),  # a proxy's page
    (429, "text/plain", b"slow down"),  # a store refusing pianold's own queries
    (200, "application/sparql-results+json", b"\xff\xfe not UTF-8"),
    (200, "application/sparql-results+json", b'["a list, not results"]'),
], ids=["html page", "429", "not utf-8", "not results"])
def test_a_broken_store_gives_502_to_pages_not_500(tmp_path, stored_dist, status, content_type, body):
    """Pages run pianold's own queries on the store: an answer that is no answer (an HTML page
    with 200, a 4xx, bytes that are not UTF-8) was a 500 with a traceback on every page."""
    url, stop = _store_answering(status, content_type, body)
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": url})
    try:
        for path in ("/data/plan/bari-psm-2030/action/5.1.1.a.ttl", "/data/plan/bari-psm-2030/action/5.1.1.a.html",
                     "/data/plan/bari-psm-2030/action/5.1.1.a", "/sitemap.xml"):
            got, _, text = http(server.url + path, headers={"Accept": "text/plain"})
            assert got == 502 and b"store" in text, (path, got, text[:300])
    finally:
        server.stop()
        stop()
    assert "Traceback" not in (tmp_path / "log").read_text(errors="replace")


def test_a_store_sending_without_end_is_cut_for_pages():
    """A page's query reads the store's answer whole: a store streaming without end filled the
    memory until the time limit. It is read up to RemoteStore.page_max_bytes, then a StoreError."""
    from pianold.store.base import StoreError
    from pianold.store.remote import RemoteStore

    url, stop = _store_answering(200, "application/sparql-results+json", b" " * 65536, endless=True)
    try:
        store = RemoteStore(url, timeout=20, page_max_bytes=2 ** 20)
        started = time.monotonic()
        with pytest.raises(StoreError, match="did not answer pianold's query"):
            store.table_query("SELECT * WHERE { ?s ?p ?o }")
        assert time.monotonic() - started < 10
    finally:
        stop()


@pytest.mark.parametrize("status, retry, told", [(429, None, "5"), (503, None, "5"), (503, "120", "120")])
def test_a_busy_store_is_a_503_to_retry_not_the_query_s_fault(tmp_path, stored_dist, status, retry, told):
    """A store answering 429 or 503 is busy: the client is told to retry (503, Retry-After), not
    that its query was refused (400); after as long as the store says, when it says."""
    url, stop = _store_answering(status, "text/plain", b"slow down", headers={"Retry-After": retry} if retry else None)
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": url})
    try:
        got, headers, body = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}), headers={"Accept": "text/csv"})
        assert got == 503 and headers["Retry-After"] == told and f"busy ({status}); retry in {told} s".encode() in body, (got, body)
    finally:
        server.stop()
        stop()


@pytest.mark.parametrize("header, seconds", [
    (None, 5), ("", 5), ("soon", 5), ("7", 7), (" 7 ", 7), ("0", 1), ("-3", 5), ("99999999999", 3600), ("٣", 5),
    ("0000000120", 120), ("00000000000000", 1),  # delta-seconds may have leading zeros
    ("Sun, 29 Nov 2026 12:00:30 GMT", 30), ("Sun, 29 Nov 2026 11:00:00 GMT", 1),  # a date: from now; a past one: at once
])
def test_a_store_s_retry_after_is_read_as_seconds_or_a_date(header, seconds):
    from datetime import datetime, timezone

    from pianold.store.remote import retry_after

    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert retry_after(header, now=now) == seconds


def test_a_long_head_is_searched_once_for_the_rows():
    """The reader looks for the rows' start in what has newly arrived only: a head of many chunks
    (a store's `link` list, say) is searched once, not again at every chunk."""
    from pianold.store import remote

    head = b'{"head": {"vars": ["s"], "link": [' + b",".join(b'"http://e/%d"' % i for i in range(200_000)) + b']},'
    rows = b' "results": {"bindings": [{"s": {"type": "uri", "value": "http://e/1"}}]}}'
    searched = []
    real = remote._BINDINGS

    class Counting:
        def search(self, text, start=0, *args):
            searched.append(len(text) - start)
            return real.search(text, start, *args)

    import io
    remote._BINDINGS = Counting()
    try:
        variables, boolean, found = remote._sparql_json(io.BufferedReader(io.BytesIO(head + rows), remote.CHUNK))
        assert variables == ["s"] and boolean is None and [r["s"]["value"] for r in found] == ["http://e/1"]
    finally:
        remote._BINDINGS = real
    assert sum(searched) < 2 * len(head + rows)


def test_the_rows_start_is_found_across_any_chunk_boundary():
    """`"bindings": [` split anywhere between two chunks (whitespace of any length included, as a
    pretty-printing store writes it) is still found, so the rows are read as they arrive and the
    answer is not read whole first."""
    from pianold.store import remote

    class Pieces:
        def __init__(self, data: bytes, cut: int):
            self.pieces, self.ended = [data[:cut], data[cut:]], False

        def read1(self, size=-1):
            if not self.pieces:
                self.ended = True
                return b""
            return self.pieces.pop(0)

    head = b'{"head": {"vars": ["s"], "link": ["' + b"http://e/" * 20 + b'"]}, "results": {'
    rest = b'{"s": {"type": "uri", "value": "http://e/1"}}]}}' + b" " * 100_000
    for gap in (b'"bindings": [', b'"bindings"' + b" " * 100 + b":\n" + b" " * 100 + b"["):
        data = head + gap + rest
        for cut in range(len(head) - 70, len(head) + len(gap) + 1):
            reader = Pieces(data, cut)
            variables, boolean, rows = remote._sparql_json(reader)
            assert not reader.ended, (gap[:12], cut)  # streamed, not read whole
            assert variables == ["s"] and [r["s"]["value"] for r in rows] == ["http://e/1"], cut


def test_a_store_that_cannot_name_the_examples_is_left_alone_for_a_while(tmp_path, stored_dist):
    """The query page asks the store for an action of the published plan (its examples) and for the
    ontology's terms (its completions): a store that fails (here a 500; a slow one would hold each
    view for its whole time limit) is not asked again at every view. The page still offers the
    examples, naming Bari's elements, and completes the prefixes."""
    url, stop = _store_answering(500, "text/plain", b"broken")
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": url})
    try:
        for _ in range(3):
            status, _, body = http(server.url + "/sparql", headers={"Accept": "text/html"})
            assert status == 200 and "5.1.1.a" in body.decode()
        assert len(stop.received) == 1, stop.received
    finally:
        server.stop()
        stop()


def test_answers_to_clients_do_not_name_the_store_s_address(tmp_path, built_dist, stored_dist):
    """A store that cannot answer, or into which nothing was pushed, is the operator's to mend: the
    502 and 503 answers, public, named the store's address (a host of the internal network, and
    a token its URL may carry) and the output folder on the server. They say what failed; the
    server's log names the store."""
    import shutil

    dead = f"http://127.0.0.1:{free_port()}/query?key=t0ken-s3cret"
    server = start_server(stored_dist.dist_dir, DATA, BASE, tmp_path / "log", env={"PIANOLD_STORE_URL": dead})
    try:
        status, _, page = http(server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl", headers={"Accept": "text/plain"})
        _, _, answer = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}), headers={"Accept": "text/csv"})
    finally:
        server.stop()
    assert status == 502 and b"unreachable" in page, page
    for body in (page, answer):
        assert b"t0ken" not in body and dead.split("/query")[0].encode() not in body, body
    assert dead.split("?")[0] in (tmp_path / "log").read_text(errors="replace")  # the operator is told which store
    unpushed = tmp_path / "dist"
    shutil.copytree(built_dist.dist_dir, unpushed, symlinks=True)
    if (unpushed / "pushed").is_symlink():
        (unpushed / "pushed").unlink()
    server = start_server(unpushed, DATA, BASE, tmp_path / "log2", env={"PIANOLD_STORE_URL": dead})
    try:
        status, _, body = http(server.url + "/data/plan/bari-psm-2030", headers={"Accept": "text/plain"})
    finally:
        server.stop()
    assert status == 503 and b"pianold push" in body, body
    assert b"t0ken" not in body and b"127.0.0.1" not in body and str(unpushed).encode() not in body, body


def test_push_names_the_query_endpoint_it_could_not_read(tmp_path, built_dist):
    """push asks store_url which graphs it holds before loading: once the store's messages named no
    address (answers to clients must not), push said only "the store is unreachable", though it
    talks to two endpoints. It names the query endpoint, without its query."""
    dead = f"http://127.0.0.1:{free_port()}/query"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIANOLD_")}
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(built_dist.dist_dir), "push", "--gsp-url",
                          f"http://127.0.0.1:{free_port()}/store"], capture_output=True, text=True, timeout=60,
                         env={**env, "PIANOLD_STORE_URL": dead + "?key=t0ken"})
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"the store at {dead}?…" in run.stderr and "unreachable" in run.stderr and "t0ken" not in run.stderr, run.stderr
