"""Where the ontology, shapes and bundled plans live: the source tree, or the installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE.parents[1], _PACKAGE / "_bundled")  # checkout / editable install, wheel


def resource_dir(name: str) -> Path:
    for root in _CANDIDATES:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"pianold resource folder {name!r} not found (looked in {', '.join(map(str, _CANDIDATES))})")


def ontology_file() -> Path:
    return resource_dir("ontology") / "psm.ttl"


def shapes_files() -> list[Path]:
    return sorted(resource_dir("shapes").glob("*.ttl"))


def bundled_data_dir() -> Path:
    return resource_dir("data")
