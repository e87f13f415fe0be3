"""A corpus of malformed sources: each gives one clear, located message and publishes nothing.

Every case copies the Bari plan folder, breaks one thing, and checks the first problem's text
(file, line, column, message). Encodings are produced here as bytes, so the corpus stays readable.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

import pytest

from pianold.ingest import SourceError, load_plan

from conftest import BARI, ROOT

PAGE = "sources/asse-5-page.txt"
LINK_HEAD = b"code,property,target,rationale\n"
CSV = "sources/asse-5.csv"


@dataclass
class Case:
    id: str
    file: str  # the file the message must name
    mutate: Callable  # (folder) -> None
    message: str
    line: int | None = None
    column: int | None = None
    csv: bool = False  # use the wpDataTables export instead of the page text


def text_edit(name, old, new, count=1):
    def mutate(folder):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, count), encoding="utf-8")
    return mutate


def write_bytes(name, data: bytes | Callable[[str], bytes]):
    def mutate(folder):
        path = folder / name
        path.write_bytes(data(path.read_text(encoding="utf-8")) if callable(data) else data)
    return mutate


def replace_line(name, number, new):
    def mutate(folder):
        path = folder / name
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[number - 1] = new
        path.write_text("\n".join(lines), encoding="utf-8")
    return mutate


ROW1_ACTION = "5.1.1.a Rafforzamento dell’Agenzia Metropolitana per la casa"

CASES = [
    # encodings and empty files
    Case("windows-1252", PAGE, write_bytes(PAGE, lambda t: t.encode("cp1252", errors="replace")), "not UTF-8 (byte 0xAB)", 2, 1),
    Case("utf-16", PAGE, write_bytes(PAGE, lambda t: t.encode("utf-16")), "file is UTF-16", 1, 1),
    Case("empty-file", PAGE, write_bytes(PAGE, b""), "file is empty"),
    Case("whitespace-only", PAGE, write_bytes(PAGE, b"  \n\n\t\n"), "file is empty"),
    Case("csv-empty", CSV, write_bytes(CSV, b""), "file is empty", csv=True),
    Case("csv-header-only", CSV, write_bytes(CSV, b"wdt_ID,Obiettivo,Obiettivo Specifico,Azioni,Link\n"), "header but no rows", 1, csv=True),
    # page structure
    Case("no-table-heading", PAGE, replace_line(PAGE, 5, "ID"), "no table heading found"),
    Case("row-cut-short", PAGE, lambda f: (f / PAGE).write_text("\n".join((BARI / PAGE).read_text(encoding="utf-8").split("\n")[:48]), encoding="utf-8"),
         "row 10 is cut short", 46, 1),
    Case("motto-unclosed", PAGE, replace_line(PAGE, 2, "«Tutti, nessuno escluso"), "does not close with »", 2, 24),
    Case("page-title-differs", PAGE, replace_line(PAGE, 1, "Housing first e inclusione"), "differs from plan.toml's title of axis 5", 1, 1),
    Case("page-motto-differs", PAGE, replace_line(PAGE, 2, "«Tutti, nessuno escluso!»"), "differs from plan.toml's motto", 2, 2),
    Case("page-other-axis", PAGE, replace_line(PAGE, 4, "Asse 6"), "the page is about Asse 6", 4, 6),
    Case("junk-instead-of-row", PAGE, replace_line(PAGE, 14, "Riga due"), "expected a row number (wdt_ID)", 14, 1),
    # codes and consistency
    Case("duplicate-action-code", PAGE, text_edit(PAGE, "5.1.1.b Recupero", "5.1.1.a Recupero"), "duplicate azione code 5.1.1.a (first at line 13)", 17, 1),
    Case("same-text-two-codes", PAGE, replace_line(PAGE, 27, "Contrastare le povertà abitative e favorire l’housing sociale"),
         "is under two codes: 5.1 (line 11) and 5.2", 27, 1),
    Case("two-texts-one-code", PAGE, replace_line(PAGE, 16, "Potenziare la governance metropolitana"), "Obiettivo specifico 5.1.1 has two different texts", 16, 1),
    Case("code-contradicts-axis", PAGE, text_edit(PAGE, ROW1_ACTION, "6" + ROW1_ACTION[1:]), "belongs to Asse 6 by its code, but it is in the table of Asse 5", 13, 1),
    Case("code-wrong-depth", PAGE, text_edit(PAGE, "5.1.1.a Raff", "5.1.a Raff"), "Azione code '5.1.a' does not match the pattern", 13, 1),
    Case("leaf-without-code", PAGE, text_edit(PAGE, ROW1_ACTION, ROW1_ACTION[8:]), "must start with the azione code", 13, 1),
    # text that must not be published
    Case("html-markup", PAGE, text_edit(PAGE, "Rafforzamento dell’Agenzia", "<b>Rafforzamento</b> dell’Agenzia"), "HTML markup '<b>'", 13, 9),
    Case("script-tag", PAGE, replace_line(PAGE, 12, "Potenziare <script>alert(1)</script>"), "HTML markup '<script>'", 12, 12),
    Case("html-entity", PAGE, text_edit(PAGE, "Recupero delle", "Recupero&nbsp;delle"), "HTML markup '&nbsp;'", 17, 17),
    Case("formula-at", PAGE, replace_line(PAGE, 12, "@SUM(A1:A3)"), "looks like a spreadsheet formula", 12, 1),
    Case("control-character", PAGE, text_edit(PAGE, "Recupero delle", "Recupero\x07delle"), "control character U+0007", 17, 17),
    Case("stray-bom-inside", PAGE, text_edit(PAGE, "Recupero delle", "Recupero\ufeffdelle"), "stray byte-order mark", 17, 17),
    Case("very-long-cell", PAGE, replace_line(PAGE, 12, "Potenziare " + "la governance " * 50), "more than the 500 allowed", 12, 1),
    # the wpDataTables CSV export
    Case("csv-formula", CSV, text_edit(CSV, ROW1_ACTION, '"=HYPERLINK(""http://x"",""5.1.1.a"")"'), "looks like a spreadsheet formula", 2, 4, csv=True),
    Case("csv-missing-column", CSV, lambda f: _csv_drop_column(f, 2), "missing column 'Obiettivo Specifico'", 1, csv=True),
    Case("csv-unknown-column", CSV, text_edit(CSV, "Link\n", "Note\n"), "unknown column 'Note'", 1, 5, csv=True),
    Case("csv-duplicate-column", CSV, text_edit(CSV, ",Link\n", ",Azioni\n"), "column 'Azioni' appears twice", 1, 5, csv=True),
    Case("csv-orphan", CSV, text_edit(CSV, "1,Contrastare le povertà abitative e favorire l’housing sociale,", "1,,"), "orphan: azione 5.1.1.a has no obiettivo", 2, 2, csv=True),
    Case("csv-bad-wdt-id", CSV, text_edit(CSV, "\n3,", "\ntre,"), "wdt_ID must be a number", 4, 1, csv=True),
    Case("csv-wrong-field-count", CSV, text_edit(CSV, "5.1.1.b Recupero delle seconde case non utilizzate o sottoutilizzate,", "5.1.1.b Recupero,extra,"), "row has 6 fields, the header has 5", 3, csv=True),
    Case("csv-bad-link", CSV, text_edit(CSV, "per la casa,\n", "per la casa,javascript:alert(1)\n"), "Link must be an http(s) URL", 2, 5, csv=True),
    # plan.toml
    Case("toml-syntax", "plan.toml", text_edit("plan.toml", 'id = "bari-psm-2030"', 'id = "bari-psm-2030'), "not valid TOML: Illegal character", 5, 20),
    Case("toml-title-type", "plan.toml", text_edit("plan.toml", 'title = "Piano Strategico Metropolitano – PSM BARI 20>30"', "title = 3"), "'title' must be a string, not int", 6, 1),
    Case("toml-date-type", "plan.toml", text_edit("plan.toml", "start = 2020-01-01", 'start = "2020"'), "'period.start' must be a date (YYYY-MM-DD), not str", 29, 1),
    Case("toml-period-reversed", "plan.toml", text_edit("plan.toml", "start = 2020-01-01", "start = 2031-01-01"), "'period.end' (2030-12-31) is before 'period.start'", 30, 1),
    Case("toml-levels-missing", "plan.toml", lambda f: _drop_tables(f, "[[levels]]"), "missing required key 'levels'"),
    Case("toml-duplicate-axis", "plan.toml", text_edit("plan.toml", 'code = "6"', 'code = "5"'), "duplicate axis code '5'", 102, 1),
    Case("toml-bad-id", "plan.toml", text_edit("plan.toml", 'id = "bari-psm-2030"', 'id = "Bari/PSM 2030"'), "'id' must be lower-case letters", 5, 1),
    Case("toml-table-outside", "plan.toml", text_edit("plan.toml", 'file = "sources/asse-5-page.txt"', 'file = "../../etc/passwd"'), "must stay inside the plan folder", 141, 1),
    Case("toml-table-missing-file", PAGE.replace("page", "pagina"), text_edit("plan.toml", "asse-5-page.txt", "asse-5-pagina.txt"), "file not found"),
    Case("toml-bad-format", "plan.toml", text_edit("plan.toml", 'format = "page-text"', 'format = "xlsx"'), "format must be one of page-text, wdt-csv", 142, 1),
    Case("toml-bad-pattern", "plan.toml", text_edit("plan.toml", "pattern = '^[1-9][0-9]*$'", "pattern = '^[1-9'"), "not a valid regular expression", 44, 1),
    Case("toml-bad-class", "plan.toml", text_edit("plan.toml", 'class = "Action"', 'class = "Azione"'), "class must be one of Axis, Objective, SpecificObjective, Action", 66, 1),
    Case("links-unknown-code", "links.csv", write_bytes("links.csv", LINK_HEAD + b"9.9.9.z,psm:contributesTo,http://metadata.un.org/sdg/11.1,housing\n"), "no element of the plan has code '9.9.9.z'", 2, 1),
    Case("links-unknown-property", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,owl:sameAs,http://metadata.un.org/sdg/11.1,housing\n"), "property must be one of psm:contributesTo", 2, 2),
    Case("links-sdg-goal-18", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/18.1,housing\n"), "is not an SDG goal (1\u201317) or target", 2, 3),
    Case("links-sdg-target-11.9", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.9,housing\n"), "is not an SDG goal", 2, 3),
    Case("links-sdg-wrong-namespace", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,psm:contributesTo,https://unstats.un.org/sdgs/11.1,housing\n"), "an SDG link needs a UN SDG KOS IRI", 2, 3),
    Case("links-eurovoc-malformed", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,dct:subject,http://eurovoc.europa.eu/housing,housing\n"), "a EuroVoc link needs a concept IRI", 2, 3),
    Case("links-eurovoc-unknown", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,dct:subject,http://eurovoc.europa.eu/999999999,housing\n"), "is not among those pianold knows", 2, 3),
    Case("links-target-not-iri", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,skos:closeMatch,altro piano 2.1.1,similar\n"), "target must be an http(s) IRI", 2, 3),
    Case("links-no-rationale", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,\n"), "needs a one-line rationale", 2, 4),
    Case("links-duplicate", "links.csv", write_bytes("links.csv", LINK_HEAD + b"5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,a\n5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,b\n"), "the same link appears twice (first at line 2)", 3, None),
    Case("links-formula", "links.csv", write_bytes("links.csv", LINK_HEAD + b'5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1,"=HYPERLINK(""x"")"\n'), "looks like a spreadsheet formula", 2, 4),
    Case("links-missing-column", "links.csv", write_bytes("links.csv", b"code,property,target\n5.1.1.a,psm:contributesTo,http://metadata.un.org/sdg/11.1\n"), "missing column 'rationale'", 1, None),
    Case("toml-bad-license", "plan.toml", text_edit("plan.toml", 'license = "https://w3id.org', 'license = "w3id.org'), "'license' must be an http(s) URL", 11, 1),
]


def _csv_drop_column(folder, index):
    _csv_rewrite(folder, lambda rows: [r[:index] + r[index + 1:] for r in rows])


def _drop_tables(folder, header):
    path = folder / "plan.toml"
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    path.write_text("\n\n".join(b for b in blocks if header not in b), encoding="utf-8")


def plan_folder(tmp_path, use_csv: bool):
    folder = tmp_path / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    if use_csv:
        shutil.copy(ROOT / "tests/fixtures/asse-5-wdt.csv", folder / CSV)
        toml = folder / "plan.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace(
            'file = "sources/asse-5-page.txt"\nformat = "page-text"', 'file = "sources/asse-5.csv"\nformat = "wdt-csv"'), encoding="utf-8")
    return folder


def test_corpus_is_large_enough():
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_source_gives_one_located_message(tmp_path, case):
    folder = plan_folder(tmp_path, case.csv)
    case.mutate(folder)
    with pytest.raises(SourceError) as caught:
        load_plan(folder)
    problems = caught.value.problems
    assert len(problems) == 1, "\n".join(map(str, problems))
    text = str(problems[0])
    location = str(folder / case.file)
    if case.line is not None:
        location += f":{case.line}"
        if case.column is not None:
            location += f":{case.column}"
    assert text.startswith(location + ": "), text
    assert case.message in text, text


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("windows-1252", "script-tag", "csv-formula", "toml-title-type")], ids=lambda c: c.id)
def test_cli_build_refuses_without_traceback_and_writes_nothing(tmp_path, case):
    data = tmp_path / "data"
    folder = plan_folder(data, case.csv)
    case.mutate(folder)
    dist = tmp_path / "dist"
    run = subprocess.run([sys.executable, "-m", "pianold", "--data", str(data), "--dist", str(dist), "build"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.count("error: ") == 1 and case.message in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert not (dist / "current").exists() and not list((dist / "versions").glob("*"))


def _same_plan(folder):
    key = lambda p: [(e.code, e.title, e.parent, e.motto, e.description) for e in p.elements]  # noqa: E731
    return key(load_plan(folder)) == key(load_plan(BARI))


TOLERATED = [
    ("utf8-bom", False, write_bytes(PAGE, lambda t: b"\xef\xbb\xbf" + t.encode())),
    ("crlf", False, write_bytes(PAGE, lambda t: t.replace("\n", "\r\n").encode())),
    ("trailing-spaces", False, write_bytes(PAGE, lambda t: t.replace("\n", "  \n").encode())),
    ("blank-lines-between-rows", False, write_bytes(PAGE, lambda t: t.replace("\n2\n", "\n\n\n2\n").encode())),
    ("csv-bom-crlf", True, write_bytes(CSV, lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode())),
    ("csv-semicolons", True, lambda f: _csv_rewrite(f, lambda rows: rows, delimiter=";")),
    ("csv-reordered-columns", True, lambda f: _csv_rewrite(f, lambda rows: [[r[3], r[0], r[4], r[2], r[1]] for r in rows])),
    ("csv-blank-row", True, write_bytes(CSV, lambda t: t.replace("\n3,", "\n,,,,\n3,").encode())),
]


def _csv_rewrite(folder, change, delimiter=","):
    path = folder / CSV
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(change(rows))
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.mark.parametrize("name,use_csv,mutate", TOLERATED, ids=[t[0] for t in TOLERATED])
def test_harmless_variations_read_the_same(tmp_path, name, use_csv, mutate):
    """Byte-order marks, Windows line ends, stray spaces, blank lines and reordered columns are
    what spreadsheets and browsers produce: accepted, with the same result."""
    folder = plan_folder(tmp_path, use_csv)
    mutate(folder)
    plan = load_plan(folder)
    reference = load_plan(BARI)
    assert [(e.code, e.title, e.parent) for e in plan.elements] == [(e.code, e.title, e.parent) for e in reference.elements]
    if not use_csv:
        assert plan.element("5").description == reference.element("5").description
