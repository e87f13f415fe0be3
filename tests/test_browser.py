"""A person with a browser: headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import shutil

import pytest

from conftest import require

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    require(shutil.which(CHROMIUM) is not None, "Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_follow_links_down_to_an_action(browser, live_server, tmp_path):
    page = browser.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "it"
    page.get_by_role("link", name="Piano Strategico Metropolitano – PSM BARI 20>30").click()
    page.wait_for_url("**/data/plan/bari-psm-2030.html")
    page.locator("main ul.elements").get_by_role("link", name="5 Housing first, inclusione attiva e innovazione sociale").click()
    page.wait_for_url("**/axis/5.html")
    assert "«Tutti, nessuno escluso»" in page.locator(".motto").inner_text()
    page.locator("main ul.elements").get_by_role("link", name="5.1 Contrastare le povertà abitative e favorire l’housing sociale").click()
    page.wait_for_url("**/objective/5.1.html")
    page.locator("main ul.elements").get_by_role("link", name="5.1.1 Potenziare", exact=False).click()
    page.wait_for_url("**/specific-objective/5.1.1.html")
    page.locator("main ul.elements").get_by_role("link", name="5.1.1.a Rafforzamento", exact=False).click()
    page.wait_for_url("**/action/5.1.1.a.html")
    assert page.locator("h1").inner_text() == "Rafforzamento dell’Agenzia Metropolitana per la casa"
    assert page.locator("nav.breadcrumb li").count() == 5
    shot = tmp_path / "action-5.1.1.a.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert problems == []


def test_tree_nodes_are_links_and_keyboard_reachable(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/data/plan/bari-psm-2030.html")
    page.locator("svg.plan-tree a").filter(has_text="5.3.1.b").click()
    page.wait_for_url("**/action/5.3.1.b.html")
    page.goto(live_server.url + "/data/plan/bari-psm-2030.html")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"  # the first Tab reaches the skip link
