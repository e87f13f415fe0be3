"""A real pianold server in a subprocess, on a free loopback port, for tests with real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(BaseHTTPRequestHandler):
    """The handler of a stand-in server (a store, a web page): it logs nothing to the test's output."""

    def log_message(self, *args):
        pass


def serve_loopback(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
    """A threaded HTTP server answering with `handler` on a free loopback port: (its root URL, a
    function that stops it). host="0.0.0.0" listens on this host's other addresses too."""
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop():
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    base: str  # the configured base of the IRIs it serves
    dist: Path
    process: subprocess.Popen
    log: Path

    def iri_to_url(self, iri: str) -> str:
        assert iri.startswith(self.base), iri
        return self.url + iri[len(self.base):]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(dist: Path, data: Path, base: str, log: Path, *extra: str, env: dict | None = None,
                 timeout: float = 120, attempts: int = 5) -> LiveServer:
    """free_port() releases the port it found before the server binds it: on a machine shared with
    other test runs, another process can take it in between. The server then exits saying it
    cannot serve on that port, and another port is tried (a few times, never silently)."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_server(dist, data, base, log, *extra, env=env, timeout=timeout)
        except PortTaken:
            if attempt == attempts:
                raise
            with open(log, "ab") as out:
                out.write(f"[test harness] port taken (attempt {attempt}); retrying on another port\n".encode())
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _start_server(dist: Path, data: Path, base: str, log: Path, *extra: str, env: dict | None = None,
                  timeout: float = 120) -> LiveServer:
    port = free_port()
    start = log.stat().st_size if log.exists() else 0
    args = [sys.executable, "-m", "pianold", "--dist", str(dist), "--data", str(data), "--base", base,
            "serve", "--port", str(port), *extra]
    with open(log, "ab") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_bytes()[start:].decode(errors="replace")
            if process.returncode == 2 and f"cannot serve on 127.0.0.1:{port}" in text:
                raise PortTaken(text)
            raise RuntimeError(f"pianold serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        process.wait()  # reaped: no zombie left behind by a server that never answered
        raise RuntimeError(f"pianold serve did not answer within {timeout}s:\n{log.read_text(errors='replace')}")
    return LiveServer(url, base, dist, process, log)


def http(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body) of a real HTTP request; redirects are followed as clients do."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


VIRTUOSO = "virtuoso-t"  # Debian's virtuoso-opensource
ISQL = "isql-vt"


@dataclass
class Virtuoso:
    url: str  # http://127.0.0.1:PORT (its /sparql, /sparql-graph-crud-auth…)
    sql_port: int  # for isql-vt
    folder: Path
    process: subprocess.Popen

    def isql(self, statements: str, password: str = "dba") -> str:
        """Run SQL statements as dba (a new database's password is `dba`); their output, or an
        AssertionError with it when one fails."""
        run = subprocess.run([ISQL, f"127.0.0.1:{self.sql_port}", "dba", password, f"exec={statements}"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "*** Error" not in run.stdout + run.stderr, run.stdout + run.stderr
        return run.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # Virtuoso checkpoints and exits on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _virtuoso_ini(folder: Path, sql_port: int, http_port: int, max_rows: int) -> str:
    """A private Virtuoso: its files in `folder`, listening on loopback only, small buffers (a test
    database of a few thousand triples), no plugins, answers of at most `max_rows` rows."""
    db = folder / "db"
    return f"""\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CheckpointInterval = 0
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 2
DirsAllowed = {db}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}/vsp
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 30
"""


def start_virtuoso(folder: Path, max_rows: int = 100000, timeout: float = 90, attempts: int = 5) -> Virtuoso:
    """A new, empty Virtuoso in `folder`, run in the foreground (so that stopping its process stops
    it), answering SPARQL on a free loopback port. free_port() releases its ports before Virtuoso
    binds them: when another process takes one meanwhile, Virtuoso exits and others are tried."""
    for attempt in range(1, attempts + 1):
        sql_port, http_port = free_port(), free_port()
        here = folder / f"attempt-{attempt}"  # a database half made by a Virtuoso that exited is not reused
        (here / "db").mkdir(parents=True)
        (here / "vsp").mkdir()
        ini = here / "virtuoso.ini"
        ini.write_text(_virtuoso_ini(here, sql_port, http_port, max_rows), encoding="utf-8")
        log = here / "virtuoso.out"
        with open(log, "ab") as out:
            process = subprocess.Popen([VIRTUOSO, "+foreground", "+configfile", str(ini)], cwd=here,
                                       stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/sparql?query=ASK%7B%7D", timeout=2) as answer:
                    answer.read()
                    if "Virtuoso" in answer.headers.get("Server", ""):  # ours, not another server holding the port
                        return Virtuoso(url, sql_port, here, process)
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        if process.poll() is None:  # neither answering nor gone
            process.kill()
            process.wait()
            raise RuntimeError(f"virtuoso-t did not answer within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")
        with open(log, "ab") as out:
            out.write(f"[test harness] virtuoso-t exited with {process.returncode}; retrying on other ports\n".encode())
    raise RuntimeError(f"virtuoso-t exited on {attempts} pairs of free ports in a row:\n{log.read_text(errors='replace')[-3000:]}")
