"""The `pianold` command as a user runs it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BASE, DATA
from live import QuietHandler, serve_loopback


def pianold(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pianold", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_build_and_validate(tmp_path):
    run = pianold("--dist", str(tmp_path / "dist"), "--data", str(DATA), "--base", BASE, "build")
    assert run.returncode == 0, run.stderr
    assert "published version" in run.stdout and "bari-psm-2030" in run.stdout
    ttl = tmp_path / "dist/current/plans/bari-psm-2030.ttl"
    assert ttl.is_file()
    # an unchanged rebuild publishes nothing new, and says so
    version = run.stdout.split()[2]
    run = pianold("--dist", str(tmp_path / "dist"), "--data", str(DATA), "--base", BASE, "build")
    assert run.returncode == 0 and run.stdout.startswith(f"nothing changed: version {version} "), run.stdout
    run = pianold("validate", str(ttl))
    assert run.returncode == 0 and "0 violations" in run.stdout
    run = pianold("--data", str(DATA), "validate")
    assert run.returncode == 0 and "conform" in run.stdout


def test_validate_reports_violations(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("""@prefix psm: <https://w3id.org/pianold/onto/psm/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://example.org/a> a psm:PlanElement ; skos:notation "x" .
""", encoding="utf-8")
    run = pianold("validate", str(bad))
    assert run.returncode == 1
    assert "Violation: <https://example.org/a>" in run.stdout
    assert "path:    skos:prefLabel" in run.stdout and "message:" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_validate_unreadable_input(tmp_path):
    garbage = tmp_path / "garbage.ttl"
    garbage.write_text("this is not turtle <<<", encoding="utf-8")
    for path in (garbage, tmp_path / "missing.ttl", tmp_path):
        run = pianold("validate", str(path))
        assert run.returncode == 2, path
        assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr


def test_build_with_bad_source_exits_1_and_writes_nothing(tmp_path, plan_copy):
    page = plan_copy / "bari-psm-2030/sources/asse-5-page.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("5.1.2.a Ampliamento", "<script>alert(1)</script> 5.1.2.a"), encoding="utf-8")
    run = pianold("--dist", str(tmp_path / "dist"), "--data", str(plan_copy), "build")
    assert run.returncode == 1
    assert "asse-5-page.txt:21:1: " in run.stderr and "HTML markup" in run.stderr
    assert "nothing was published" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "dist/current").exists()


def test_bad_configuration_is_a_clear_error(tmp_path):
    config = tmp_path / "pianold.toml"
    config.write_text("keep_versions = 'many'\n", encoding="utf-8")
    run = pianold("--config", str(config), "build")
    assert run.returncode != 0 and "keep_versions" in run.stderr and "Traceback" not in run.stderr
    run = pianold("--base", "ftp://nope", "build")
    assert run.returncode != 0 and "base must be an http(s) URL" in run.stderr
    # a character no IRI may hold: refused before the build (it was a traceback from the N-Triples writer)
    run = pianold("--base", "https://example.org/a b", "--dist", str(tmp_path / "dist"), "build")
    assert run.returncode == 1 and "base must be an http(s) URL" in run.stderr and "' '" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "dist/current").exists()


@pytest.mark.parametrize("toml, env, fragment", [
    ("", {"PIANOLD_SPARQL_TIMEOUT": "inf"}, "'inf' is not a valid float"),
    ("", {"PIANOLD_SPARQL_TIMEOUT": "nan"}, "'nan' is not a valid float"),
    ("", {"PIANOLD_WORKERS": "0"}, "must be at least 1"),
    ("max_connections = -1\n", {}, "must be at least 1"),
    ("sparql_max_query_bytes = -1\n", {}, "must be at least 1"),
    ("", {"PIANOLD_PORT": "-1"}, "port must be between 1 and 65535"),
    ("port = 70000\n", {}, "port must be between 1 and 65535"),
    ("port = 8080.7\n", {}, "8080.7 is not a valid int"),
    ("keep_versions = 1.5\n", {}, "1.5 is not a valid int"),
    ("sparql_timeout = true\n", {}, "True is not a valid float"),
    ("data_dir = 5\n", {}, "5 is not a valid Path"),
    ('host = ["a"]\n', {}, "is not a valid str"),
    ("", {"PIANOLD_HOST": "999.1.1.1"}, "host must be a host name or an IP address"),
    ("sparql_worker_memory_mb = 100\n", {}, "sparql_worker_memory_mb must be at least 256"),
    ("", {"PIANOLD_BASE": "https://example.org/{city}"}, "base must be an http(s) URL"),
    ('base = "https://example.org/pianold\\n"\n', {}, "base must be an http(s) URL"),
    ('combined_license = "https://example.org/lic enza"\n', {}, "is not an http(s) URL: it holds ' '"),
])
def test_settings_that_would_break_the_server_are_refused(tmp_path, toml, env, fragment):
    """Values that pass as numbers or text but no server can run with: one line, before anything starts."""
    from pianold.config import ConfigError, load_settings

    config = tmp_path / "pianold.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_settings(config, env=env)


@pytest.mark.parametrize("host", ["*", "::1", "[::1]", "0.0.0.0", "my_host.example", "localhost"])
def test_hosts_waitress_listens_on_are_accepted(host):
    from pianold.config import load_settings

    assert load_settings(env={"PIANOLD_HOST": host}).host == host


def test_validate_counts_plans_in_good_english_and_sums_up_source_problems(tmp_path):
    run = pianold("--data", str(DATA), "validate")
    assert run.returncode == 0 and "OK: 1 plan conforms to the shapes" in run.stdout, run.stdout
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    toml = data / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('ipa = "cmba"\n', ""), encoding="utf-8")
    run = pianold("--data", str(data), "validate")
    assert run.returncode == 2 and "missing required key 'publisher.ipa'" in run.stderr, run.stderr
    assert run.stderr.strip().splitlines()[-1] == "validation failed: 1 problem in the sources", run.stderr
    assert "Traceback" not in run.stderr


def test_a_plan_folder_without_plan_toml_is_not_left_out_silently(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    other = data / "torino-psm"
    shutil.copytree(DATA / "bari-psm-2030", other)
    (other / "plan.toml").rename(other / "plan.toml.txt")  # what Windows' hidden extensions make
    dist = tmp_path / "dist"
    run = pianold("--data", str(data), "--dist", str(dist), "build")
    assert run.returncode == 1 and not (dist / "current").exists(), run.stdout
    assert f"error: {other / 'plan.toml.txt'}: a plan folder needs a file named exactly plan.toml" in run.stderr, run.stderr
    run = pianold("--data", str(data / "bari-psm-2030"), "--dist", str(dist), "build")
    assert run.returncode == 1 and f"give --data {data}" in run.stderr, run.stderr


def test_a_file_given_as_the_data_folder_is_named_as_a_file(tmp_path):
    """--data naming a file was reported as "data folder not found", though the file is there."""
    notes = tmp_path / "plans.txt"
    notes.write_text("not a folder\n", encoding="utf-8")
    run = pianold("--data", str(notes), "--dist", str(tmp_path / "dist"), "build")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"error: {notes}: this is a file, not a folder: the data folder is the folder that holds the plan folders" in run.stderr, run.stderr
    assert "not found" not in run.stderr and not (tmp_path / "dist" / "current").exists()
    # a plan's own plan.toml: the folder to give is named
    run = pianold("--data", str(DATA / "bari-psm-2030" / "plan.toml"), "--dist", str(tmp_path / "dist"), "build")
    assert run.returncode == 1 and f"give --data {DATA}" in run.stderr, run.stderr


def test_a_plan_toml_that_is_a_folder_is_said_to_be_one(tmp_path, plan_copy):
    """A folder named plan.toml got the advice to rename 'plan.toml' to plan.toml."""
    folder = plan_copy / "bari-psm-2030"
    (folder / "plan.toml").rename(folder / "plan.toml.txt")
    (folder / "plan.toml").mkdir()
    run = pianold("--data", str(plan_copy), "--dist", str(tmp_path / "dist"), "build")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"error: {folder / 'plan.toml'}: plan.toml is a folder here, and a plan folder needs a file named plan.toml" in run.stderr, run.stderr
    assert "move this folder out of the plan folder, then rename 'plan.toml.txt' to plan.toml" in run.stderr, run.stderr
    assert "rename 'plan.toml' to" not in run.stderr and not (tmp_path / "dist" / "current").exists()


def test_data_and_dist_may_follow_the_command(tmp_path):
    """`pianold build --data DIR --dist DIR`, as people write it and as docs/deployment.md does."""
    dist = tmp_path / "dist"
    run = pianold("build", "--data", str(DATA), "--dist", str(dist))
    assert run.returncode == 0 and (dist / "current" / "manifest.json").is_file(), run.stderr
    run = pianold("validate", "--data", str(tmp_path / "nowhere"))
    assert run.returncode == 2 and "data folder not found" in run.stderr, run.stderr


def test_validate_reads_every_dump_the_build_publishes(built_dist):
    """`pianold validate FILE` takes any RDF, the published dumps included: the quads of all.nq
    (named graphs only) and the gzipped N-Triples are validated, not read as nothing."""
    current = built_dist.dist_dir / "current"
    for name in ("all.nq", "all.nt.gz", "plans/bari-psm-2030.nt.gz", "all.ttl"):
        run = pianold("validate", str(current / name))
        assert run.returncode == 0 and "0 violations" in run.stdout, (name, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr
    # a violation inside a named graph of an N-Quads file is found
    bad = built_dist.dist_dir.parent / "bad.nq"
    bad.write_text('<https://example.org/a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
                   '<https://w3id.org/pianold/onto/psm/PlanElement> <https://example.org/g> .\n', encoding="utf-8")
    run = pianold("validate", str(bad))
    assert run.returncode == 1 and "Violation: <https://example.org/a>" in run.stdout, run.stdout


def test_validate_refuses_a_file_without_triples(tmp_path):
    """An empty file (or one of only prefixes) holds nothing to validate: not an 'OK'."""
    empty = tmp_path / "empty.ttl"
    empty.write_text("@prefix psm: <https://w3id.org/pianold/onto/psm/> .\n", encoding="utf-8")
    run = pianold("validate", str(empty))
    assert run.returncode == 2 and "no RDF triples" in run.stderr, (run.stdout, run.stderr)


def test_validate_names_the_formats_it_reads(tmp_path):
    """A --format rdflib has no parser for is a usage error listing the names, not a plugin error."""
    ttl = tmp_path / "plan.ttl"
    ttl.write_text("<https://example.org/a> <https://example.org/p> 1 .\n", encoding="utf-8")
    run = pianold("validate", "--format", "bogus", str(ttl))
    assert run.returncode == 2 and "'bogus' is not one of" in run.stderr and "turtle" in run.stderr, run.stderr
    assert "plugin" not in run.stderr
    nq = tmp_path / "plan.txt"  # an extension that names no format
    nq.write_text("<https://example.org/a> <https://example.org/p> \"1\" <https://example.org/g> .\n", encoding="utf-8")
    run = pianold("validate", "--format", "nquads", str(nq))
    assert run.returncode == 0 and "0 violations" in run.stdout, run.stdout + run.stderr


def test_an_output_folder_that_cannot_be_written_is_named_by_every_command(tmp_path):
    """check-catalog and serve build when nothing is published: a --dist they cannot write is named
    as such (serve blamed the port), without errno's brackets."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    dist = blocker / "dist"
    for command in (["check-catalog"], ["serve", "--port", "1"]):
        run = pianold("--data", str(DATA), "--dist", str(dist), *command)
        assert run.returncode == 1, (command, run.stderr)
        assert f"cannot write to {dist}" in run.stderr and "Not a directory" in run.stderr, (command, run.stderr)
        assert "[Errno" not in run.stderr and "cannot serve on" not in run.stderr and "Traceback" not in run.stderr


