"""Atomic rebuild while serving: 16 clients across two rebuilds and a failed one."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.request

from conftest import BASE
from live import start_server

PATH = "/data/plan/bari-psm-2030/axis/6.nt"


def rebuild(data, dist):
    return subprocess.run([sys.executable, "-m", "pianold", "--data", str(data), "--dist", str(dist), "--base", BASE, "build"],
                          capture_output=True, text=True, timeout=300)


def test_rebuilds_under_load_never_mix_versions(tmp_path, plan_copy):
    dist = tmp_path / "dist"
    server = start_server(dist, plan_copy, BASE, tmp_path / "server.log")
    toml = plan_copy / "bari-psm-2030/plan.toml"
    seen: dict[str, set[str]] = {}
    errors: list[str] = []
    stop = time.monotonic() + 60
    done = threading.Event()

    def client():
        while not done.is_set() and time.monotonic() < stop:
            try:
                with urllib.request.urlopen(server.url + PATH, timeout=30) as r:
                    version = r.headers["X-Pianold-Version"]
                    body = r.read().decode()
                title = re.search(r'axis/6> <http://www.w3.org/2004/02/skos/core#prefLabel> "([^"]*)"@it', body).group(1)
                seen.setdefault(version, set()).add(title)
            except Exception as err:  # any failure is a finding
                errors.append(repr(err))

    threads = [threading.Thread(target=client) for _ in range(16)]
    try:
        for t in threads:
            t.start()
        time.sleep(1)
        for title in ("Mare nostro", "Mare aperto"):
            toml.write_text(re.sub(r'title = "Mare[^"]*"', f'title = "{title}"', toml.read_text(encoding="utf-8")), encoding="utf-8")
            assert rebuild(plan_copy, dist).returncode == 0
            time.sleep(1.5)
        good = (dist / "current").resolve()
        page = plan_copy / "bari-psm-2030/sources/asse-5-page.txt"
        page.write_text(page.read_text(encoding="utf-8").replace("5.1.1.b", "5.1.1.a"), encoding="utf-8")
        assert rebuild(plan_copy, dist).returncode == 1  # a failed build
        assert (dist / "current").resolve() == good
        time.sleep(1)
    finally:
        done.set()
        for t in threads:
            t.join(60)
        server.stop()
    assert errors == []
    assert all(len(titles) == 1 for titles in seen.values()), seen  # one version, one content
    assert {t for titles in seen.values() for t in titles} == {"Mare", "Mare nostro", "Mare aperto"}
    assert "Traceback" not in (tmp_path / "server.log").read_text()
