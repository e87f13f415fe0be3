"""What a public, read-only SPARQL endpoint refuses before running anything: updates, and
SERVICE calls to endpoints outside the configured allowlist (no server-side request forgery)."""

from __future__ import annotations

import re

_COMMENT = re.compile(r"#[^\n]*")
_STRING = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_UPDATE = re.compile(r"^\s*(?:(?:PREFIX\s+\S*\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.I)
_SERVICE = re.compile(r"\bSERVICE\s+(?:SILENT\s+)?(<[^>]*>|\S+)", re.I)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _strip_strings_and_comments(query: str) -> str:
    # IRIs first (they may contain '#'), then strings, then comments.
    iris: list[str] = []

    def keep(m):
        iris.append(m.group(0))
        return f"<{len(iris) - 1}>"

    text = _IRI.sub(keep, query)
    text = _STRING.sub('""', text)
    text = _COMMENT.sub("", text)
    return re.sub(r"<(\d+)>", lambda m: iris[int(m.group(1))], text)


def check_query(query: str, allowlist: tuple[str, ...]) -> None:
    text = _strip_strings_and_comments(query)
    if _UPDATE.match(text):
        raise Refused(403, "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP…) is not accepted")
    for match in _SERVICE.finditer(text):
        target = match.group(1)
        if not (target.startswith("<") and target.endswith(">")):
            raise Refused(403, "SERVICE with a variable endpoint is not allowed here; name an allowed endpoint IRI")
        iri = target[1:-1]
        if iri not in allowlist:
            allowed = ", ".join(allowlist) if allowlist else "none"
            raise Refused(403, f"SERVICE <{iri}> is not in this endpoint's allowlist (allowed: {allowed}); no request was made")
