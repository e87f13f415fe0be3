"""What README.md and docs/ show is what pianold does: their examples read as plans, the settings
they list exist, the options they show are in the commands' --help."""

from __future__ import annotations

import dataclasses
import re
import shutil

import click
import pytest

from pianold.cli import main
from pianold.config import Settings
from pianold.ingest import load_plan

from conftest import BARI, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
DEPLOYMENT = (ROOT / "docs/deployment.md").read_text(encoding="utf-8")


def blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def section(title: str, text: str = README) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def readme_plan(tmp_path, table_format: str):
    """The README's plan.toml with its page-text or CSV example as the axis table."""
    folder = tmp_path / "bari-psm-2030"
    (folder / "sources").mkdir(parents=True)
    toml = blocks("toml")[0]
    if table_format == "page-text":
        # the example ends with the start of a second row and an ellipsis: one row is the table
        page = blocks("text")[0].replace("\n2\n…\n", "\n")
        (folder / "sources/asse-5-page.txt").write_text(page, encoding="utf-8")
    else:
        (folder / "sources/asse-5.csv").write_text(blocks("csv")[0], encoding="utf-8")
        toml = toml.replace('file = "sources/asse-5-page.txt"', 'file = "sources/asse-5.csv"')
        toml = toml.replace('format = "page-text"', 'format = "wdt-csv"')
    (folder / "plan.toml").write_text(toml, encoding="utf-8")
    return folder


@pytest.mark.parametrize("table_format", ["page-text", "wdt-csv"])
def test_the_readme_plan_toml_reads_with_its_table_examples(tmp_path, table_format):
    plan = load_plan(readme_plan(tmp_path, table_format))
    assert [e.code for e in plan.elements] == ["5", "5.1", "5.1.1", "5.1.1.a"]
    assert plan.element("5.1.1.a").title == "Rafforzamento dell’Agenzia Metropolitana per la casa"
    assert plan.publisher.email  # the catalogue's contact point, which check-catalog requires


def test_a_new_axis_table_as_the_readme_adds_it(tmp_path):
    folder = readme_plan(tmp_path, "page-text")
    tables = next(b for b in blocks("toml") if b.startswith("[[tables]]\naxis = \"1\""))
    axis = '\n[[axes]]\ncode = "1"\ntitle = "Agenda digitale Metropolitana"\n\n'
    (folder / "plan.toml").write_text((folder / "plan.toml").read_text(encoding="utf-8") + axis + tables, encoding="utf-8")
    (folder / "sources/asse-1.csv").write_text(
        "wdt_ID,Obiettivo,Obiettivo Specifico,Azioni,Link\n1,Un obiettivo,Un obiettivo specifico,1.1.1.a Un’azione\n",
        encoding="utf-8")
    assert "1.1.1.a" in {e.code for e in load_plan(folder).elements}


def test_a_second_plan_with_the_readme_levels(tmp_path):
    """Asse › Strategia › Azione, as the README declares them, with the table columns it names."""
    folder = tmp_path / "torino-psm"
    shutil.copytree(BARI, folder, ignore=shutil.ignore_patterns("links.csv", "sources"))
    (folder / "sources").mkdir()
    toml = (folder / "plan.toml").read_text(encoding="utf-8")
    head = toml[:toml.index("[[levels]]")].replace('id = "bari-psm-2030"', 'id = "torino-psm"')
    levels = next(b for b in blocks("toml") if 'key = "strategy"' in b)
    tail = '\n[[axes]]\ncode = "1"\ntitle = "Torino metropoli produttiva"\n\n' \
           '[[tables]]\naxis = "1"\nfile = "sources/asse-1.csv"\nformat = "wdt-csv"\n'
    (folder / "plan.toml").write_text(head + levels + tail, encoding="utf-8")
    columns = re.search(r"Its tables then have the columns `([^`]+)`", README).group(1)
    (folder / "sources/asse-1.csv").write_text(f"{columns}\n1,Una strategia,1.2.3 Un’azione,\n", encoding="utf-8")
    plan = load_plan(folder)
    assert [(e.code, e.level.key) for e in plan.elements] == [("1", "axis"), ("1.2", "strategy"), ("1.2.3", "action")]


def test_the_readme_links_example_reads_for_the_bari_plan(tmp_path):
    folder = tmp_path / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    example = next(b for b in blocks("csv") if b.startswith("code,property,target,rationale\n"))
    (folder / "links.csv").write_text(example, encoding="utf-8")
    links = load_plan(folder).links
    assert [(link.code, str(link.target)) for link in links] == [
        ("5.3.1.b", "http://metadata.un.org/sdg/10.2"), ("5.3.1.b", "http://eurovoc.europa.eu/4143")]


SETTINGS = {f.name for f in dataclasses.fields(Settings)}


def documented_settings() -> set[str]:
    serving = section("Serving")
    listed = serving[serving.index("Settings come from"):serving.index("- **Dereference**")]
    table = re.findall(r"^\| `([a-z_]+)` \|", DEPLOYMENT, re.M)
    return set(re.findall(r"`([a-z][a-z_]+)`", listed)) | set(table)


def test_every_setting_the_docs_list_exists():
    unknown = documented_settings() - SETTINGS
    assert not unknown, f"documented but not settings: {sorted(unknown)}"


