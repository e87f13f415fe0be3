"""A person with a browser: headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import re


CONTAINS = "section[aria-labelledby=children-h] ul.elements"  # the Contains list ('Citato da' names children too)


def test_follow_links_down_to_an_action(browser, live_server, tmp_path):
    page = browser.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "it"
    page.get_by_role("link", name="Piano Strategico Metropolitano – PSM BARI 20>30").click()
    page.wait_for_url("**/data/plan/bari-psm-2030.html")
    page.locator(CONTAINS).get_by_role("link", name="5 Housing first, inclusione attiva e innovazione sociale").click()
    page.wait_for_url("**/axis/5.html")
    assert "«Tutti, nessuno escluso»" in page.locator(".motto").inner_text()
    page.locator(CONTAINS).get_by_role("link", name="5.1 Contrastare le povertà abitative e favorire l’housing sociale").click()
    page.wait_for_url("**/objective/5.1.html")
    page.locator(CONTAINS).get_by_role("link", name="5.1.1 Potenziare", exact=False).click()
    page.wait_for_url("**/specific-objective/5.1.1.html")
    page.locator(CONTAINS).get_by_role("link", name="5.1.1.a Rafforzamento", exact=False).click()
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


def _luminance(rgb: str) -> float:
    """WCAG relative luminance of a computed 'rgb(r, g, b)' / 'rgba(...)' colour."""
    channels = [int(float(c)) / 255 for c in re.findall(r"[\d.]+", rgb)[:3]]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_sparql_editor_is_no_keyboard_trap(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/sparql")
    page.locator("label[for=query]").click()  # the visible label focuses the editor
    field = page.locator(".CodeMirror textarea")
    assert field.evaluate("e => e === document.activeElement")
    assert field.get_attribute("aria-label") == "Interrogazione / Query"  # its name is the visible label's
    assert page.locator(".CodeMirror").evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # focus shows
    before = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"  # Tab leaves the editor for Esegui / Run
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()") == before  # no tab typed
    page.keyboard.press("Shift+Tab")
    assert field.evaluate("e => e === document.activeElement")
    page.keyboard.press("Shift+Tab")
    assert not field.evaluate("e => e === document.activeElement")  # and Shift+Tab leaves it backwards
    keys = page.locator("#query-keys")
    assert keys.is_visible() and "Ctrl+Invio" in keys.inner_text() and "Ctrl+Enter" in keys.inner_text()
    assert field.get_attribute("aria-describedby") == "query-keys"
    page.locator("label[for=query]").click()
    page.keyboard.press("Control+Enter")  # runs the query
    page.wait_for_url("**/sparql?query=*")
    assert page.locator("#results-h").is_visible()


def test_the_editor_completes_prefixes_and_ontology_terms(browser, live_server):
    """Ctrl+Space in the editor offers the ontology's terms that match what is typed, by their CURIE
    or their Italian label, and Enter writes the one chosen; the key is told with the others."""
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/sparql")
    assert "Ctrl+Spazio" in page.locator("#query-keys").inner_text()
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setValue('SELECT * WHERE { ?a a psm:Ac')")
    page.evaluate("(() => { const cm = document.querySelector('.CodeMirror').CodeMirror; cm.focus(); cm.setCursor(cm.lineCount(), 0); })()")
    page.keyboard.press("Control+Space")
    hints = page.locator(".CodeMirror-hints li")
    hints.first.wait_for()
    offered = hints.all_inner_texts()
    assert any(h.startswith("psm:Action") and "Azione" in h for h in offered), offered
    assert all(h.startswith("psm:Ac") for h in offered), offered
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()").endswith("?a a psm:Action")
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setValue('SELECT * WHERE { ?a a azion')")
    page.evaluate("(() => { const cm = document.querySelector('.CodeMirror').CodeMirror; cm.focus(); cm.setCursor(cm.lineCount(), 0); })()")
    page.keyboard.press("Control+Space")
    hints.first.wait_for()
    assert any(h.startswith("psm:Action") for h in hints.all_inner_texts())  # by its Italian label
    assert errors == []


PAGES_AT_360 = ["/", "/data/plan/bari-psm-2030", "/data/plan/bari-psm-2030/axis/5",
                "/data/plan/bari-psm-2030/action/5.1.1.a", "/onto/psm", "/catalog", "/sparql",
                "/sparql?format=html&query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%205"]


# pages whose heading or message is a long IRI with no label to stand for it (a linkset, a class
# partition, a 404 naming the IRI asked for): nothing in it breaks a line unless the style lets it
LONG_IRI_PAGES_AT_360 = {"/catalog/linkset/bari-psm-2030/psm-contributesTo/sdg": 200,
                         "/catalog/partition/bari-psm-2030/class/psm-Action": 200,
                         "/data/plan/bari-psm-2030/action/9.9.9.z": 404}


def test_no_page_scrolls_sideways_on_a_360px_phone(browser, live_server):
    page = browser.new_page(viewport={"width": 360, "height": 740})
    wide = {}
    expected = {**dict.fromkeys(PAGES_AT_360, 200), **LONG_IRI_PAGES_AT_360}
    for path, status in expected.items():
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == status, path  # a narrow error page would pass unseen
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide[path] = width
    assert wide == {}


def test_focus_outline_contrasts_with_the_page_and_the_header(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link, in the header
    focused = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor,
                header: getComputedStyle(document.activeElement.closest('header')).backgroundColor,
                page: getComputedStyle(document.body).backgroundColor}; }""")
    assert focused["style"] == "solid" and focused["width"] >= 2
    assert _contrast(focused["colour"], focused["page"]) >= 3, focused
    assert _contrast(focused["colour"], focused["header"]) >= 3, focused


