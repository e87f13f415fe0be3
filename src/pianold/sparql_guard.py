"""What a public, read-only SPARQL endpoint refuses before running anything: updates, SERVICE
calls to endpoints outside the configured allowlist (no server-side request forgery), and
brackets nested deeper than the engine's stack allows.

The query is read token by token as the engine reads it (sparql_tokens.py). Where the engine
might read it differently — text that is no token at all, or a word glued to SERVICE — the query
is refused if the letters SERVICE appear anywhere in it: hiding a service call is the only reason
to write so. A `<` that may be a comparison or an IRI's start makes the text from there on
readable in two ways (the text before it reads the same either way): the query is refused if the
letters SERVICE appear from there on."""

from __future__ import annotations

import re

from pianold.sparql_tokens import Token, Unreadable, nesting, offsets, query_form, raw_form, tokens

_UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")
# The engine matches keywords without a word boundary (`trueSERVICE`, `SERVICESILENT`, `SERVICE:x`
# all call a service), so the raw check looks for the letters anywhere.
_SERVICE_RAW = re.compile(r"SERVICE", re.I)
READ_ONLY = "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP…) is not accepted"
# The engine parses, plans and evaluates nested groups, expressions and blank nodes recursively, up to
# 9 KB of stack a level (`ABS(ABS(…))`): on a worker's usual 8 MiB stack, about 950 levels of ABS,
# 1000 of nested `FILTER EXISTS {` or `COALESCE(`, 2200 of braces end the worker with SIGSEGV (a
# 503, and a new worker to start). No query people write nests a tenth as deep.
MAX_NESTING = 256


class Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def check_query(query: str, allowlist: tuple[str, ...]) -> None:
    try:
        toks = tokens(query)
    except Unreadable as err:
        if len(query) > 2 * MAX_NESTING:
            _check_nesting(nesting(query, "([{"))
        if _SERVICE_RAW.search(query):
            raise Refused(403, f"SERVICE is refused in a query this endpoint cannot read token by token ({err})") from None
        if (raw_form(query) or "").startswith(_UPDATE_WORDS):
            raise Refused(403, READ_ONLY) from None
        return  # no SERVICE in it, not an update: the engine will judge its syntax
    form = query_form(toks)
    if form is not None and form.startswith(_UPDATE_WORDS):
        raise Refused(403, READ_ONLY)
    if len(query) > 2 * MAX_NESTING:  # shorter, no query can nest that deep
        _check_nesting(nesting((t.text for t in toks), "([{"))
    if not _SERVICE_RAW.search(query):
        return  # the engine reads keywords letter by letter (no escapes): no SERVICE without its letters
    first = next((i for i, t in enumerate(toks) if t.ambiguous), None)
    if first is not None and _SERVICE_RAW.search(query, offsets(query)[first]):
        # from that `<` on, the engine may read the text otherwise than these tokens do
        raise Refused(403, "SERVICE is refused in this query: after a `<` that follows a value inside parentheses "
                           "(a comparison such as ?o<'x', or an IRI in a VALUES row) the rest of the query can be read "
                           "in two ways, and the letters SERVICE come after it; write `<` comparisons with a space "
                           "after the operator (?o < \"x\"), or put VALUES before the names and texts that hold SERVICE")
    for i, t in enumerate(toks):
        if t.kind == "word" and t.text.upper() == "SERVICE":
            _check_service(toks[i + 1:i + 3], allowlist)
        elif _glued_service(t):
            raise Refused(403, f"{t.text!r} would be read as the SERVICE keyword; write SERVICE as a word of its own")


def _check_nesting(depth: int) -> None:
    if depth > MAX_NESTING:
        raise Refused(400, f"the query nests parentheses, brackets and braces {depth} levels deep; this endpoint "
                           f"reads at most {MAX_NESTING} (the engine reads nested parts recursively, on a bounded stack)")


def _glued_service(t: Token) -> bool:
    """A word or a prefix that the engine may split into SERVICE and something else."""
    if t.kind == "word":
        return "SERVICE" in t.text.upper()
    if t.kind == "pname":
        return "SERVICE" in t.text.split(":", 1)[0].upper()
    return False


def _check_service(after: tuple[Token, ...], allowlist: tuple[str, ...]) -> None:
    if after and after[0].kind == "word" and after[0].text.upper() == "SILENT":
        after = after[1:]
    target = after[0] if after else None
    if target is None or target.kind != "iri":
        raise Refused(403, "SERVICE with a variable or prefixed endpoint is not allowed here; name an allowed endpoint with a full IRI")
    iri = target.text[1:-1]
    if iri not in allowlist:
        allowed = ", ".join(allowlist) if allowlist else "none"
        raise Refused(403, f"SERVICE <{iri}> is not in this endpoint's allowlist (allowed: {allowed}); no request was made")
