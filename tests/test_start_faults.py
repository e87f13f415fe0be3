"""Faults at start-up: a corrupt or missing store, a port already taken."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

from conftest import BASE, DATA
from live import free_port, http, start_server


def serve(tmp_path, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--data", str(DATA),
                           "--base", BASE, "serve", *args], capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def build(tmp_path):
    from pianold.config import load_settings
    from pianold.publish import build as build_all

    return build_all(load_settings(env={}, data_dir=DATA, dist_dir=tmp_path / "dist", base=BASE))


def test_corrupt_store_stops_start_up_with_a_message(tmp_path):
    version = build(tmp_path)
    for path in version.store_path.iterdir():
        if path.is_file():
            path.write_bytes(b"\0garbage\0" * 100)
    run = serve(tmp_path, "--port", str(free_port()))
    assert run.returncode == 2
    assert "store of version" in run.stderr and "is unusable" in run.stderr and "pianold build" in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_store_is_rebuilt_and_served(tmp_path):
    version = build(tmp_path)
    shutil.rmtree(version.store_path)
    server = start_server(tmp_path / "dist", DATA, BASE, tmp_path / "server.log")
    try:
        status, headers, _ = http(server.url + "/data/plan/bari-psm-2030", headers={"Accept": "text/turtle"})
        assert status == 200 and headers["X-Pianold-Version"] == version.id
        assert version.store_path.is_dir()
    finally:
        server.stop()


def test_a_taken_port_is_reported(tmp_path):
    build(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        run = serve(tmp_path, "--port", str(taken.getsockname()[1]))
    assert run.returncode == 2 and "cannot serve on 127.0.0.1" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_dist_it_cannot_write_keeps_the_published_version_served(tmp_path, monkeypatch, plan_copy, caplog):
    """Sources edited after the last build, and dist/ read-only to the server (as deployments may
    have it: root ignores file modes, so the refusal is simulated)."""
    import pianold.serve as serve_module
    from pianold.config import load_settings
    from pianold.publish import build as build_all

    settings = load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist", base=BASE)
    published = build_all(settings)
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")

    def read_only(settings):
        raise PermissionError(13, "Permission denied", str(settings.dist_dir / "versions"))

    monkeypatch.setattr(serve_module, "build", read_only)
    serve_module.ensure_published(settings, on_build_error=lambda err: None)  # no exception: it serves
    assert "still serving the previous version" in caplog.text and "Permission denied" in caplog.text
    from pianold.publish import current_version
    assert current_version(tmp_path / "dist").id == published.id


def test_serve_rebuilds_changed_sources_and_keeps_serving_when_they_break(tmp_path, plan_copy):
    """README: `pianold serve` "builds if nothing is published or the sources changed", and "a wrong
    file never breaks what is already online": checked on a real server, over HTTP."""
    import re

    from pianold.config import load_settings
    from pianold.publish import build as build_all

    dist = tmp_path / "dist"
    first = build_all(load_settings(env={}, data_dir=plan_copy, dist_dir=dist, base=BASE))
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")

    def title_served(server) -> tuple[str, str]:
        status, headers, body = http(server.url + "/data/plan/bari-psm-2030/axis/6.nt")
        assert status == 200
        label = re.search(r'axis/6> <http://www.w3.org/2004/02/skos/core#prefLabel> "([^"]*)"@it', body.decode()).group(1)
        return headers["X-Pianold-Version"], label

    server = start_server(dist, plan_copy, BASE, tmp_path / "first.log")
    try:
        rebuilt, label = title_served(server)
    finally:
        server.stop()
    assert rebuilt != first.id and label == "Mare nostro"  # the changed sources, built at start

    page = plan_copy / "bari-psm-2030/sources/asse-5-page.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("5.1.1.b", "5.1.1.a"), encoding="utf-8")  # a duplicate code
    server = start_server(dist, plan_copy, BASE, tmp_path / "second.log")
    try:
        assert title_served(server) == (rebuilt, "Mare nostro")  # the last good version, still online
        assert http(server.url + "/health/ready")[0] == 200
    finally:
        server.stop()
    log = (tmp_path / "second.log").read_text(errors="replace")
    assert "still serving the previous version" in log and "5.1.1.a" in log and "Traceback" not in log


def test_the_harness_tries_another_port_when_its_free_port_was_taken(tmp_path, built_dist, monkeypatch):
    """live.free_port() releases the port before the server binds it; if another process takes it
    in between, start_server must try another port rather than fail the test that needed a server."""
    import live

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    taken_port = taken.getsockname()[1]
    ports = [taken_port]
    real = live.free_port
    monkeypatch.setattr(live, "free_port", lambda: ports.pop() if ports else real())
    try:
        server = live.start_server(built_dist.dist_dir, DATA, BASE, tmp_path / "server.log")
    finally:
        taken.close()
    try:
        assert ports == [] and server.url != f"http://127.0.0.1:{taken_port}"  # the taken port was tried, then another
        assert http(server.url + "/health/live")[0] == 200
    finally:
        server.stop()
    assert "port taken (attempt 1)" in (tmp_path / "server.log").read_text()


def test_a_dist_current_copied_as_a_folder_is_served_as_it_is_when_the_sources_changed(tmp_path, plan_copy):
    """serve rebuilds changed sources; over a dist/current that is a folder (cp -rL) it cannot
    publish, so it says why and serves what the folder holds, writing nothing."""
    import json

    from pianold.config import load_settings
    from pianold.publish import build as build_all

    published = build_all(load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "built", base=BASE))
    shutil.copytree(tmp_path / "built", tmp_path / "dist")  # follows the link, as cp -rL does
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")
    server = start_server(tmp_path / "dist", plan_copy, BASE, tmp_path / "server.log")
    try:
        status, _, body = http(server.url + "/health/ready")
        assert status == 200 and json.loads(body)["version"] == published.id, body
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "the sources changed but cannot be published" in log and "is a folder" in log and "still serving" in log, log
    assert "Traceback" not in log
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [".lock", "current", "versions"]
    assert [p.name for p in (tmp_path / "dist" / "versions").iterdir()] == [published.id]


