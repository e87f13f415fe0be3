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
    stop = time.monotonic() + 300  # a bound in case the test itself hangs; `done` ends the clients
    done = threading.Event()
    answered = [0]  # requests answered in full

    def client():
        while not done.is_set() and time.monotonic() < stop:
            try:
                with urllib.request.urlopen(server.url + PATH, timeout=30) as r:
                    version = r.headers["X-Pianold-Version"]
                    body = r.read().decode()
                title = re.search(r'axis/6> <http://www.w3.org/2004/02/skos/core#prefLabel> "([^"]*)"@it', body).group(1)
                seen.setdefault(version, set()).add(title)
                answered[0] += 1  # one writer at a time is not needed: it only has to grow
            except Exception as err:  # any failure is a finding
                errors.append(repr(err))

    def served(title: str) -> None:
        """Wait until the clients have been served `title` (not a fixed sleep: a loaded machine may
        take longer than any guess, and a fast one need not wait)."""
        deadline = time.monotonic() + 60
        while not any(title in titles for titles in list(seen.values())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(title in titles for titles in list(seen.values())), (title, seen, errors[:3])

    threads = [threading.Thread(target=client) for _ in range(16)]
    try:
        for t in threads:
            t.start()
        served("Mare")
        for title in ("Mare nostro", "Mare aperto"):
            toml.write_text(re.sub(r'title = "Mare[^"]*"', f'title = "{title}"', toml.read_text(encoding="utf-8")), encoding="utf-8")
            run = rebuild(plan_copy, dist)
            assert run.returncode == 0, run.stderr
            served(title)
        good = (dist / "current").resolve()
        page = plan_copy / "bari-psm-2030/sources/asse-5-page.txt"
        page.write_text(page.read_text(encoding="utf-8").replace("5.1.1.b", "5.1.1.a"), encoding="utf-8")
        run = rebuild(plan_copy, dist)
        assert run.returncode == 1, run.stderr  # a failed build
        assert (dist / "current").resolve() == good
        after_failure = answered[0] + 32  # load after the failed build too (what it got is checked below)
        deadline = time.monotonic() + 60
        while answered[0] < after_failure and time.monotonic() < deadline:
            time.sleep(0.05)
        assert answered[0] >= after_failure, answered
    finally:
        done.set()
        for t in threads:
            t.join(60)
        server.stop()
    assert errors == []
    assert all(len(titles) == 1 for titles in seen.values()), seen  # one version, one content
    assert {t for titles in seen.values() for t in titles} == {"Mare", "Mare nostro", "Mare aperto"}
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_a_version_left_incomplete_is_rewritten_not_published_as_it_is(tmp_path, plan_copy):
    """A killed build can leave versions/<id> with a truncated file. The next build of the same
    sources must not take that folder for the finished version: it writes it again, and what is
    published (and served) is the whole file its manifest describes."""
    import hashlib
    import json

    dist = tmp_path / "dist"
    assert rebuild(plan_copy, dist).returncode == 0
    version = (dist / "current").resolve()
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    name = "plans/bari-psm-2030.ttl"
    assert name in manifest["files"], sorted(manifest["files"])
    whole = (version / name).read_bytes()
    (version / name).write_bytes(whole[: len(whole) // 2])  # as a build killed while writing it leaves it
    run = rebuild(plan_copy, dist)
    assert run.returncode == 0, run.stderr
    assert (dist / "current").resolve().name == version.name  # the same data: the same version id
    assert (version / name).read_bytes() == whole
    assert hashlib.sha256(whole).hexdigest() == manifest["files"][name]["sha256"]
    server = start_server(dist, plan_copy, BASE, tmp_path / "server.log")
    try:
        with urllib.request.urlopen(server.url + "/dumps/" + name, timeout=30) as r:
            assert r.read() == whole
    finally:
        server.stop()


def test_dist_current_names_a_complete_version_at_every_step_of_a_build(tmp_path, plan_copy, monkeypatch):
    """The switch is atomic: after every rename, replace, symlink, unlink or rmdir a build makes,
    dist/current still names a complete version (the old one, then the new one), never nothing.
    The load test above can only catch a gap by chance; this checks each step."""
    import os

    from pianold.config import load_settings
    from pianold.publish import build, is_complete

    settings = load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist", base=BASE)
    old = build(settings)
    toml = plan_copy / "bari-psm-2030/plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")
    link = tmp_path / "dist" / "current"
    steps: list[tuple[str, bool]] = []

    def watched(name, call):
        def wrapper(*args, **kwargs):
            result = call(*args, **kwargs)
            steps.append((name, os.path.islink(link) and is_complete(link.resolve())))
            return result
        return wrapper

    for name in ("rename", "replace", "symlink", "unlink", "rmdir"):
        monkeypatch.setattr(os, name, watched(name, getattr(os, name)))
    new = build(settings)
    monkeypatch.undo()
    assert new.id != old.id and link.resolve().name == new.id
    assert any(name in ("replace", "rename") for name, _ in steps), steps  # the switch was seen
    assert all(ok for _, ok in steps), [name for name, ok in steps if not ok]
