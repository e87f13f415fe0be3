"""Tasks and mistakes of a plan office walked through on a copy of the Bari plan: what a civil
servant saves from a spreadsheet, a browser or a text editor, and the one-line message that says
where (file:line:column) and what to do."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from pianold.ingest import SourceError, load_plan

from conftest import BARI, ROOT
from plan_sources import CSV, PAGE, TOML, copy_bari, edit, only_problem


def at(folder: Path, name: str, line: int | None = None, column: int | None = None) -> str:
    return str(folder / name) + (f":{line}" if line else "") + (f":{column}" if column else "") + ": "


# ---------------------------------------------------------------- files that are not text


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_a_workbook_saved_instead_of_a_csv_is_named_as_such(tmp_path, kind):
    folder = copy_bari(tmp_path, csv=True)
    path = folder / CSV
    if kind == "xlsx":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>" * 50)
    else:
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4)
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV)), text
    assert "workbook" in text and "'CSV UTF-8'" in text and "Windows-1252" not in text, text


def test_windows_1252_names_the_character_and_its_column_in_characters(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    path = folder / CSV
    raw = path.read_bytes()
    # "più" in Windows-1252 after UTF-8 letters on the same line (a file edited by two programs)
    raw = raw.replace("Recupero delle".encode(), "Recupero più delle".encode().replace("ù".encode(), b"\xf9"), 1)
    path.write_bytes(raw)
    line = raw[:raw.index(b"\xf9")].count(b"\n") + 1
    start = raw.rfind(b"\n", 0, raw.index(b"\xf9")) + 1
    column = len(raw[start:raw.index(b"\xf9")].decode("utf-8")) + 1
    text = only_problem(folder)
    # in a CSV the column of a message is the spreadsheet column: the character is named in words
    assert text.startswith(at(folder, CSV, line)), text
    assert f"not UTF-8 (byte 0xF9 at character {column} of the line)" in text and "«ù»" in text, text
    page = copy_bari(tmp_path / "page")
    raw = (page / PAGE).read_bytes()
    raw = raw.replace("Recupero delle".encode(), "Città: recupero più delle".encode().replace("ù".encode(), b"\xf9"), 1)
    (page / PAGE).write_bytes(raw)
    start = raw.rfind(b"\n", 0, raw.index(b"\xf9")) + 1
    column = len(raw[start:raw.index(b"\xf9")].decode("utf-8")) + 1
    text = only_problem(page)
    assert text.startswith(at(page, PAGE, raw[:raw.index(b"\xf9")].count(b"\n") + 1, column)), text


# ---------------------------------------------------------------- columns of problems inside a cell


def test_a_problem_inside_a_csv_cell_is_reported_at_the_cell_spreadsheet_column(tmp_path):
    """CSV locations name the field (the spreadsheet column): a problem in the middle of the
    Azioni cell (the 4th) is at column 4, not at 4 + its place in the text."""
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "Recupero delle seconde", "Recupero <b>delle</b> seconde")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 3, 4)), text
    assert "HTML markup '<b>'" in text


def test_a_problem_inside_a_plan_toml_string_is_reported_at_its_column(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'title = "Piano Strategico', 'title = "Piano <b>Strategico')
    text = only_problem(folder)
    line = next(n for n, t in enumerate((folder / TOML).read_text(encoding="utf-8").split("\n"), 1) if t.startswith("title = "))
    assert text.startswith(at(folder, TOML, line, len('title = "Piano ') + 1)), text
    assert "HTML markup '<b>'" in text


# ---------------------------------------------------------------- CSV rows and header


def add_link_row(folder: Path, row: str) -> None:
    with open(folder / "links.csv", "a", encoding="utf-8") as fh:
        fh.write(row + "\n")


def links_line(folder: Path) -> int:
    return len((folder / "links.csv").read_text(encoding="utf-8").rstrip("\n").split("\n"))


def test_an_unquoted_comma_in_a_cell_says_to_quote_it(tmp_path):
    folder = copy_bari(tmp_path)
    add_link_row(folder, "5.1.1.a,dct:subject,http://eurovoc.europa.eu/2496,Riguarda la casa, e il welfare")
    text = only_problem(folder)
    assert text.startswith(at(folder, "links.csv", links_line(folder))), text
    assert "row has 5 fields, the header has 4" in text and "between double quotes" in text, text


def test_a_label_added_to_a_row_but_not_to_the_header_says_to_name_the_column(tmp_path):
    """The README: a EuroVoc concept pianold does not list needs its label in a fifth column, with
    ',label' at the end of the first line. A row given the label without the header's column is
    told that, besides the quoting advice."""
    folder = copy_bari(tmp_path)
    add_link_row(folder, "5.1.1.a,dct:subject,http://eurovoc.europa.eu/999999,Riguarda la casa,Un concetto")
    text = only_problem(folder)
    assert text.startswith(at(folder, "links.csv", links_line(folder))), text
    assert "row has 5 fields, the header has 4" in text and "end the first line with ',label'" in text, text
    folder = copy_bari(tmp_path / "csv", csv=True)  # the optional Link column of a table
    path = folder / CSV
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace(",Link", "")
    lines[1] = lines[1].rstrip(",") + ",https://example.org/azione"
    path.write_text("\n".join(lines[:2] + [ln.rstrip(",") for ln in lines[2:]]), encoding="utf-8")
    assert "end the first line with ',Link'" in only_problem(folder)


def test_a_missing_cell_says_how_to_leave_it_empty(tmp_path):
    folder = copy_bari(tmp_path)
    add_link_row(folder, "5.1.1.a,dct:subject,http://eurovoc.europa.eu/2496")
    text = only_problem(folder)
    assert "row has 3 fields, the header has 4 (code, property, target, rationale)" in text and "cell is missing" in text, text


def test_optional_cells_at_the_end_of_a_row_may_be_left_out(tmp_path):
    """links.csv with the optional label column, whose rows without a label stop after the
    rationale (as a hand-edited file does): the rows are read, the labels empty."""
    folder = copy_bari(tmp_path)
    path = folder / "links.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] += ",label"
    path.write_text("\n".join(lines), encoding="utf-8")
    plan = load_plan(folder)
    assert len(plan.links) == len([ln for ln in lines[1:] if ln.strip()]) and all(link.label is None for link in plan.links)


def test_a_page_text_named_as_a_csv_export_says_which_format_it_is(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'format = "page-text"', 'format = "wdt-csv"')
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 1, 1)), text
    assert "header row" in text and 'format = "page-text"' in text, text


def test_a_csv_without_its_header_row_says_so_once(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    path = folder / CSV
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 1, 1)) and "the first line must be the header row" in text, text


# ---------------------------------------------------------------- a page copied with its table one row a line


def tab_copy(folder: Path) -> list[str]:
    """Rewrite the page as a browser copies a table: one row a line, cells separated by tabs (the
    empty Link cell too), the heading and the repeated heading below the table likewise."""
    path = folder / PAGE
    lines = path.read_text(encoding="utf-8").split("\n")
    top = lines.index("wdt_ID")
    bottom = next(i for i in range(top + 5, len(lines)) if lines[i:i + 4] == ["Obiettivo", "Obiettivo Specifico", "Azioni", "Link"])
    rows, body = [], lines[top + 5:bottom]
    for start in range(0, len(body), 4):
        rows.append("\t".join(body[start:start + 4] + [""]))
    new = lines[:top] + ["\t".join(lines[top:top + 5])] + rows + ["\t".join(lines[bottom:bottom + 4])] + lines[bottom + 4:]
    path.write_text("\n".join(new), encoding="utf-8")
    return new


def test_a_table_copied_one_row_a_line_with_tabs_reads_as_the_page(tmp_path):
    expected = load_plan(BARI)
    folder = copy_bari(tmp_path)
    tab_copy(folder)
    plan = load_plan(folder)
    assert [(e.code, e.title, e.parent) for e in plan.elements] == [(e.code, e.title, e.parent) for e in expected.elements]


def test_a_tab_separated_heading_may_end_with_a_tab(tmp_path):
    folder = copy_bari(tmp_path)
    tab_copy(folder)
    edit(folder, PAGE, "Azioni\tLink\n", "Azioni\tLink\t\n")
    assert len(load_plan(folder).elements) == len(load_plan(BARI).elements)


def test_a_problem_in_a_tab_separated_row_is_at_its_line_and_column(tmp_path):
    folder = copy_bari(tmp_path)
    lines = tab_copy(folder)
    n = next(i for i, t in enumerate(lines, 1) if t.startswith("2\t"))
    edit(folder, PAGE, "\t5.1.1.b Recupero", "\t5.1.1.b <i>Recupero")
    text = only_problem(folder)
    line = (folder / PAGE).read_text(encoding="utf-8").split("\n")[n - 1]
    assert text.startswith(at(folder, PAGE, n, line.index("<i>") + 1)) and "HTML markup '<i>'" in text, text


def test_an_empty_cell_of_a_tab_separated_row_is_named(tmp_path):
    folder = copy_bari(tmp_path)
    lines = tab_copy(folder)
    n = next(i for i, t in enumerate(lines, 1) if t.startswith("3\t"))
    cells = lines[n - 1].split("\t")
    lines[n - 1] = "\t".join([cells[0], "", *cells[2:]])
    (folder / PAGE).write_text("\n".join(lines), encoding="utf-8")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, n, 3)), text
    assert "empty or missing 'Obiettivo' cell" in text and "line after" not in text, text


def test_a_csv_export_listed_as_page_text_says_which_format_it_is(tmp_path):
    folder = copy_bari(tmp_path)
    shutil.copy(ROOT / "tests/fixtures/asse-5-wdt.csv", folder / PAGE)
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE)) and "looks like a CSV export" in text and 'format = "wdt-csv"' in text, text


# ---------------------------------------------------------------- plan.toml as an office edits it


def toml_line(folder: Path, start: str) -> int:
    return next(n for n, t in enumerate((folder / TOML).read_text(encoding="utf-8").split("\n"), 1) if t.startswith(start))


def test_typographic_quotes_in_plan_toml_are_named(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'title = "Piano Strategico Metropolitano – PSM BARI 20>30"', "title = “Piano Strategico Metropolitano – PSM BARI 20>30”")
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, toml_line(folder, "title = "), len("title = ") + 1)), text
    assert "typographic quotes" in text and 'straight quotes "' in text, text


@pytest.mark.parametrize("written,iso", [('"01/01/2020"', "2020-01-01"), ('"31.12.2019"', "2019-12-31"), ("01/02/2020", "2020-02-01")])
def test_a_date_in_italian_format_is_given_back_in_the_form_to_write(tmp_path, written, iso):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, "start = 2020-01-01", f"start = {written}")
    text = only_problem(folder)
    assert text.startswith(f"{folder / TOML}:{toml_line(folder, 'start = ')}:"), text
    assert f"without quotes, as {iso}" in text, text


@pytest.mark.parametrize("old,message", [
    ('license = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"\n', 'add license = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"'),
    ("end = 2030-12-31\n", "add a line end = … under [period]"),
    ('format = "page-text"\n', 'add format = "page-text" (a page\'s text) or format = "wdt-csv" (the CSV export) to that [[tables]]'),
])
def test_a_missing_key_says_what_to_add(tmp_path, old, message):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, old, "")
    text = only_problem(folder)
    assert "missing required key" in text and message in text, text


# ---------------------------------------------------------------- links.csv rows as an office writes them


@pytest.mark.parametrize("code,hint", [("5.1.1.A", "did you mean 5.1.1.a?"), ('"5,1"', "did you mean 5.1?"), ("9.9", "e.g. 5.")])
def test_an_unknown_code_in_links_csv_suggests_the_plan_code(tmp_path, code, hint):
    folder = copy_bari(tmp_path)
    add_link_row(folder, f"{code},dct:subject,http://eurovoc.europa.eu/2496,Riguarda la casa")
    text = only_problem(folder)
    assert text.startswith(at(folder, "links.csv", links_line(folder), 1)) and "no element of the plan has code" in text and hint in text, text


@pytest.mark.parametrize("prop,target,iri", [
    ("psm:contributesTo", "11.3", "http://metadata.un.org/sdg/11.3"),
    ("psm:contributesTo", "SDG 11", "http://metadata.un.org/sdg/11"),
    ("dct:subject", "2496", "http://eurovoc.europa.eu/2496"),
])
def test_a_bare_sdg_or_eurovoc_code_is_given_back_as_the_iri_to_write(tmp_path, prop, target, iri):
    folder = copy_bari(tmp_path)
    add_link_row(folder, f"5.1.1.a,{prop},{target},Riguarda la casa")
    text = only_problem(folder)
    assert text.startswith(at(folder, "links.csv", links_line(folder), 3)) and f"write {iri}" in text, text


def test_links_csv_from_an_italian_spreadsheet_is_read(tmp_path):
    """Excel in an Italian locale: 'CSV UTF-8' with a byte-order mark, ';' between cells, Windows
    line ends, the rationale quoted because it holds a ';'."""
    folder = copy_bari(tmp_path)
    expected = load_plan(folder).links
    import csv
    import io

    rows = list(csv.reader(io.StringIO((folder / "links.csv").read_text(encoding="utf-8"))))
    rows[1][3] = "Capacità di governo; casa"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    (folder / "links.csv").write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    links = load_plan(folder).links
    assert [(k.code, k.property, k.target) for k in links] == [(k.code, k.property, k.target) for k in expected]
    assert links[0].rationale == "Capacità di governo; casa"


# ---------------------------------------------------------------- codes


def test_a_mistyped_action_code_is_given_an_example_to_follow(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, PAGE, "5.1.1.b Recupero", "5.1.1b Recupero")
    text = only_problem(folder)
    assert "Azione code '5.1.1b' does not match the pattern" in text and "write it like 5.1.1.a" in text, text


def test_a_code_in_typographic_quotes_says_to_remove_them(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "5.1.1.b Recupero delle seconde case non utilizzate o sottoutilizzate", "“5.1.1.b Recupero delle seconde case non utilizzate o sottoutilizzate”")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 3, 4)) and "without quote marks" in text, text


def test_the_example_code_follows_the_plan_levels(tmp_path):
    """A plan of three levels (Asse > Strategia > Azione, codes 1.2.3): the example is such a code."""
    folder = tmp_path / "data" / "three"
    shutil.copytree(ROOT / "tests/fixtures/three-level-plan", folder)
    edit(folder, "sources/asse-1.csv", ",1.1.2 Orti", ",1-1.2 Orti")
    problem = only_problem(folder)
    assert "does not match the pattern" in problem and "write it like 1.1.1 " in problem, problem


# ---------------------------------------------------------------- a second table


def add_table(folder: Path, axis: str, file: str, text: str) -> None:
    (folder / file).write_text(text, encoding="utf-8")
    with open(folder / TOML, "a", encoding="utf-8") as fh:
        fh.write(f'\n[[tables]]\naxis = "{axis}"\nfile = "{file}"\nformat = "wdt-csv"\n')


AXIS_1 = ("wdt_ID,Obiettivo,Obiettivo Specifico,Azioni,Link\n"
          "1,Digitalizzare la PA,Aumentare i servizi online,1.1.1.a Sportello digitale unico,\n")


def test_a_second_axis_table_is_published(tmp_path):
    folder = copy_bari(tmp_path)
    add_table(folder, "1", "sources/asse-1.csv", AXIS_1)
    plan = load_plan(folder)
    assert [(e.code, e.parent) for e in plan.elements if e.code.startswith("1.")] == [("1.1", "1"), ("1.1.1", "1.1"), ("1.1.1.a", "1.1.1")]


def test_the_same_table_listed_twice_is_named_in_plan_toml(tmp_path):
    folder = copy_bari(tmp_path)
    add_table(folder, "1", "sources/asse-1.csv", AXIS_1)
    with open(folder / TOML, "a", encoding="utf-8") as fh:
        fh.write('\n[[tables]]\naxis = "1"\nfile = "sources/asse-1.csv"\nformat = "wdt-csv"\n')
    lines = (folder / TOML).read_text(encoding="utf-8").split("\n")
    first, second = [n for n, t in enumerate(lines, 1) if t == 'file = "sources/asse-1.csv"']
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, second, 1)) and f"is already listed at line {first}" in text, text


def test_a_clash_with_another_table_names_that_file(tmp_path):
    folder = copy_bari(tmp_path)
    add_table(folder, "1", "sources/asse-1.csv", AXIS_1)
    add_table(folder, "1", "sources/asse-1-bis.csv", AXIS_1.replace("1.1.1.a Sportello", "1.1.1.b Sportello"))
    text = only_problem(folder)
    assert text.startswith(at(folder, "sources/asse-1-bis.csv", 2, 4)), text
    assert "is under two codes: 1.1.1.a (line 2 of asse-1.csv) and 1.1.1.b" in text, text


# ---------------------------------------------------------------- header rows as spreadsheets write them


def semicolons(folder: Path, name: str, trailing: str = "") -> None:
    """Rewrite a CSV as Excel in an Italian locale does, with `trailing` after every row."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO((folder / name).read_text(encoding="utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator=trailing + "\r\n").writerows(rows)
    (folder / name).write_text(out.getvalue(), encoding="utf-8")


