"""Shared pieces of the benchmarks: servers on loopback, a bounded load generator, ratio tables.

Every figure is a ratio to a baseline measured in the same run on the same machine, because
absolute numbers on a shared 2-core machine mean little."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC_BODY = ("x" * 2047 + "\n").encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 120, process: subprocess.Popen | None = None) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return time.monotonic() - start
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def running(args: list[str], ready_path: str = "/", env: dict | None = None, timeout: float = 300):
    """Start a server command with {port} substituted; yield its base URL; stop it."""
    port = free_port()
    log = tempfile.TemporaryFile(prefix="bench-", suffix=".log")  # its output, access log included: gone when it stops
    process = subprocess.Popen([a.format(port=port) for a in args], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url + ready_path, timeout, process)
        except RuntimeError as err:
            log.seek(0)
            raise RuntimeError(f"{err}; its output ends with:\n{log.read()[-2000:].decode(errors='replace')}") from None
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def static_app_args(threads: int) -> list[str]:
    """The ceiling of a Python web stack: Flask returning a fixed 2 KB body, under waitress."""
    return [sys.executable, str(ROOT / "bench/static_app.py"), "{port}", str(threads)]


def load(url: str, seconds: float = 5.0, connections: int = 16, threads: int = 2, headers: dict | None = None) -> dict:
    """Requests per second against one URL for a bounded time (wrk if installed, else Python)."""
    if shutil.which("wrk"):
        args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
        for k, v in (headers or {}).items():
            args += ["-H", f"{k}: {v}"]
        run = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 30)
        found = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
        if not found:
            raise RuntimeError(f"wrk failed on {url}: {run.stdout}{run.stderr}")
        out = run.stdout
        non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
        total = int(m.group(1)) if (m := re.search(r"(\d+) requests in", out)) else 0
        errors = re.search(r"Socket errors: (.*)", out)
        # only answers count: a server refusing fast (503) must not look fast
        rps = float(found.group(1)) * (1 - non2xx / total if total else 1)
        return {"rps": rps, "non_2xx_3xx": non2xx, "socket_errors": errors.group(1) if errors else ""}
    return _python_load(url, seconds, connections, headers or {})


def _python_load(url, seconds, connections, headers):
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + seconds
    counts = [0] * connections

    def worker(i):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < deadline:
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            counts[i] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"rps": sum(counts) / seconds, "non_2xx_3xx": 0, "socket_errors": ""}


def print_table(title: str, rows: list[tuple[str, float, float, str]]) -> None:
    """rows: (name, rps, baseline rps, target)."""
    print(f"\n{title}")
    print(f"{'case':<44} {'ratio':>7}  target")
    for name, rps, baseline, target in rows:
        print(f"{name:<44} {rps / baseline:>6.2f}x  {target}")


def save(name: str, data: dict) -> None:
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
