"""A bounded HTTP fuzz run and abuse probes against a real `pianold serve` on loopback.

10,000+ requests with random methods, paths, headers, encodings, HTTP versions, huge and malformed
values, sent over raw sockets (so malformed requests really reach the server): no 5xx, no traceback.
Slow clients and oversized headers must not take the server down either."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from urllib.parse import quote

import pytest

from conftest import BASE, DATA
from live import http, start_server

REQUESTS = 10_400
THREADS = 4
SEED = 20261129

PATHS = ["/", "/data/plan/bari-psm-2030", "/data/plan/bari-psm-2030/action/5.1.1.a", "/data/plan/bari-psm-2030.ttl",
         "/onto/psm", "/onto/psm/Action.html", "/catalog", "/catalog.ttl", "/.well-known/void", "/dumps/all.nq",
         "/dumps/plans/bari-psm-2030.nt.gz", "/sitemap.xml", "/robots.txt", "/sparql", "/health/live", "/health/ready",
         "/metrics", "/static/style.css", "/static/../../etc/passwd", "/nowhere"]
NASTY = ["..", "%2e%2e", "%00", "%ff", "%c0%af", "%", "%%", "à", "’", "\u202e", "<script>", "'\"", ";", "?", "#", "//", "\\",
         "%0d%0aSet-Cookie:x=1", "A" * 3000, "€" * 200, "%F0%9F%98%80", "\t", "*"]
METHODS = ["GET"] * 8 + ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "PROPFIND", "G E T", "get", ""]
HEADERS = ["Accept", "Accept-Language", "Accept-Encoding", "If-None-Match", "If-Modified-Since", "Range", "Content-Type",
           "Content-Length", "Transfer-Encoding", "Origin", "Cookie", "X-Forwarded-For", "Host", "Expect", "Referer"]
VALUES = ["text/turtle", "*/*;q=0", "text/html;q=abc", "application/ld+json;profile=\"x\"", "bytes=0-10", "bytes=-5",
          "bytes=999999999-", "bytes=5-1", "W/\"x\"", "*", "Mon, 32 Foo 2026", "chunked", "gzip, br", "-1", "99999999999",
          "0", "100-continue", "application/sparql-query", "application/x-www-form-urlencoded", "\x01\x02", "é" * 50,
          "x" * 9000]


def random_path(rng: random.Random) -> str:
    path = rng.choice(PATHS)
    for _ in range(rng.randint(0, 3)):
        piece = rng.choice(NASTY) if rng.random() < 0.6 else quote(rng.randbytes(rng.randint(1, 12)).decode("latin-1"), safe="")
        path += rng.choice(["/", "", "."]) + piece
    if rng.random() < 0.3:
        keys = ["query", "format", "default-graph-uri", "named-graph-uri", "update", "q", "a"]
        pairs = [f"{rng.choice(keys)}={quote(rng.choice(NASTY + ['SELECT * WHERE {?s ?p ?o} LIMIT 3', 'ASK{}', 'json', 'tsv']), safe='%')}"
                 for _ in range(rng.randint(1, 4))]
        path += "?" + "&".join(pairs)
    return path


def random_request(rng: random.Random) -> bytes:
    method = rng.choice(METHODS)
    path = random_path(rng)
    version = rng.choice(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/9.9", "", "HTTP/1.1 extra"])
    lines = [f"{method} {path} {version}".strip()]
    lines.append("Host: 127.0.0.1")
    body = b""
    for _ in range(rng.randint(0, 5)):
        name, value = rng.choice(HEADERS), rng.choice(VALUES)
        if name == "Content-Length":
            continue
        lines.append(f"{name}: {value}")
    if method in ("POST", "PUT", "PATCH") and rng.random() < 0.8:
        body = rng.choice([b"query=SELECT+*+WHERE+%7B%3Fs+%3Fp+%3Fo%7D+LIMIT+2", b"SELECT * {?s ?p ?o} LIMIT 1",
                           b"update=DROP+ALL", rng.randbytes(rng.randint(0, 2000))])
        declared = len(body) if rng.random() < 0.85 else rng.choice([0, len(body) + 10, 10**7])
        lines.append(f"Content-Length: {declared}")
        if declared > len(body):
            body = body[: declared] if declared < 20 else body
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def _unknown_transfer_coding(status: int, raw: bytes) -> bool:
    """RFC 9112 §6.1: a request with a transfer coding the server does not implement gets 501
    (waitress answers it before the application). The one 5xx the protocol asks for."""
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    codings = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.startswith(b"transfer-encoding:")]
    return status == 501 and any(c != b"chunked" for c in codings)


def _incomplete(raw: bytes) -> bool:
    """The request declares a longer body than it sends: the server rightly waits, then closes."""
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"\r\ntransfer-encoding: chunked" in head.lower() and not body.endswith(b"0\r\n\r\n"):
        return True
    if b"\r\nexpect: 100-continue" in head.lower() and not body:
        return True  # waitress sends "100 Continue" and waits for the announced body
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1]) > len(body)
    return False


def send(port: int, raw: bytes, timeout: float = 20) -> int | None:
    """The response's status code, or None when the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    while data.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in data:  # interim answer to Expect: 100-continue
        data = data.split(b"\r\n\r\n", 1)[1]
    if not data.startswith(b"HTTP/"):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    server = start_server(folder / "dist", DATA, BASE, folder / "server.log", "--workers", "8",
                          env={"PIANOLD_SPARQL_WORKERS": "2", "PIANOLD_SPARQL_TIMEOUT": "10"})
    yield server
    server.stop()