def test_link_to_a_web_page_that_is_no_sparql_endpoint_is_one_line(tmp_path, built_dist):
    """The README: non-SPARQL endpoints give one-line errors (SPARQLWrapper's warning about the
    content type came first, two lines of its own source)."""
    class Page(QuietHandler):
        def do_GET(self):
            body = b"<!doctype html><title>Piano</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    url, stop = serve_loopback(Page)
    try:
        run = pianold("--data", str(DATA), "--dist", str(built_dist.dist_dir), "link", "--endpoint", url + "/", "--timeout", "5")
    finally:
        stop()
    assert run.returncode == 1 and "did not answer with SPARQL JSON results" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_help_names_where_the_folders_come_from(tmp_path):
    """--help says which settings stand in for an option left out, in the order they are read:
    it said ./pianold.toml came before $PIANOLD_CONFIG, and nothing of PIANOLD_DATA_DIR/DIST_DIR."""
    run = pianold("--help")
    text = " ".join(run.stdout.split())
    assert run.returncode == 0
    assert "$PIANOLD_CONFIG, else ./pianold.toml" in text
    assert "$PIANOLD_DATA_DIR, else the settings file's data_dir" in text
    assert "$PIANOLD_DIST_DIR, else the settings file's dist_dir" in text
    # and so they are read: the variable wins over the file
    (tmp_path / "pianold.toml").write_text(f'dist_dir = "{tmp_path / "from-file"}"\n', encoding="utf-8")
    from pianold.config import load_settings

    settings = load_settings(tmp_path / "pianold.toml", env={"PIANOLD_DIST_DIR": str(tmp_path / "from-env")})
    assert settings.dist_dir == tmp_path / "from-env"


