"""Where the ontology, shapes and bundled plans live: the source tree, or the installed wheel."""

from __future__ import annotations

import functools
import hashlib
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


# Folders of pianold's own that a build reads besides its code (the bundled plans are inputs, digested as such):
# conformance/ for the names of licences the catalogue gives (catalog._italian_licences).
OWN_FOLDERS = ("ontology", "shapes", "vocabularies", "conformance")


@functools.cache
def own_files_digest() -> str:
    """A digest of pianold's own files: its code, templates and static files, ontology, shapes,
    vocabularies and the portals' vocabularies and rules it vendors. A checkout updated without a new release number (`pip install -e .` follows the
    working tree) changes it, so what the old code built is built again, and what it served gets
    new validators instead of a 304 that keeps the old answer."""
    files = {str(p.relative_to(_PACKAGE.parent)): p for p in _PACKAGE.rglob("*")
             if p.is_file() and not {"__pycache__", "_bundled"} & set(p.relative_to(_PACKAGE).parts)}
    for name in OWN_FOLDERS:
        folder = resource_dir(name)
        files.update({str(p.relative_to(folder.parent)): p for p in folder.rglob("*") if p.is_file()})
    return files_digest(files)


def files_digest(files: dict[str, Path]) -> str:
    """SHA-256 of files by their names (relative, so that a checkout and a wheel agree) and contents."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode("utf-8") + b"\0" + files[name].read_bytes() + b"\0")
    return h.hexdigest()