def test_action_page_keeps_the_notation_case_and_sparql_lines_read_well(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/data/plan/bari-psm-2030/action/5.1.1.a")
    assert page.locator("p.kind").inner_text() == "Azione 5.1.1.a"  # not "AZIONE 5.1.1.A"
    page.goto(live_server.url + "/sparql?format=html&query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%201")
    assert re.fullmatch(r"1 riga / row in \d+ ms", page.locator("#results-h ~ p.meta").first.inner_text())
    assert page.locator("p.downloads").inner_text().startswith("Scarica / Download: JSON")
    number = page.locator(".CodeMirror-linenumber").last
    colours = number.evaluate("""e => [getComputedStyle(e).color,
        getComputedStyle(document.querySelector('.CodeMirror-gutters')).backgroundColor]""")
    assert _contrast(*colours) >= 4.5, colours


def test_no_javascript_needed_and_nothing_from_another_origin(browser, live_server):
    """README: "No JavaScript needed, nothing from a CDN". With scripts off, a person reaches an
    action from the home page and runs a query from the SPARQL page's form; with scripts on, no
    page asks anything of another origin (fonts, scripts, styles, images)."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="Piano Strategico Metropolitano – PSM BARI 20>30").click()
        page.wait_for_url("**/data/plan/bari-psm-2030.html")
        page.locator("svg.plan-tree a").filter(has_text="5.1.1.a").click()
        page.wait_for_url("**/action/5.1.1.a.html")
        assert page.locator("h1").inner_text() == "Rafforzamento dell’Agenzia Metropolitana per la casa"
        page.goto(live_server.url + "/sparql")
        page.locator("textarea#query").fill("SELECT ?a WHERE { ?a a <https://w3id.org/pianold/onto/psm/Action> }")
        page.locator("button[type=submit], input[type=submit]").first.click()
        page.wait_for_url("**/sparql?*")
        assert page.locator("#results-h").is_visible()
        assert page.locator("table a[href$='/action/5.1.1.a']").count() >= 1
    finally:
        context.close()

    context = browser.new_context()
    requested: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda r: requested.append(r.url))
        for path in PAGES_AT_360:
            assert page.goto(live_server.url + path).status == 200, path
            page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert len(requested) > len(PAGES_AT_360)  # pages and their styles, scripts, images were seen
    elsewhere = [u for u in requested if not u.startswith(live_server.url + "/") and not u.startswith("data:")]
    assert elsewhere == []


def test_a_refused_query_is_told_first_and_named_in_the_title(browser, live_server):
    """A query with a syntax error comes back with its message above the editor that holds it: on a
    360 px phone the message is on the first screen, not under 16 lines of editor; the page's title
    (what a screen reader reads first, what a tab shows) says it failed, and a results page says so."""
    page = browser.new_page(viewport={"width": 360, "height": 740})
    response = page.goto(live_server.url + "/sparql?format=html&query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20")
    assert response is not None and response.status == 400
    error = page.locator(".query-error")
    assert error.get_attribute("role") == "alert"
    assert error.evaluate("e => e.getBoundingClientRect().top") < 740  # seen without scrolling
    assert error.evaluate("e => e.compareDocumentPosition(document.querySelector('form.sparql-form'))"
                          " & Node.DOCUMENT_POSITION_FOLLOWING")  # the form with the query comes after it
    assert page.title() == "400 Richiesta non valida · SPARQL · pianold"
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()") == "SELECT * WHERE { ?s ?p "
    page.goto(live_server.url + "/sparql?format=html&query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D")
    assert page.title() == "Risultati · SPARQL · pianold"
    page.goto(live_server.url + "/sparql")
    assert page.title() == "SPARQL · pianold"


def test_the_sdg_chart_stays_readable_on_a_360px_phone(browser, live_server):
    """The chart's goal names are at least 11 px high on a phone (they were 5 px: the SVG shrank to
    fit 232 px), the chart scrolling in its own box while the page does not scroll sideways."""
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(live_server.url + "/data/plan/bari-psm-2030")
    heights = page.locator("figure.chart svg > g > text:first-of-type").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().height)")
    assert len(heights) == 17 and min(heights) >= 11, heights
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.locator("figure.chart").evaluate("e => e.scrollWidth <= e.clientWidth")  # no scrolling where there is room


def test_the_sdg_chart_tells_a_screen_reader_which_goals(browser, live_server):
    """The chart is one image to assistive technology (its texts are hidden by role="img"): its
    accessible name says each linked goal by name with its count, not '11: 6'."""
    page = browser.new_page()
    page.goto(live_server.url + "/data/plan/bari-psm-2030")
    chart = page.get_by_role("img", name=re.compile("Azioni per Obiettivo di sviluppo sostenibile"))
    name = chart.evaluate("e => [...e.getAttribute('aria-labelledby').split(' ')]"
                          ".map(id => document.getElementById(id).textContent).join(' ')")
    assert "11. Città e comunità sostenibili: 6" in name, name
    assert re.search(r"nessuna agli altri \d+ obiettivi", name), name
    snapshot = page.locator("figure.chart").aria_snapshot()
    assert "Città e comunità sostenibili: 6" in snapshot, snapshot  # what the accessibility tree exposes


def test_the_plan_tree_is_a_group_of_links_not_an_image(browser, live_server):
    """The tree's nodes are links a keyboard reaches; inside role="img" (whose children are
    presentational in WAI-ARIA) a screen reader would be told of one picture and land on unnamed
    focus stops. As a named group, each of its 29 links is exposed with its level, code and title."""
    page = browser.new_page()
    page.goto(live_server.url + "/data/plan/bari-psm-2030")
    tree = page.get_by_role("group", name="Albero del piano / Plan tree")
    assert tree.get_by_role("link").count() == 29
    assert tree.get_by_role("link", name="Azione 5.1.1.a Rafforzamento dell’Agenzia Metropolitana per la casa").count() == 1
    assert page.locator("svg.plan-tree").get_attribute("role") != "img"


def test_the_site_navigation_says_where_the_page_is(browser, live_server):
    """The header's sections mark the one the page is in (aria-current, and bold for the eye): its
    own page ("page") or a page within it ("true"), e.g. an action within Piani, a distribution
    within Catalogo; a page outside them (a 404 at /nope) is in none."""
    page = browser.new_page()
    expected = {"/": ("Piani / Plans", "page"), "/data/plan/bari-psm-2030/action/5.1.1.a": ("Piani / Plans", "true"),
                "/onto/psm": ("Ontologia / Ontology", "page"), "/onto/psm/Action": ("Ontologia / Ontology", "true"),
                "/sparql": ("SPARQL", "page"), "/catalog": ("Catalogo / Catalogue", "page"),
                "/catalog/distribution/all-ttl": ("Catalogo / Catalogue", "true"), "/nope": (None, None)}
    for path, (name, current) in expected.items():
        page.goto(live_server.url + path)
        nav = page.get_by_role("navigation", name="Sezioni / Sections")
        marked = nav.locator("a[aria-current]")
        if name is None:
            assert marked.count() == 0, path
            continue
        assert marked.count() == 1 and marked.inner_text() == name and marked.get_attribute("aria-current") == current, path
        weights = nav.get_by_role("link").evaluate_all("as => as.map(a => getComputedStyle(a).fontWeight)")
        assert sorted(weights) == ["400"] * (len(weights) - 1) + ["700"], (path, weights)


def test_the_ontology_names_its_terms_by_their_labels(browser, live_server):
    """The ontology page's term links read as the terms' Italian labels (a link list of a screen
    reader said 'psm:Action', 'psm:adoptedBy'…), the CURIE next to them as in the properties table."""
    page = browser.new_page()
    page.goto(live_server.url + "/onto/psm")
    terms = page.locator("dl.terms dt")
    assert terms.count() > 10
    names = terms.locator("a").all_inner_texts()
    assert [n for n in names if re.match(r"[a-z]+:", n)] == [], names
    action = terms.filter(has=page.get_by_role("link", name="Azione", exact=True))
    assert action.count() == 1 and action.locator("code").inner_text() == "psm:Action"
    action.get_by_role("link", name="Azione", exact=True).click()
    page.wait_for_url("**/onto/psm/Action.html")


def test_the_curl_command_follows_the_editor_and_is_copied(browser, live_server):
    """The curl command under "Uso da programma" is the query in the editor as it is typed, quoted
    as a shell reads it back; the button puts it on the clipboard and says so (no inline script)."""
    import shlex

    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(live_server.url + "/sparql")
        query = "SELECT ?t WHERE {\n  ?s ?p ?t FILTER(?t = \"l'asse\")\n}"
        page.evaluate("q => document.querySelector('.CodeMirror').CodeMirror.setValue(q)", query)
        command = page.locator("#query-curl").inner_text()
        assert shlex.split(command) == ["curl", "-H", "Accept: text/csv", "--data-urlencode", "query=" + query,
                                        live_server.url + "/sparql"]
        page.get_by_role("button", name="Copia il comando / Copy the command").click()
        status = page.locator("#copy-curl-status")
        status.filter(has_text="Copiato").wait_for()
        assert status.inner_text() == "Copiato / Copied"
        assert page.evaluate("navigator.clipboard.readText()") == command
        assert errors == []
    finally:
        context.close()


def test_a_result_iris_name_is_on_its_own_line_under_it(browser, live_server):
    """In the results table a resource's name comes under its IRI, not run on after it as if
    both were one text: it is told apart by its place, not by colour."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    query = "SELECT ?a WHERE { VALUES ?a { <https://w3id.org/pianold/data/plan/bari-psm-2030/action/5.1.1.a> } }"
    page.goto(live_server.url + "/sparql?format=html&query=" + query.replace(" ", "%20"))
    cell = page.locator("table.results td").first
    link, name = cell.locator("a"), cell.locator(".iri-label")
    assert name.inner_text() == "Rafforzamento dell’Agenzia Metropolitana per la casa"
    assert name.evaluate("e => e.getBoundingClientRect().top") >= link.evaluate("e => e.getBoundingClientRect().bottom") - 1
    assert name.evaluate("e => getComputedStyle(e).display") == "block"