def test_empty_columns_a_spreadsheet_adds_at_the_end_are_ignored(tmp_path):
    expected = load_plan(copy_bari(tmp_path / "a", csv=True))
    folder = copy_bari(tmp_path / "b", csv=True)
    semicolons(folder, CSV, trailing=";;")
    plan = load_plan(folder)
    assert [(e.code, e.title) for e in plan.elements] == [(e.code, e.title) for e in expected.elements]


def test_text_under_a_column_without_a_name_is_located(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    semicolons(folder, CSV, trailing=";;")
    lines = (folder / CSV).read_text(encoding="utf-8").split("\n")
    assert lines[2].endswith(";;;")  # the empty Link cell, then the two empty cells without a name
    lines[2] = lines[2][:-1] + "nota;"
    (folder / CSV).write_text("\n".join(lines), encoding="utf-8")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 3, 6)) and "column 6 has no name in the header row" in text and "'nota'" in text, text


@pytest.mark.parametrize("written,meant", [("Obiettivo specifico", "Obiettivo Specifico"), ("Azioni ", None), ("azioni", "Azioni")])
def test_a_misspelt_column_name_gets_one_message_with_the_right_name(tmp_path, written, meant):
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "Obiettivo Specifico" if "biettivo" in written else "Azioni", written)
    if meant is None:  # spaces around a name are trimmed: nothing to report
        load_plan(folder)
        return
    text = only_problem(folder)
    assert f"unknown column {written!r}: did you mean {meant!r}?" in text, text


