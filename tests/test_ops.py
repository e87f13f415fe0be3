"""Health probes and security headers on a running server."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from pianold.config import load_settings
from pianold.web import create_app


def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_health(live_server):
    status, _, body = get(live_server.url + "/health/live")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, body = get(live_server.url + "/health/ready")
    data = json.loads(body)
    assert status == 200 and data["plans"] == ["bari-psm-2030"] and len(data["version"]) == 16


def test_not_ready_before_anything_is_published(tmp_path):
    client = create_app(load_settings(env={}, dist_dir=tmp_path / "empty")).test_client()
    assert client.get("/health/live").status_code == 200
    response = client.get("/health/ready")
    assert response.status_code == 503 and "pianold build" in response.get_json()["reason"]
    assert client.get("/data/plan/x", headers={"Accept": "text/plain"}).status_code == 503


def test_security_headers(live_server):
    for path in ("/", "/data/plan/bari-psm-2030/action/5.1.1.a.html", "/sparql"):
        status, headers, _ = get(live_server.url + path, {"Accept": "text/html"})
        assert status == 200
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"]
        assert headers.get("Server", "pianold") == "pianold"  # no version leaked
    status, headers, _ = get(live_server.url + "/data/plan/bari-psm-2030/action/5.1.1.a.ttl")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_reflected_query_text_is_escaped(live_server):
    import urllib.parse

    probe = '<script>alert(1)</script>'
    status, _, body = get(live_server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p \"" + probe + "\" }", "format": "html"}))
    assert status == 200 and probe.encode() not in body and b"&lt;script&gt;" in body
    status, _, body = get(live_server.url + "/data/plan/" + urllib.parse.quote(probe), {"Accept": "text/html"})
    assert status == 404 and probe.encode() not in body


def test_metrics_in_prometheus_format(live_server):
    get(live_server.url + "/data/plan/bari-psm-2030/action/5.3.1.a.ttl")
    get(live_server.url + "/data/plan/nope", {"Accept": "text/plain"})
    status, headers, body = get(live_server.url + "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'pianold_requests_total{route="/data/<path:rest>",status="200"}' in text
    assert 'pianold_requests_total{route="/data/<path:rest>",status="404"}' in text
    assert "pianold_sparql_timeouts_total" in text and "pianold_fastpath_hits_total" in text
    assert 'pianold_request_seconds_bucket{route="/data/<path:rest>",le="10"}' in text


def test_fast_path_replays_are_counted_and_logged(live_server):
    url = live_server.url + "/data/plan/bari-psm-2030/objective/5.2.ttl?replayed=1"
    route = 'pianold_requests_total{route="/data/<path:rest>",status="200"} '

    def served() -> int:
        text = get(live_server.url + "/metrics")[2].decode()
        return int(text.split(route, 1)[1].split("\n", 1)[0])

    started = time.time()
    get(url)  # computed by Flask, then kept
    before = served()
    for _ in range(3):
        assert get(url)[0] == 200
    assert served() == before + 3
    replays = access_records(live_server, lambda r: r.get("replay") and r["path"] == "/data/plan/bari-psm-2030/objective/5.2.ttl"
                             and r["time"] >= started - 0.002, 3)
    assert replays[-1]["route"] == "/data/<path:rest>" and replays[-1]["status"] == 200 and replays[-1]["version"]


def access_records(live_server, wanted, count: int = 1, timeout: float = 5.0) -> list[dict]:
    """The access log's records that match, once at least `count` are written (lines are handed
    to the logger in batches, a fraction of a second after their request)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [json.loads(line.split("pianold.access: ", 1)[1]) for line in live_server.log.read_text().splitlines()
                   if "pianold.access: " in line]
        found = [r for r in records if wanted(r)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_structured_access_log(live_server):
    before = time.time()
    get(live_server.url + "/data/plan/bari-psm-2030/axis/9.html?fresh=1")
    found = access_records(live_server, lambda r: r["path"] == "/data/plan/bari-psm-2030/axis/9.html" and r["time"] >= before - 0.002)
    assert found, "no access log line for the request"
    record = found[-1]
    assert record["status"] == 200 and record["version"] and record["route"] == "/data/<path:rest>"
    assert record["time"] <= time.time()

def test_access_log_lines_are_written_in_a_forked_worker_too(tmp_path):
    """Under a pre-forking server (gunicorn --preload) each worker process needs its own writer."""
    import logging
    import os

    from pianold.web import ops

    handler = logging.FileHandler(tmp_path / "access.log")
    logger = logging.getLogger("pianold.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        ops._access.write({"who": "parent"})
        pid = os.fork()
        if pid == 0:  # the child: write one line, give the writer time, leave without pytest's teardown
            ops._access.write({"who": "child"})
            time.sleep(1)
            os._exit(0)
        os.waitpid(pid, 0)
        deadline = time.monotonic() + 5
        while '"child"' not in (tmp_path / "access.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        text = (tmp_path / "access.log").read_text()
        assert '"child"' in text and '"parent"' in text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


def test_sigterm_writes_the_queued_access_log_lines(tmp_path, built_dist):
    from conftest import BASE, DATA
    from live import start_server

    server = start_server(built_dist.dist_dir, DATA, BASE, tmp_path / "server.log")
    try:
        assert get(server.url + "/data/plan/bari-psm-2030/axis/7.ttl?last=1")[0] == 200
    finally:
        server.process.terminate()  # at once: the line is most likely still queued
        server.process.wait(timeout=30)
    assert server.process.returncode == 0
    log = (tmp_path / "server.log").read_text()
    assert '"path": "/data/plan/bari-psm-2030/axis/7.ttl"' in log and "Traceback" not in log