def test_check_catalog_names_a_data_folder_that_does_not_exist(built_dist, tmp_path):
    """With something published, check-catalog checks it whatever --data says; a --data that does
    not exist is named as such, not as sources changed since the build."""
    missing = tmp_path / "nowhere"
    run = pianold("--data", str(missing), "--dist", str(built_dist.dist_dir), "check-catalog", "--errors-only")
    assert run.returncode == 0, run.stderr
    assert f"note: the data folder {missing} does not exist; this uses the published version" in run.stderr, run.stderr
    assert "as they are now" not in run.stderr
    a_file = tmp_path / "plan.toml"
    a_file.write_text("", encoding="utf-8")
    run = pianold("--data", str(a_file), "--dist", str(built_dist.dist_dir), "check-catalog", "--errors-only")
    assert run.returncode == 0, run.stderr
    assert f"note: the data folder {a_file} is a file, not a folder; this uses the published version" in run.stderr, run.stderr


@pytest.mark.parametrize("command, damage", [
    (["check-catalog"], "catalog.nt"), (["check-catalog"], "all.nq"),
    (["link", "--endpoint", "http://127.0.0.1:9/sparql", "--timeout", "1"], "store"),
])
def test_a_damaged_published_version_is_named_with_what_to_do(tmp_path, command, damage):
    """check-catalog and link read what is published: a file of it missing is one message naming
    the version and the way out, as serve gives (it was a traceback), with serve's exit status."""
    dist = tmp_path / "dist"
    assert pianold("--data", str(DATA), "--dist", str(dist), "build").returncode == 0
    version = (dist / "current").resolve()
    shutil.rmtree(version / damage) if (version / damage).is_dir() else (version / damage).unlink()
    run = pianold("--data", str(DATA), "--dist", str(dist), *command)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"the published version {version.name} ({version}) cannot be read" in run.stderr, run.stderr
    assert f"Remove {version} and run `pianold build` to publish it again" in run.stderr, run.stderr


