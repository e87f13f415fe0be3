"""What the readers refuse, and say, for mistakes a plan office makes: empty texts, misspelt keys,
double-encoded text, blank or missing cells, texts that differ invisibly, badly written dates. Each case copies the Bari plan folder,
changes one thing, and checks the message and its file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from pianold.ingest import load_plan

from conftest import BARI, DATA, ROOT
from plan_sources import CSV, PAGE, TOML, copy_bari, edit, only_problem, problems


def set_line(folder: Path, name: str, number: int, new: str | None) -> None:
    """Replace line `number` (1-based), or delete it when new is None."""
    path = folder / name
    lines = path.read_text(encoding="utf-8").split("\n")
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new
    path.write_text("\n".join(lines), encoding="utf-8")


def toml_edit_is_refused(tmp_path: Path, old: str, new: str, line: int, message: str, column: int | None = None) -> None:
    """One edit of the bundled plan.toml gives exactly one problem, at that line, saying that."""
    folder = copy_bari(tmp_path)
    edit(folder, TOML, old, new)
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, line, column)) and message in text, text


def at(folder: Path, name: str, line: int, column: int | None = None) -> str:
    """The start of a message at file:line (any column) or file:line:column."""
    return f"{folder / name}:{line}:" + (f"{column}: " if column is not None else "")


# ---------------------------------------------------------------- 1. empty required text


@pytest.mark.parametrize("old,new,line,message", [
    ('title = "Mare"', 'title = ""', 103, "'axes[6].title' is empty"),
    ('title = "Piano Strategico Metropolitano – PSM BARI 20>30"', 'title = "  "', 6, "'title' is empty"),
    ('title = "Piano Strategico Metropolitano – PSM BARI 20>30"', 'title = "\u00a0\u200b"', 6, "'title' is empty"),
    ('name = "Città metropolitana di Bari"', 'name = ""', 15, "'publisher.name' is empty"),
    ('name = "Asse"', 'name = " "', 41, "'levels[1].name' is empty"),
    ('name_en = "Axis"', 'name_en = ""', 42, "'levels[1].name_en' is empty: write the text between the quotes, or delete the line"),
    ('body = "Consiglio metropolitano"', 'body = ""', 34, "'adoption.body' is empty"),
    ('motto = "Un unico waterfront metropolitano"', 'motto = ""', 104, "'axes[6].motto' is empty"),
])
def test_empty_text_in_plan_toml_is_refused_at_its_line(tmp_path, old, new, line, message):
    toml_edit_is_refused(tmp_path, old, new, line, message)


def test_level_names_are_checked_text(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'name = "Azione"', 'name = "<b>Azione</b>"')
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, 64)) and "HTML markup" in text, text


def test_action_with_a_code_and_no_title(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 49, "5.3.1.b ")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 49, 1)), text
    assert "Azione 5.3.1.b has no title" in text and "must start with the azione code" not in text


def test_csv_action_with_a_code_and_no_title_or_nothing(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "5.1.1.b Recupero delle seconde case non utilizzate o sottoutilizzate", "5.1.1.b")
    assert "Azione 5.1.1.b has no title" in only_problem(folder)
    folder = copy_bari(tmp_path / "2", csv=True)
    edit(folder, CSV, "5.1.1.b Recupero delle seconde case non utilizzate o sottoutilizzate", "")
    text = only_problem(folder)
    assert text.startswith(at(folder, CSV, 3, 4)) and "empty 'Azioni' cell" in text, text


def test_empty_motto_on_the_page(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 2, "« »")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 2)) and "motto is empty" in text, text


# ---------------------------------------------------------------- 2. unknown keys in plan.toml


@pytest.mark.parametrize("old,new,line,message", [
    ("title_en = ", "titleen = ", 7, "unknown key 'titleen' in the plan (top of plan.toml) (did you mean 'title_en'?)"),
    ("description = ", "descrption = ", 8, "unknown key 'descrption' in the plan (top of plan.toml) (did you mean 'description'?)"),
    ('motto = "Tutti, nessuno escluso"', 'moto = "Tutti, nessuno escluso"', 98, "unknown key 'moto' in [[axes]] (did you mean 'motto'?)"),
    ('website = ', 'webiste = ', 20, "unknown key 'webiste' in [publisher] (did you mean 'website'?)"),
    ('istat = ', 'istat_code = ', 25, "unknown key 'istat_code' in [territory] (did you mean 'istat'?)"),
    ('start = 2020-01-01', 'start = 2020-01-01\nstart_note = "x"', 30, "unknown key 'start_note' in [period]"),
    ('year = 2024', 'anno = 2024', 35, "unknown key 'anno' in [adoption] (the keys of [adoption] are body, year)"),
    ('name_en = "Objective"', 'name_eng = "Objective"', 49, "unknown key 'name_eng' in [[levels]] (did you mean 'name_en'?)"),
    ('format = "page-text"', 'fromat = "page-text"', 142, "unknown key 'fromat' in [[tables]] (did you mean 'format'?)"),
    ('ipa = "cmba"', 'ipa = "cmba"\nkeywords = ["x"]', 17, "'keywords' is a key of the plan itself: move it above the first [section]"),
])
def test_unknown_key_is_refused_with_a_suggestion(tmp_path, old, new, line, message):
    toml_edit_is_refused(tmp_path, old, new, line, message, column=1)  # a misspelt required key is not also reported missing


def test_two_misspelt_keys_are_both_reported(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, "title_en = ", "titleen = ")
    edit(folder, TOML, "description = ", "descrption = ")
    found = problems(folder)
    assert [p.split(": ", 1)[0] for p in found] == [f"{folder / TOML}:7:1", f"{folder / TOML}:8:1"]


# ---------------------------------------------------------------- 3. descriptions of several paragraphs


def test_multi_paragraph_description_is_read_as_paragraphs(tmp_path):
    folder = copy_bari(tmp_path)
    reference = load_plan(BARI).element("5").description
    set_line(folder, PAGE, 3, (BARI / PAGE).read_text(encoding="utf-8").split("\n")[2] + "\n\n  Seconda frase del testo.  ")
    plan = load_plan(folder)
    assert plan.element("5").description == reference + "\nSeconda frase del testo."


def test_plan_toml_description_of_several_paragraphs_reads_like_the_page(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'description = "Il Piano', 'description = """Prima riga.\n\n   Seconda riga.   \n"""\nxdescription = "Il Piano')
    edit(folder, TOML, "xdescription = ", "# ")
    assert load_plan(folder).description == "Prima riga.\nSeconda riga."


def test_title_with_a_line_break_is_refused_plainly(tmp_path):
    folder = copy_bari(tmp_path, csv=True)
    edit(folder, CSV, "5.1.1.b Recupero delle seconde", '"5.1.1.b Recupero\ndelle seconde')
    edit(folder, CSV, "sottoutilizzate,", 'sottoutilizzate",')
    text = only_problem(folder)
    assert "a line break inside the text; it must be on one line" in text and "U+000A" not in text, text


def test_motto_in_straight_quotes_gets_a_plain_message(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 2, '"Tutti, nessuno escluso"')
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 2, 1)), text
    assert "looks like the axis motto" in text and "«Tutti, nessuno escluso»" in text and "U+" not in text


# ---------------------------------------------------------------- 4. double-encoded UTF-8


def test_double_encoded_text_on_the_page(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 45, "5.3.1.a Potenziamento del welfare di accesso e della citt\u00c3\u00a0")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 45, 58)), text
    assert "looks double-encoded" in text and "«cittÃ» should probably be «città»" in text and "UTF-8" in text


@pytest.mark.parametrize("name,old,new,line,column", [
    (CSV, "Recupero delle seconde case", "Recupero delle seconde case piÃ¹", 3, None),
    (TOML, 'name = "Città metropolitana di Bari"', 'name = "CittÃ  metropolitana di Bari"', 15, None),
    ("links.csv", "Element is about metropolitan housing policy.", "Lâ€™elemento riguarda la casa.", 4, None),
])
def test_double_encoded_text_in_any_source(tmp_path, name, old, new, line, column):
    folder = copy_bari(tmp_path, csv=(name == CSV))
    edit(folder, name, old, new)
    text = only_problem(folder)
    assert text.startswith(at(folder, name, line, column)), text
    assert "looks double-encoded" in text, text


def find_mojibake(text: str):
    from pianold.ingest.text import find_mojibake as find

    return find(text)


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="replace")


@pytest.mark.parametrize("good", ["città", "perché", "più", "L’area", "«Tutti»", "“citazione”", "– … €", "n° 5", "È"])
def test_typical_double_encodings_are_recognised(good):
    bad = _mojibake(good)
    found = find_mojibake(bad)
    assert found is not None and found[2].startswith(good[:1] if good[0].isascii() else ""), (bad, found)


def test_real_italian_text_never_looks_double_encoded():
    samples = ["«PERCHÉ»", "È“vero”", "CITTÀ» e PERCHÉ…", "àèéìòù ÀÈÉÌÒÙ", "São Paulo, JOÃO", "crème brûlée, rôle, naïve",
               "Nessuno è periferia", "Più competenze, meno divari", "Â", "â"]
    assert [s for s in samples if find_mojibake(s)] == []
    files = [p for p in DATA.rglob("*") if p.is_file()] + [p for p in (ROOT / "tests" / "fixtures").rglob("*") if p.is_file()]
    files += list((ROOT / "vocabularies").glob("*.csv"))
    assert len(files) >= 10
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            assert find_mojibake(line) is None, f"{path}:{n}"


# ---------------------------------------------------------------- 5. blank or missing cells in the page text


def test_blank_cell_is_named_at_its_line(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 15, "")  # row 2's objective
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 15, 1)), text
    assert "row 2 (line 14) has 2 cells, expected 3" in text and "'Obiettivo' cell" in text


def test_missing_last_action_is_named_before_the_repeated_heading(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 49, None)
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 49, 1)), text
    assert "row 10 (line 46) has 2 cells, expected 3" in text and "'Azioni' cell" in text
    assert "Obiettivo Specifico'" not in text.split("expected")[0]


def test_cell_split_over_two_lines(tmp_path):
    folder = copy_bari(tmp_path)
    set_line(folder, PAGE, 13, "5.1.1.a Rafforzamento dell’Agenzia\nMetropolitana per la casa")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 14, 1)) and "split over two lines" in text, text


# ---------------------------------------------------------------- 6. messages that show the difference


def test_two_texts_that_look_the_same_say_where_they_differ(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, PAGE, "Contrastare le povertà abitative e favorire l’housing sociale\nPotenziare le capacità di governance metropolitana in materia di politiche abitative\n5.1.1.b",
         "Contrastare le\u00a0povertà abitative e favorire l’housing sociale\nPotenziare le capacità di governance metropolitana in materia di politiche abitative\n5.1.1.b")
    text = only_problem(folder)
    assert text.startswith(at(folder, PAGE, 15, 1)) and "Obiettivo 5.1 has two different texts" in text, text
    assert "they differ at character 15: U+0020 SPACE in the first, U+00A0 NO-BREAK SPACE in the second" in text


@pytest.mark.parametrize("value", ["2020-1-1", "01/01/2020", "2030-13-31", "2020-02-30"])
def test_badly_written_date_gets_a_hint(tmp_path, value):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, "start = 2020-01-01", f"start = {value}")
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, 29)) and "not valid TOML" in text, text
    assert "dates are written YYYY-MM-DD" in text and "2020-01-01" in text


def test_date_hint_only_where_a_date_is(tmp_path):
    folder = copy_bari(tmp_path)
    edit(folder, TOML, 'id = "bari-psm-2030"', 'id = "bari-psm-2030')
    assert "dates are written" not in only_problem(folder)
    edit(folder, TOML, 'id = "bari-psm-2030', 'id = "bari-psm-2030"')
    edit(folder, TOML, "end = 2030-12-31", "end = 31/12/2030")
    text = only_problem(folder)
    assert text.startswith(at(folder, TOML, 30)) and "dates are written" in text, text
