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

PAGE = "sources/asse-5-page.txt"
CSV = "sources/asse-5.csv"
TOML = "plan.toml"


def copy_bari(tmp_path: Path, csv: bool = False) -> Path:
    folder = tmp_path / "data" / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    if csv:
        shutil.copy(ROOT / "tests/fixtures/asse-5-wdt.csv", folder / CSV)
        edit(folder, TOML, 'file = "sources/asse-5-page.txt"\nformat = "page-text"', 'file = "sources/asse-5.csv"\nformat = "wdt-csv"')
    return folder


def edit(folder: Path, name: str, old: str, new: str, encoding: str = "utf-8") -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def only_problem(folder: Path) -> str:
    with pytest.raises(SourceError) as caught:
        load_plan(folder)
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 1, "\n".join(found)
    return found[0]


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
    assert text.startswith(at(folder, CSV, line, column)), text
    assert "not UTF-8 (byte 0xF9)" in text and "«ù»" in text, text


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
