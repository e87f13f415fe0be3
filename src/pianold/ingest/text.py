"""Decoding source files and checking the text of each cell.

Plan offices export from spreadsheets and browsers: BOMs and CRLF line ends are harmless and
accepted; anything that would publish wrong text (another encoding, markup, formulas, control
characters) is refused with its position.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from pianold.ingest.errors import Location, fail

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TITLE_CHARS = 500
MAX_DESCRIPTION_CHARS = 5000

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);")
_FORMULA = re.compile(r"^(?:[=@]|[+\-]\s*[A-Za-z_]+\s*\()")


def read_source(path: Path) -> str:
    """The text of a UTF-8 source file with line ends normalised to LF."""
    where = Location(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(where, "file not found") from None
    except IsADirectoryError:
        raise fail(where, "is a directory, expected a file") from None
    except OSError as err:
        raise fail(where, f"cannot read file: {err.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(where, f"file is {len(raw)} bytes, more than the {MAX_FILE_BYTES} a source may have")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail(where.at(1, 1), "file is UTF-16; save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise fail(
            where.at(line, column),
            f"not UTF-8 (byte 0x{raw[err.start]:02X}); the file looks like Windows-1252 or Latin-1: "
            "save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise fail(where, "file is empty")
    return text


def clean_cell(value: str, where: Location, what: str, *, max_chars: int = MAX_TITLE_CHARS) -> str:
    """A cell's text, trimmed, or a located error if it is not publishable plain text."""
    text = value.strip()
    col0 = (where.column or 1) + (len(value) - len(value.lstrip()))
    for i, ch in enumerate(text):
        if ch == "\ufeff":
            raise fail(where.at(where.line, col0 + i), f"{what}: stray byte-order mark inside the text")
        if unicodedata.category(ch) == "Cc" and ch != "\t":
            raise fail(where.at(where.line, col0 + i), f"{what}: control character U+{ord(ch):04X} in text")
    if _FORMULA.match(text):
        raise fail(where.at(where.line, col0), f"{what}: looks like a spreadsheet formula ({_excerpt(text)}); export values, not formulas")
    markup = _MARKUP.search(text)
    if markup:
        raise fail(
            where.at(where.line, col0 + markup.start()),
            f"{what}: HTML markup {markup.group(0)[:40]!r} in text; plan text must be plain text",
        )
    if len(text) > max_chars:
        raise fail(where.at(where.line, col0), f"{what}: {len(text)} characters, more than the {max_chars} allowed")
    return text


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
