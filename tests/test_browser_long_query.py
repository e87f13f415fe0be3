"""A query longer than a URL should be, from the query page in a real browser."""

from __future__ import annotations

QUERY = ("PREFIX psm: <https://w3id.org/pianold/onto/psm/>\n"
         "SELECT ?a WHERE { ?a a psm:Action } ORDER BY ?a\n")


def test_a_query_too_long_for_a_url_is_posted_and_downloads_by_post(browser, live_server, tmp_path):
    page = browser.new_page(accept_downloads=True)
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)) if r.resource_type == "document" else None)
    page.goto(live_server.url + "/sparql")
    long_query = QUERY + "# " + "una nota lunga " * 2500  # ~40 kB: over the server's 32 KiB header cap as a GET
    page.evaluate("q => document.querySelector('.CodeMirror').CodeMirror.setValue(q)", long_query)
    page.get_by_role("button", name="Esegui / Run").click()
    page.wait_for_selector("table.results")
    assert requests[-1][0] == "POST"
    assert page.locator("table.results tbody tr").count() == 10
    assert page.locator("p.downloads a").count() == 0  # no link could carry the query
    assert "too long for a shareable link" in page.locator("form.downloads").inner_text()
    with page.expect_download() as download:
        page.locator("form.downloads").get_by_role("button", name="CSV").click()
    saved = tmp_path / "answer.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "sparql.csv"
    assert saved.read_text(encoding="utf-8").splitlines()[0] == "a" and len(saved.read_text().splitlines()) == 11


def test_a_short_query_stays_a_shareable_get(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/sparql")
    page.evaluate("q => document.querySelector('.CodeMirror').CodeMirror.setValue(q)", QUERY)
    page.get_by_role("button", name="Esegui / Run").click()
    page.wait_for_selector("table.results")
    assert "/sparql?query=" in page.url and "format=html" in page.url
    share = page.get_by_role("link", name="Link da condividere / Shareable link").get_attribute("href")
    page.goto(live_server.url + share)
    assert page.locator("table.results tbody tr").count() == 10
