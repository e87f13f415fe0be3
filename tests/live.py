"""A real pianold server in a subprocess, on a free loopback port, for tests with real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