def test_every_setting_is_documented():
    everywhere = README + DEPLOYMENT
    missing = [name for name in SETTINGS if f"`{name}`" not in everywhere]
    assert not missing, f"settings no document names: {missing}"


def options_of(name: str) -> set[str]:
    command = main.get_command(click.Context(main), name)
    return {opt for param in [*command.params, *main.params] for opt in param.opts + param.secondary_opts}


def test_every_option_the_commands_table_shows_exists():
    for row in re.findall(r"^\| `pianold ([a-z-]+)([^`]*)` \|(.*)$", section("Commands"), re.M):
        name, synopsis, text = row
        shown = set(re.findall(r"--[a-z-]+", synopsis + " ".join(re.findall(r"`pianold [^`]*`", text))))
        assert shown <= options_of(name), (name, shown - options_of(name))


def test_keep_versions_counts_the_published_version(plan_copy, tmp_path):
    """docs/deployment.md §4: keep_versions is how many versions stay, the published one included."""
    from pianold.config import load_settings
    from pianold.publish import build

    assert "`keep_versions` (default 3) is how many versions stay in `dist/versions/`" in DEPLOYMENT
    toml = plan_copy / "bari-psm-2030/plan.toml"
    original = toml.read_text(encoding="utf-8")
    settings = load_settings(env={}, data_dir=plan_copy, dist_dir=tmp_path / "dist")
    assert settings.keep_versions == 3
    built = []
    for n in range(4):
        toml.write_text(original.replace('keywords = ["', f'keywords = ["prova {n}", "'), encoding="utf-8")
        built.append(build(settings).id)
    assert sorted(p.name for p in (tmp_path / "dist/versions").iterdir()) == sorted(built[1:])


def test_relative_folders_of_a_configuration_file_are_taken_from_the_current_folder(tmp_path, monkeypatch):
    """docs/deployment.md §4: relative paths come from the folder the command runs in."""
    from pianold.config import load_settings

    assert "are taken from the folder the command runs in, not from the\nconfiguration file's" in DEPLOYMENT
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/pianold.toml").write_text('data_dir = "data"\ndist_dir = "dist"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={"PIANOLD_CONFIG": "etc/pianold.toml"})
    assert (settings.data_dir.resolve(), settings.dist_dir.resolve()) == (tmp_path / "data", tmp_path / "dist")


def test_a_query_url_under_the_header_cap_is_answered(live_server):
    """docs/deployment.md §1: the 32 KiB cap counts the request line and the headers together; a
    GET query of 20 KB (over half the cap, but under it with the usual headers) runs."""
    import urllib.parse
    import urllib.request

    assert "a query URL under 32 KiB with the usual few headers is answered" in DEPLOYMENT
    query = "ASK { ?s ?p ?o }\n# " + "x" * 20_000
    url = f"{live_server.url}/sparql?query={urllib.parse.quote(query)}"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"}),
                                timeout=60) as answer:
        assert answer.status == 200 and b"true" in answer.read()


def test_every_pianold_command_line_of_the_docs_names_options_that_exist():
    """The shell lines of README.md and docs/deployment.md, and the `pianold …` commands in their
    text: each option after a command's name is one that command takes there."""
    lines = [ln for block in blocks("sh") + blocks("sh", DEPLOYMENT) for ln in block.split("\n")]
    lines += re.findall(r"`(pianold [^`]*)`", README + DEPLOYMENT)
    checked = 0
    for line in lines:
        m = re.search(r"\bpianold\s+((?:--[a-z-]+\s+\S+\s+)*)([a-z-]+)((?:\s[^#&|]*)?)", line)
        if not m or m.group(2) not in main.commands:
            continue
        before = set(re.findall(r"--[a-z-]+", m.group(1)))
        after = set(re.findall(r"(?<![\w-])--[a-z-]+", m.group(3)))
        command = main.commands[m.group(2)]
        assert before <= {o for p in main.params for o in p.opts}, line
        assert after <= {o for p in command.params for o in p.opts + p.secondary_opts}, line
        checked += 1 + len(before)
    assert checked >= 30


def test_the_triples_two_graphs_share_are_as_many_as_the_readme_says(built_dist):
    """README, SPARQL: a triple in two named graphs (a plan's title in its graph and the catalogue)
    is once in the default graph; the README counts them for Bari."""
    import pyoxigraph

    said = int(re.search(r"catalogue: (\d+) such triples in Bari", README).group(1))
    store = pyoxigraph.Store.read_only(str(built_dist.dist_dir / "current" / "store"))
    count = "SELECT (COUNT(*) AS ?n) WHERE { %s }"
    quads = int(next(iter(store.query(count % "GRAPH ?g { ?s ?p ?o }")))["n"].value)
    merged = int(next(iter(store.query(count % "?s ?p ?o")))["n"].value)
    assert quads - merged == said


def test_the_test_command_names_every_service_ci_installs_for_the_tests():
    """The README says which tests skip when a service is missing; .ci/run installs each with
    Debian's package. Virtuoso came to .ci/run and its tests skip without it, unnamed here."""
    paragraph = section("Set-up: two commands").split("Run the whole test suite", 1)[1].split("```", 1)[0]
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    for command, name in (("chromium", "chromium"), ("virtuoso-t", "Virtuoso")):
        assert f"command -v {command}" in ci, command  # what .ci/run installs for the tests
        assert name in paragraph, (name, paragraph)