def test_a_row_without_its_number_says_how_rows_start_and_the_table_ends(tmp_path):
    folder = copy_bari(tmp_path)
    lines = (folder / PAGE).read_text(encoding="utf-8").split("\n")
    n = lines.index("10")
    del lines[n]
    (folder / PAGE).write_text("\n".join(lines), encoding="utf-8")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, n + 1, 1)) and "expected a row number (wdt_ID)" in text, text
    assert "on a line of its own" in text and "heading is repeated (Obiettivo, Obiettivo Specifico, Azioni" in text, text


def test_an_address_without_https_is_given_back_with_it(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "per la casa,\n", "per la casa,www.cittametropolitana.ba.it/casa\n")
    edit(folder, TOML, 'website = "https://www.cittametropolitana.ba.it"', 'website = "www.cittametropolitana.ba.it"')
    with pytest.raises(SourceError) as caught:
        load_plan(folder)
    text = "\n".join(map(str, caught.value.problems))
    assert "write \"https://www.cittametropolitana.ba.it\"" in text, text
    folder = copy_bari(tmp_path / "csv", csv=True)
    edit(folder, CSV, "per la casa,\n", "per la casa,www.cittametropolitana.ba.it/casa\n")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 2, 5)) and "write https://www.cittametropolitana.ba.it/casa" in text, text