def two_plan_copy(tmp_path, plan_copy):
    """Bari and the three-level plan built from `plan_copy` into tmp_path/dist, then copied as
    another host gets it (`cp -a`, links kept): what that host's serve is given."""
    from conftest import ROOT
    from pianold.config import load_settings
    from pianold.publish import build as build_all

    shutil.copytree(ROOT / "tests/fixtures/three-level-plan", plan_copy / "three-level-plan")
    version = build_all(load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "built", base=BASE,
                                      catalog_publisher="cmba"))
    shutil.copytree(tmp_path / "built", tmp_path / "dist", symlinks=True)
    return version


def test_serve_does_not_rebuild_a_version_built_from_another_data_folder(tmp_path, plan_copy):
    """A second host serving a copied dist/: `pianold serve --dist D` without --data built the
    bundled Bari plan and published it over the copy of two plans. It refuses, naming the folder
    the version was built from and --no-build, and changes nothing."""
    from pianold.resources import bundled_data_dir

    version = two_plan_copy(tmp_path, plan_copy)
    before = {str(p.relative_to(tmp_path / "dist")): p.stat().st_mtime_ns for p in (tmp_path / "dist").rglob("*")}
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--base", BASE,
                          "serve", "--port", str(free_port())], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"version {version.id} in {tmp_path / 'dist'} was built from the sources in {plan_copy}, not from {bundled_data_dir()}" in run.stderr, run.stderr
    assert f"(--data {plan_copy}, or data_dir), or serve it as it is with --no-build" in run.stderr, run.stderr
    assert {str(p.relative_to(tmp_path / "dist")): p.stat().st_mtime_ns for p in (tmp_path / "dist").rglob("*")} == before


def test_serve_no_build_serves_a_copied_version_as_it_is(tmp_path, plan_copy):
    """--no-build (or no_build, PIANOLD_NO_BUILD) serves what dist/ holds, whatever --data says,
    and writes nothing; with nothing published it is one line and exit 2."""
    import json

    version = two_plan_copy(tmp_path, plan_copy)
    for extra, env in ((["--no-build"], None), ([], {"PIANOLD_NO_BUILD": "1"})):
        server = start_server(tmp_path / "dist", DATA, BASE, tmp_path / "server.log", *extra, env=env)
        try:
            status, _, body = http(server.url + "/health/ready")
            ready = json.loads(body)
            assert status == 200 and ready["version"] == version.id, body
            assert ready["plans"] == ["bari-psm-2030", "test-tre-livelli"]
        finally:
            server.stop()
    assert [p.name for p in (tmp_path / "dist" / "versions").iterdir()] == [version.id]
    assert "published version" not in (tmp_path / "server.log").read_text()  # no build was made
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "empty"), "--base", BASE,
                          "serve", "--no-build", "--port", str(free_port())], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"nothing is published in {tmp_path / 'empty'} to serve without building" in run.stderr, run.stderr
    assert not (tmp_path / "empty").exists()
    (tmp_path / "dist" / "current" / "all.ttl").unlink()  # a copy that stopped half-way: no build mends it
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--base", BASE,
                          "serve", "--no-build", "--port", str(free_port())], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and f"version {version.id} in {tmp_path / 'dist' / 'versions' / version.id} is incomplete" in run.stderr, run.stderr


def test_serve_rebuilds_the_bundled_plans_after_pianold_is_installed_elsewhere(tmp_path):
    """The bundled plans live wherever pianold is installed (a checkout, a virtualenv's
    site-packages): a new release in a new checkout or virtualenv, serving the same dist/ without
    --data, has another bundled folder and new code. serve rebuilt the bundled plans, as it did
    before manifests recorded their folder; it stopped with exit 2 instead, naming the old
    install's folder (which may be gone) as the one to give."""
    import json
    import os

    from conftest import ROOT
    from pianold.resources import bundled_data_dir

    install = tmp_path / "old-install"
    for name in ("src", "data", "ontology", "shapes", "vocabularies", "conformance"):
        shutil.copytree(ROOT / name, install / name, ignore=shutil.ignore_patterns("__pycache__"))
    with open(install / "src/pianold/__init__.py", "a", encoding="utf-8") as code:
        code.write("# an older release\n")  # other code: the version it builds is stale for this one
    env = {**os.environ, "PYTHONPATH": str(install / "src")}
    old = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(tmp_path / "dist"), "--base", BASE, "build"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert old.returncode == 0, old.stderr
    manifest = json.loads((tmp_path / "dist/current/manifest.json").read_text(encoding="utf-8"))
    assert manifest["data_dir"] == str(install / "data"), manifest["data_dir"]
    server = start_server(tmp_path / "dist", bundled_data_dir(), BASE, tmp_path / "server.log")
    try:
        status, _, body = http(server.url + "/health/ready")
        assert status == 200, body
    finally:
        server.stop()
    manifest = json.loads((tmp_path / "dist/current/manifest.json").read_text(encoding="utf-8"))
    assert manifest["data_dir"] == str(bundled_data_dir()), manifest["data_dir"]  # rebuilt: marked as built here
    assert "was built from the sources in" not in (tmp_path / "server.log").read_text(errors="replace")
