"""Shared fixtures: the repository's paths, a built copy of the bundled plans, service checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pianold.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
BARI = DATA / "bari-psm-2030"
BASE = "https://w3id.org/pianold"
MAX_BYTES = Settings.sparql_max_answer_mb * 1024 * 1024  # the default answer cap, for query jobs made by hand


def require(available: bool, reason: str) -> None:
    """Skip when a service or tool is missing locally; fail in CI (PIANOLD_REQUIRE_SERVICES=1),
    where .ci/run installs everything, so a missing install step cannot pass silently."""
    if available:
        return
    if os.environ.get("PIANOLD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def plan_copy(tmp_path) -> Path:
    """A writable copy of the bundled data folder (all plans), for tests that change sources."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory):
    """The bundled plans built once into a session-wide dist folder."""
    from pianold.config import load_settings
    from pianold.publish import build

    dist = tmp_path_factory.mktemp("dist")
    settings = load_settings(env={}, data_dir=DATA, dist_dir=dist, base=BASE)
    build(settings)
    return settings


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`pianold serve` running for real on a free loopback port over the bundled plans."""
    from live import start_server

    folder = tmp_path_factory.mktemp("live")
    server = start_server(folder / "dist", DATA, BASE, folder / "server.log")
    yield server
    server.stop()
    log = (folder / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, f"the server logged a traceback:\n{log}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (never `playwright install`)."""
    require(shutil.which(CHROMIUM) is not None, "Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
