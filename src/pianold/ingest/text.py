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
        raise fail(where.at(1, 1), f"file is UTF-16; save it as UTF-8 ({_how_to_save(path)})")
    workbook = {b"PK\x03\x04": "a spreadsheet workbook (.xlsx or .ods)", b"\xd0\xcf\x11\xe0": "an Excel workbook (.xls)"}
    for magic, what in workbook.items():
        if raw.startswith(magic):
            raise fail(where, f"this is {what}, not a CSV or text file: open it in the spreadsheet and save it "
                              f"again with File > Save as, type 'CSV UTF-8', as {path.name}")
    if raw.startswith(b"%PDF"):
        raise fail(where, "this is a PDF, not a text file: copy the text from the browser and save it as a UTF-8 text file")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        # the column in characters: the line may have UTF-8 letters before the bad byte
        column = len(raw[line_start:err.start].decode("utf-8", errors="replace")) + 1
        byte = raw[err.start]
        try:
            shown = f", where that byte is «{bytes([byte]).decode('cp1252')}»"
        except UnicodeDecodeError:
            shown = ""
        csv_file = path.suffix.lower() == ".csv"  # a CSV message's column is the spreadsheet column: not known here
        raise fail(
            where.at(line, None if csv_file else column),
            f"not UTF-8 (byte 0x{byte:02X}{f' at character {column} of the line' if csv_file else ''}); "
            f"the file looks like Windows-1252 or Latin-1{shown}: save it as UTF-8 ({_how_to_save(path)})",
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise fail(where, "file is empty")
    return text


def _how_to_save(path: Path) -> str:
    """How to save a file as UTF-8 from the program that likely wrote it."""
    if path.suffix.lower() == ".csv":
        return "in a spreadsheet: File > Save as, type 'CSV UTF-8'"
    return "in a text editor: Save as, encoding UTF-8; in Notepad choose 'UTF-8', not 'ANSI'"


def clean_cell(value: str, where: Location, what: str, *, max_chars: int = MAX_TITLE_CHARS,
               required: bool = False, multiline: bool = False, whole_cell: bool = False) -> str:
    """A cell's text, trimmed, or a located error if it is not publishable plain text.

    where.column is the column the value starts at in its line: a problem inside the text is
    reported at its own column. When where.column is None (the value's place in the line is not
    known) only the line is reported. whole_cell: where.column names the cell as a whole (a CSV
    field number, as a spreadsheet shows it), and every problem is reported there.
    required: empty (or only spaces) is an error. multiline: the text may hold several paragraphs,
    one a line; they are trimmed, blank lines dropped, and joined with one line break, as
    `clean_paragraphs` does for text read line by line."""
    if multiline:
        return clean_paragraphs([(line, where) for line in value.split("\n")], what, max_chars=max_chars, required=required)
    text = value.strip()
    lead = len(value) - len(value.lstrip())

    def at(i: int) -> Location:
        """Where the text's character i is (the cell itself when positions inside it are not known)."""
        if where.column is None or whole_cell:
            return where
        return where.at(where.line, where.column + lead + i)

    if required and not _visible(text):
        raise fail(where, f"{what} is empty: write the text")
    mojibake = find_mojibake(text)
    if mojibake is not None:
        start, bad, good = mojibake
        raise fail(
            at(start),
            f"{what}: the text looks double-encoded: «{bad}» should probably be «{good}». "
            "The file was opened or saved by a program that misread UTF-8 (often a spreadsheet): "
            f"fix the text, or save the file again as UTF-8 ({_how_to_save(where.path)})",
        )
    for i, ch in enumerate(text):
        if ch == "\ufeff":
            raise fail(at(i), f"{what}: stray byte-order mark inside the text")
        if ch == "\n":
            raise fail(at(i), f"{what}: a line break inside the text; it must be on one line")
        if unicodedata.category(ch) == "Cc" and ch != "\t":
            raise fail(at(i), f"{what}: invisible control character U+{ord(ch):04X} in the text; delete it")
    if _FORMULA.match(text):
        raise fail(at(0), f"{what}: looks like a spreadsheet formula ({_excerpt(text)}); export values, not formulas")
    markup = _MARKUP.search(text)
    if markup:
        raise fail(
            at(markup.start()),
            f"{what}: HTML markup {markup.group(0)[:40]!r} in text; plan text must be plain text",
        )
    if len(text) > max_chars:
        raise fail(at(0), f"{what}: {len(text)} characters, more than the {max_chars} allowed")
    return text


def clean_paragraphs(lines: list[tuple[str, Location]], what: str, *, max_chars: int = MAX_DESCRIPTION_CHARS,
                     required: bool = False) -> str:
    """Text of several paragraphs, one a line (each with its location): every line checked like a
    cell, blank lines dropped, the paragraphs joined with one line break."""
    paragraphs = [clean_cell(text, where, what, max_chars=max_chars) for text, where in lines]
    body = "\n".join(p for p in paragraphs if p)
    first = lines[0][1] if lines else None
    if required and not _visible(body):
        raise fail(first, f"{what} is empty: write the text")
    if len(body) > max_chars:
        raise fail(first, f"{what}: {len(body)} characters, more than the {max_chars} allowed")
    return body


def _visible(text: str) -> bool:
    """Whether the text has a character one can see (not only spaces or invisible characters)."""
    return any(unicodedata.category(ch)[0] not in "ZC" for ch in text)


# UTF-8 read as Windows-1252 (or Latin-1) turns "à" into "Ã " and "’" into "â€™": a lead character
# Â/Ã (two-byte sequences: Latin-1 letters, «», °, NBSP) or â (three-byte: ’ “ ” – — … €), then
# characters whose Windows-1252 byte is a UTF-8 continuation byte (0x80-0xBF). Italian never writes
# Â, Ã or â before such characters, so the check does not trip on real text; other leads (È, É, Ò…)
# are left alone because «PERCHÉ» would look like one.
_MOJIBAKE_LEADS = {"\u00c2": 1, "\u00c3": 1, "\u00e2": 2}


def _byte(ch: str) -> int | None:
    """The single byte a Windows-1252 (or, for its five holes, Latin-1) decoder read as ch."""
    for codec in ("cp1252", "latin-1"):
        try:
            raw = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        return raw[0]
    return None


def find_mojibake(text: str) -> tuple[int, str, str] | None:
    """(index, the word as written, the word repaired) of the first double-encoded UTF-8 sequence."""
    for i, ch in enumerate(text):
        follow = _MOJIBAKE_LEADS.get(ch)
        if follow is None:
            continue
        tail = text[i + 1:i + 1 + follow]
        raw = [_byte(ch)] + [_byte(c) for c in tail]
        repaired = None
        if len(tail) == follow and all(b is not None and 0x80 <= b <= 0xBF for b in raw[1:]):
            try:
                repaired = bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                repaired = None
            length = 1 + follow
        if repaired is None and ch == "\u00c3" and (i + 1 == len(text) or text[i + 1].isspace()):
            # "à" is C3 A0: the A0 (a no-break space) is often turned into a space or trimmed away
            repaired, length = "\u00e0", 1 + (i + 1 < len(text) and text[i + 1] == "\u00a0")
        if repaired is None and text.startswith("\u00e2\u20ac", i):
            # "”" is E2 80 9D and 9D has no Windows-1252 character: often dropped
            repaired, length = "\u201d", 2
        if repaired is None:
            continue
        start = _word_start(text, i)
        end = _word_end(text, i + length)
        return i, text[start:end], text[start:i] + repaired + text[i + length:end]
    return None


def _word_start(text: str, i: int) -> int:
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def first_difference(a: str, b: str) -> str:
    """Where two texts that should be equal first differ, in words one can act on."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"they differ at character {i + 1}: {_char(x)} in the first, {_char(y)} in the second"
    if len(a) == len(b):
        return "they are identical"
    longer, extra = ("first", a[len(b):]) if len(a) > len(b) else ("second", b[len(a):])
    return f"the {longer} goes on after character {min(len(a), len(b))} with {_excerpt(extra)}"


def _char(ch: str) -> str:
    name = unicodedata.name(ch, "unnamed character")
    shown = f"«{ch}» " if unicodedata.category(ch)[0] not in "ZC" else ""
    return f"{shown}U+{ord(ch):04X} {name}"


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