@pytest.mark.parametrize("where, old, new, column", [
    (CSV, "per la casa,\n", "per la casa,https://example.org/casa?id={5}\n", 5),
    (CSV, "per la casa,\n", 'per la casa,"https://example.org/""casa"""\n', 5),
    (PAGE, "5.1.1.a Rafforzamento dell’Agenzia Metropolitana per la casa\n",
     "5.1.1.a Rafforzamento dell’Agenzia Metropolitana per la casa\nhttps://example.org/casa|abitare\n", 1),
    (TOML, 'email = "protocollo.', 'email = "{protocollo}.', 1),
])
def test_an_address_with_a_character_no_iri_may_hold_is_refused_where_it_is(tmp_path, where, old, new, column):
    """A link or e-mail address with a brace, a bar or a quote is published as an IRI, which cannot
    hold them: it was read, and the build ended in a traceback from the RDF writer."""
    folder = copy_bari(tmp_path, csv=where == CSV)
    edit(folder, where, old, new)
    line = (folder / where).read_text(encoding="utf-8").split("\n").index(next(
        ln for ln in (folder / where).read_text(encoding="utf-8").split("\n") if ("{" in ln or "|" in ln or '""' in ln)
        and ("example.org" in ln or "email" in ln))) + 1
    text = only_problem(folder)
    assert text.startswith(at(folder, where, line, column)), text
    assert "no spaces nor any of <>\"{}|\\^`" in text, text