def test_http_fuzz_run(fuzz_server):
    port = int(fuzz_server.url.rsplit(":", 1)[1])
    statuses: Counter = Counter()
    bad: list[tuple[int, bytes]] = []
    unanswered: list[bytes] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 600  # bounded in time as well as in count

    def worker(index: int) -> None:
        rng = random.Random(SEED + index)
        for _ in range(REQUESTS // THREADS):
            if time.monotonic() > deadline:
                return
            raw = random_request(rng)
            status = send(port, raw)
            with lock:
                statuses[status] += 1
                if status is not None and status >= 500 and not _unknown_transfer_coding(status, raw):
                    bad.append((status, raw[:300]))
                if status is None and not _incomplete(raw):
                    unanswered.append(raw[:300])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(statuses.values())
    assert total >= 10_000, statuses
    assert not bad, bad[:5]
    print(f"fuzz: {total} requests, statuses {sorted(statuses.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))}")
    assert not unanswered, unanswered[:5]  # only requests whose body never came may go unanswered
    assert fuzz_server.process.poll() is None  # still running
    log = fuzz_server.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert http(fuzz_server.url + "/health/ready")[0] == 200


def test_slow_clients_do_not_exhaust_workers(fuzz_server):
    """300 clients trickling their request headers; a normal client is still answered at once."""
    port = int(fuzz_server.url.rsplit(":", 1)[1])
    slow = []
    try:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        # answered while all 300 are still connected (checked below): had they held the server's threads,
        # this request would wait until waitress drops them (channel_timeout, 60 s), and they would be
        # closed by then. No wall-clock bound of a few seconds, which a loaded 2-core machine can miss.
        status, _, _ = http(fuzz_server.url + "/data/plan/bari-psm-2030", headers={"Accept": "text/turtle"})
        assert status == 200
        still_open = 0
        for sock in slow:
            sock.setblocking(False)
            try:
                sock.recv(1, socket.MSG_PEEK)  # an answer or b"" (closed): the server let go of it already
            except BlockingIOError:
                still_open += 1  # nothing to read: still connected, still trickling
            except OSError:
                pass
        assert still_open == len(slow), still_open  # or the test would not have tested a server under 300 slow clients
    finally:
        for sock in slow:
            sock.close()


@pytest.mark.parametrize("size", [70_000, 300_000, 2_000_000])
def test_oversized_headers_are_refused_cleanly(fuzz_server, size):
    port = int(fuzz_server.url.rsplit(":", 1)[1])
    raw = f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'a' * size}\r\nConnection: close\r\n\r\n".encode()
    status = send(port, raw)
    assert status is None or 400 <= status < 500, status
    assert http(fuzz_server.url + "/health/live")[0] == 200


def test_oversized_body_is_413(fuzz_server):
    status, _, body = http(fuzz_server.url + "/sparql", data=b"query=" + b"a" * 2_000_000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and b"Traceback" not in body


def test_crlf_cannot_inject_headers_through_redirects(fuzz_server):
    port = int(fuzz_server.url.rsplit(":", 1)[1])
    raw = b"GET /data/plan/bari-psm-2030%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nSet-Cookie" not in head