def test_a_number_where_a_setting_is_text_says_to_quote_it(tmp_path):
    """An IPA code written as a number: the message named the Python type 'str | None'."""
    from pianold.config import ConfigError, load_settings

    config = tmp_path / "pianold.toml"
    config.write_text("catalog_publisher = 123\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(caught.value).endswith("setting 'catalog_publisher': 123 is not a valid str; write it between quotes: \"…\""), caught.value


def test_a_host_name_that_does_not_resolve_is_one_line(built_dist):
    """`--host` names an interface to listen on: one that does not resolve is said as a taken port is
    (waitress's ValueError was a traceback)."""
    run = pianold("--data", str(DATA), "--dist", str(built_dist.dist_dir), "--base", BASE,
                  "serve", "--host", "nonexistent.invalid", "--port", "18080")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "cannot serve on nonexistent.invalid:18080: the host name does not resolve" in run.stderr, run.stderr


def test_a_misspelt_environment_variable_is_named(tmp_path):
    """PIANOLD_DATA (after --data) is no setting: it was ignored without a word, and pianold read
    the bundled plans instead. A close match of a setting's variable is named; others stay quiet."""
    env = {**os.environ, "PIANOLD_DATA": str(tmp_path / "elsewhere"), "PIANOLD_REQUIRE_SERVICES": "1"}
    run = subprocess.run([sys.executable, "-m", "pianold", "--data", str(DATA), "validate"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "note: PIANOLD_DATA is no pianold setting (did you mean PIANOLD_DATA_DIR?)" in run.stderr, run.stderr
    assert "PIANOLD_REQUIRE_SERVICES" not in run.stderr


def test_link_does_not_write_its_candidates_over_a_links_csv(tmp_path, plan_copy, built_dist):
    """--out data/<plan>/links.csv replaced the office's curated links with unreviewed candidates;
    it is refused before anything is asked of the endpoint, and the file is as it was."""
    links = plan_copy / "bari-psm-2030" / "links.csv"
    before = links.read_bytes()
    run = pianold("--data", str(plan_copy), "--dist", str(built_dist.dist_dir), "link",
                  "--endpoint", "http://127.0.0.1:9/sparql", "--timeout", "1", "--out", str(links))
    assert run.returncode == 2 and "--out" in run.stderr and "--accept" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and links.read_bytes() == before


def test_a_dist_current_copied_as_a_folder_is_refused_before_anything_is_written(tmp_path, plan_copy):
    """`cp -rL dist` (or an rsync that follows links) makes dist/current a folder: the build wrote a
    whole version, could not switch to it, left a .current-PID link behind and said only "Is a
    directory". It refuses before writing, names what to move away, and builds once it is moved."""
    dist, copy = tmp_path / "dist", tmp_path / "copy"
    assert pianold("--data", str(plan_copy), "--dist", str(dist), "build").returncode == 0
    shutil.copytree(dist, copy)  # follows the link, as cp -rL does
    assert (copy / "current").is_dir() and not (copy / "current").is_symlink()
    toml = plan_copy / "bari-psm-2030" / "plan.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Mare"', 'title = "Mare nostro"'), encoding="utf-8")
    before = sorted(str(p.relative_to(copy)) for p in copy.rglob("*"))
    run = pianold("--data", str(plan_copy), "--dist", str(copy), "build")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"{copy / 'current'} is a folder, not the link to a version" in run.stderr, run.stderr
    assert f"nothing was published. Move it out of {copy} (e.g. `mv {copy / 'current'} " in run.stderr, run.stderr
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == before  # no version, no stray link
    shutil.move(copy / "current", tmp_path / "current.copy")
    run = pianold("--data", str(plan_copy), "--dist", str(copy), "build")
    assert run.returncode == 0 and (copy / "current").is_symlink(), run.stderr
    assert "Mare nostro" in (copy / "current" / "plans" / "bari-psm-2030.ttl").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["current", "pushed"])
def test_a_push_over_links_copied_as_folders_is_refused_before_the_store_is_loaded(tmp_path, built_dist, name):
    """A dist/ copied with `cp -rL` has folders where the links were: push loaded the store, then
    could not mark the version pushed (a traceback, IsADirectoryError), or marked versions/<id>,
    which a copied dist/current may not have. It is refused before any request to the store."""
    requests = []

    class Store(QuietHandler):
        def do_PUT(self):
            requests.append(self.path)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    copy = tmp_path / "dist"
    shutil.copytree(built_dist.dist_dir, copy, symlinks=True)
    link = copy / name
    target = (copy / "current").resolve()
    if link.is_symlink() or link.exists():
        link.unlink()
    shutil.copytree(target, link)
    url, stop = serve_loopback(Store)
    try:
        run = pianold("--dist", str(copy), "push", "--gsp-url", url + "/store")
    finally:
        stop()
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"{link} is a folder, not the link to a version" in run.stderr and "push again" in run.stderr, run.stderr
    assert requests == []


def test_validate_reports_a_code_pattern_that_is_no_regular_expression(built_dist, tmp_path):
    """The shapes match each code against its level's psm:notationPattern with REGEX: a pattern
    that is no regular expression, in a file given to `validate`, ended the run in a Python re.error
    traceback out of pyshacl. It is a violation at the level, with the reason."""
    plan = (built_dist.dist_dir / "current" / "plans" / "bari-psm-2030.ttl").read_text(encoding="utf-8")
    bad = tmp_path / "plan.ttl"
    bad.write_text(re.sub(r'psm:notationPattern "[^"]*"', 'psm:notationPattern "([a-z"', plan, count=1), encoding="utf-8")
    run = pianold("validate", str(bad))
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "psm:notationPattern" in run.stdout and "The code pattern is not a regular expression (unterminated" in run.stdout, run.stdout
    assert "1 violation" in run.stdout, run.stdout


@pytest.mark.parametrize("option", ["--gsp-url", "PIANOLD_STORE_URL"])
def test_a_store_url_holding_a_password_is_refused_without_showing_it(tmp_path, built_dist, option):
    """`http://admin:secret@host/…` was not used to authenticate (urllib took `admin:secret@host`
    for the host name: "Name or service not known") and the error message repeated the URL, the
    password with it, to a terminal or a CI log. The user goes in store_user, the password in
    PIANOLD_STORE_PASSWORD: the URL is refused before any request, the password not shown."""
    url = "http://admin:s3cret-pw@127.0.0.1:9/store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIANOLD_")}
    args = ["--gsp-url", url] if option == "--gsp-url" else ["--gsp-url", "http://127.0.0.1:9/store"]
    if option != "--gsp-url":
        env[option] = url
    run = subprocess.run([sys.executable, "-m", "pianold", "--dist", str(built_dist.dist_dir), "push", *args],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "s3cret-pw" not in run.stderr + run.stdout, run.stderr
    assert "store_user" in run.stderr and "PIANOLD_STORE_PASSWORD" in run.stderr, run.stderr


def test_a_file_given_as_the_data_folder_gets_the_data_folder_it_is_in(tmp_path, plan_copy):
    """A file whose name starts with "plan" (plans.txt, next to nothing of a plan) was taken for a
    plan's plan.toml: the advice named the folder two levels up, which holds no plan. The data
    folder is named when the file is in a plan folder (plan.toml, links.csv, a source), and
    only then."""
    site = tmp_path / "site"
    site.mkdir()
    notes = site / "plans.txt"
    notes.write_text("the plans we publish\n", encoding="utf-8")
    run = pianold("--data", str(notes), "--dist", str(tmp_path / "dist"), "build")
    assert run.returncode == 1 and "this is a file, not a folder" in run.stderr, run.stderr
    assert f"give --data {tmp_path} " not in run.stderr and "give --data that folder" in run.stderr, run.stderr
    plan = plan_copy / "bari-psm-2030"
    for inside in (plan / "plan.toml", plan / "links.csv", plan / "sources" / "asse-5-page.txt"):
        run = pianold("--data", str(inside), "--dist", str(tmp_path / "dist"), "build")
        assert run.returncode == 1 and f"give --data {plan_copy} (or set data_dir)" in run.stderr, (inside, run.stderr)


def test_link_writes_its_candidates_to_a_links_csv_outside_the_plans(tmp_path, built_dist):
    """Only a plan's links.csv (beside its plan.toml) is kept from --out: any file named links.csv
    was refused, as if it would "replace a plan's links" (a review folder's links.csv, say)."""
    review = tmp_path / "review"
    review.mkdir()
    run = pianold("--data", str(DATA), "--dist", str(built_dist.dist_dir), "link",
                  "--endpoint", "http://127.0.0.1:9/sparql", "--timeout", "1", "--out", str(review / "links.csv"))
    assert "would replace a plan's links" not in run.stderr, run.stderr
    assert run.returncode == 1 and "127.0.0.1:9" in run.stderr, run.stderr  # it went on, to the endpoint


@pytest.mark.parametrize("name", ["application/n-quads", "nt11", "application/ld+json", "hext"])
def test_validate_takes_rdflib_s_other_names_of_its_formats(tmp_path, name):
    """--format took any name of rdflib's parsers, media types included, until it became a list of
    ten: `--format application/n-quads`, as scripts write it after a Content-Type, was refused
    (and hext, a quad format, would have been read without its named graphs)."""
    data = tmp_path / "data.txt"
    if "ld+json" in name:
        data.write_text('{"@id": "https://example.org/a", "https://example.org/p": 1}\n', encoding="utf-8")
    elif name == "hext":  # a quad format too: its named graph's triples are read
        data.write_text('["https://example.org/a", "https://example.org/p", "1", '
                        '"http://www.w3.org/2001/XMLSchema#integer", "", "https://example.org/g"]\n', encoding="utf-8")
    else:
        graph = ' <https://example.org/g>' if "quads" in name else ""
        data.write_text(f'<https://example.org/a> <https://example.org/p> "1"{graph} .\n', encoding="utf-8")
    run = pianold("validate", "--format", name, str(data))
    assert run.returncode == 0 and "0 violations" in run.stdout, run.stdout + run.stderr