def test_a_tab_in_an_address_of_plan_toml_is_refused(tmp_path):
    """TOML writes a tab in a string as \\t: the address passed, and Oxigraph refused the dump."""
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'source = "https://pianostrategico.cittametropolitana.ba.it/"',
         'source = "https://pianostrategico.cittametropolitana.ba.it/\\tpiano"')
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, toml_line(folder, "source = "), 1)), text
    assert "'source' must be an http(s) URL" in text, text


def test_an_empty_links_csv_says_what_its_first_line_is(tmp_path):
    folder = copy_bari(tmp_path)
    (folder / "links.csv").write_text("\n", encoding="utf-8")
    text = only_problem(folder)
    assert text == f"{folder / 'links.csv'}: file is empty: its first line must be the header row code,property,target,rationale,label, then one row per line", text


@pytest.mark.parametrize("name,csv,advice", [
    (TOML, False, "in Notepad choose 'UTF-8', not 'ANSI'"),
    (PAGE, False, "in Notepad choose 'UTF-8', not 'ANSI'"),
    (CSV, True, "in a spreadsheet: File > Save as, type 'CSV UTF-8'"),
])
def test_the_advice_for_windows_1252_fits_the_program_that_wrote_the_file(tmp_path, name, csv, advice):
    folder = copy_bari(tmp_path, csv=csv)
    path = folder / name
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    text = only_problem(folder)
    assert "not UTF-8" in text and advice in text, text


@pytest.mark.parametrize("old,new,hint", [
    ('code = "5"', "code = 5", "'axes[5].code' must be a string, not int (5); write it between quotes: code = \"5\""),
    ('province = "072"', "province = 072", 'a code with a leading zero is written between quotes: province = "072"'),
    ("year = 2024", 'year = "2024"', "write it without quotes: year = 2024"),
])
def test_numbers_and_codes_with_or_without_quotes_say_how_to_write_them(tmp_path, old, new, hint):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, old, new)
    text = only_problem(folder)  # one: the axis table's [[tables]] entry is not reported as well
    assert hint in text, text


def test_the_advice_for_double_encoded_text_fits_the_file(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'name = "Città metropolitana di Bari"', 'name = "CittÃ  metropolitana di Bari"')
    text = only_problem(folder)
    assert "looks double-encoded" in text and "in Notepad choose 'UTF-8'" in text and "spreadsheet" not in text.split("UTF-8 (")[-1], text
