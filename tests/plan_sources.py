"""Editing a copy of the bundled Bari plan's sources, and reading what the readers say of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pianold.ingest import SourceError, load_plan

from conftest import BARI, ROOT

PAGE = "sources/asse-5-page.txt"
CSV = "sources/asse-5.csv"
TOML = "plan.toml"


def copy_bari(tmp_path: Path, csv: bool = False) -> Path:
    """A copy of the Bari plan folder (with its axis 5 table as a wpDataTables CSV when `csv`)."""
    folder = tmp_path / "data" / "bari-psm-2030"
    shutil.copytree(BARI, folder)
    if csv:
        shutil.copy(ROOT / "tests/fixtures/asse-5-wdt.csv", folder / CSV)
        edit(folder, TOML, 'file = "sources/asse-5-page.txt"\nformat = "page-text"', 'file = "sources/asse-5.csv"\nformat = "wdt-csv"')
    return folder


def edit(folder: Path, name: str, old: str, new: str, encoding: str = "utf-8") -> None:
    """Replace the first `old` of a source file (which must hold it) by `new`, saved in `encoding`."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def problems(folder: Path) -> list[str]:
    with pytest.raises(SourceError) as caught:
        load_plan(folder)
    return [str(p) for p in caught.value.problems]


def only_problem(folder: Path) -> str:
    found = problems(folder)
    assert len(found) == 1, "\n".join(found)
    return found[0]


def second_plan(data: Path, plan_id: str = "copia-psm") -> Path:
    """A second plan in a copied data folder: the Bari plan again under another id, without links."""
    folder = data / plan_id
    shutil.copytree(data / "bari-psm-2030", folder)
    edit(folder, TOML, 'id = "bari-psm-2030"', f'id = "{plan_id}"')
    (folder / "links.csv").unlink()
    return folder
