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


def test_a_dist_current_copied_as_a_folder_is_served_as_it_is_when_the_sources_changed(tmp_path, plan_copy, caplog):
    """serve rebuilds changed sources; over a dist/current that is a folder (cp -rL) it cannot
    publish, so it says why and serves what the folder holds, writing nothing."""
    import pianold.serve as serve_module
    from pianold.config import load_settings
    from pianold.publish import build as build_all, current_version

    published = build_all(load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "built", base=BASE))
    shutil.copytree(tmp_path / "built", tmp_path / "dist")  # follows the link, as cp -rL does
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")
    settings = load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist", base=BASE)
    serve_module.ensure_published(settings, on_build_error=lambda err: None)  # no exception: it serves
    assert "cannot be published" in caplog.text and "is a folder" in caplog.text, caplog.text
    assert current_version(tmp_path / "dist").id == published.id
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [".lock", "current", "versions"]
    assert [p.name for p in (tmp_path / "dist" / "versions").iterdir()] == [published.id]
