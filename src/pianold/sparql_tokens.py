"""SPARQL's lexical tokens, scanned left to right as the engine's parser reads them, for the
checks made before a query runs (sparql_guard.py, store/bounded.py).

A left-to-right scan matters: stripping strings, comments and IRIs one kind after the other can
be fooled (a comment holding `'''` reads as the start of a long string that hides what follows).
The lexical rules are the engine's, not Python's: whitespace is space, tab, CR and LF only; a
comment ends at CR or LF; an IRI excludes only ASCII controls and spaces (so `<http://a\xa0#>` is
one IRI). Anything else is Unreadable, and the checks then judge the raw text.
One ambiguity of the grammar is reported rather than resolved: `<` right after a value inside
parentheses is a comparison in an expression (`FILTER(?o<'>')`) but the start of an IRI in a
collection or a data row (`(<a> <b>)`), and the two readings lex the rest of the line
differently. Such an IRI token is marked `ambiguous`, and every check treats it conservatively."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

_PATTERNS = r"""
    (?P<space>[\ \t\r\n]+|\#[^\r\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$][^\W]\w*)
  | (?P<pname>(?:[^\W\d_][\w.\-]*)?:(?:[\w\-:%]|\.(?=[\w\-:%]))*)
  RUN
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<word>[^\W\d]\w*)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].;,*+/|^!=<>?-])
  GAP
"""
# The tokens, one match at a time (the reference the scan below must agree with).
_TOKEN = re.compile(_PATTERNS.replace("RUN", "").replace("GAP", ""), re.X)
# The scan: the same tokens, read in time linear in the query. A prefixed name is tried at every
# letter, and where no colon ends it the try reads to the end of the run of name characters: in
# `a.a.a.…` (or `a-a-…`) every letter read the rest again, seconds for a long query in the server
# process, with the GIL held. A run that no colon ends is taken whole instead (`run`) and split
# as _TOKEN splits it, without a prefixed name in it; a character no token starts with is a `gap`,
# and the scan stops there (an unterminated string tried again at every later quote was the same).
_SCAN = re.compile(_PATTERNS.replace("RUN", r"| (?P<run>[^\W\d_][\w.\-]*(?![\w.\-:]))").replace("GAP", r"| (?P<gap>[\s\S])"), re.X)
_IN_RUN = re.compile(r"(?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))|(?P<word>[^\W\d]\w*)|(?P<punct>[.\-])")
_VALUE_KINDS = frozenset({"var", "string", "number", "iri", "pname", "lang"})


class Token(NamedTuple):  # a tuple: a query has dozens, made on every request
    kind: str  # space is dropped; iri, string, var, pname, number, word, lang, punct
    text: str
    ambiguous: bool = False  # an IRI the engine may read as `<` and more (see the module docstring)


class Unreadable(ValueError):
    """Text that is no SPARQL token at all: the checks then judge the raw query."""


def tokens(query: str) -> tuple[Token, ...]:
    """The query's tokens; the same query is read once per request, however many checks ask."""
    size = len(query)
    found = _cached(query) if size <= _CACHED_CHARS else _cached_long(query) if size <= _LONG_CHARS else _read(query)
    if isinstance(found, str):
        raise Unreadable(found)
    return found


_CACHED_CHARS = 8192
# A request asks for its query's tokens four times (the guard, its form, whether it repeats, its
# LIMIT). Scanned anew each time, a query of 64 KiB (sparql_max_query_bytes) held the GIL for
# 230-300 ms before it reached a worker, every server thread and dereference waiting, and so did
# one the worker then refused, or one unreadable at its last character. The last few long
# queries are kept too, one per request in flight at the server's default 8 threads, up to the
# default sparql_max_query_bytes: a token takes about 80 bytes, so at most 5 MB each, 40 MB in all.
_LONG_KEPT = 8
_LONG_CHARS = 65536


def _read(query: str) -> tuple[Token, ...] | str:
    """The query's tokens, or why it is Unreadable (kept as text: an exception kept would hold
    the frames of every place it is raised again)."""
    try:
        return _scan(query)
    except Unreadable as err:
        return str(err)


_cached = functools.lru_cache(maxsize=64)(_read)
_cached_long = functools.lru_cache(maxsize=_LONG_KEPT)(_read)


def _matches(query: str, pos: int = 0):
    """(kind, text, start) of each token of the query from `pos` on, spaces included, as _TOKEN
    reads them one after the other; Unreadable at the first character no token starts with."""
    for m in _SCAN.finditer(query, pos):  # every character is in a match: a token, or a gap
        kind = m.lastgroup
        if kind == "run":
            start = m.start()
            for part in _IN_RUN.finditer(m.group()):
                yield part.lastgroup, part.group(), start + part.start()
        elif kind == "gap":
            raise Unreadable(f"unexpected character {m.group()!r} at {m.start()}")
        else:
            yield kind, m.group(), m.start()


# Plain PREFIX declarations at the start of a query. Clients send the same few before every query;
# read once, they are not read again. Each ends with an IRI's `>`, which no token reads past, and
# the scan looks behind no position, so the rest of the query reads the same on its own.
_PROLOGUE = re.compile(r"(?:[\ \t\r\n]*PREFIX[\ \t\r\n]+(?:[A-Za-z][A-Za-z0-9_\-]*)?:[\ \t\r\n]*<[^<>\"{}|^`\\\x00-\x20]*>)+", re.I)


@functools.lru_cache(maxsize=64)
def _prologue(text: str) -> tuple[Token, ...]:
    return tuple(_token(Token, (kind, t, False)) for kind, t, _ in _matches(text) if kind != "space")


def _scan(query: str) -> tuple[Token, ...]:
    prologue = _PROLOGUE.match(query)
    if prologue is None:
        out = []
    else:  # kept only as long as a kept query may be: thousands of declarations are read, not held
        text = prologue.group()
        out = list(_prologue(text) if len(text) <= _CACHED_CHARS else _prologue.__wrapped__(text))
    out += [_token(Token, (kind, text, False)) for kind, text, _ in _matches(query, prologue.end() if prologue else 0)
            if kind != "space"]
    opened = query.find("(")
    if opened >= 0 and "<" in query[opened:]:  # an IRI may follow a value inside parentheses: mark it
        parens = 0
        for i, t in enumerate(out):
            if t.text == "(":
                parens += 1
            elif t.text == ")":
                parens = max(0, parens - 1)
            elif t.kind == "iri" and parens > 0 and i and _ends_value(out[i - 1]):
                out[i] = t._replace(ambiguous=True)
    return tuple(out)


_token = tuple.__new__  # a Token without NamedTuple's Python-level constructor, dozens per query


def offsets(query: str) -> list[int]:
    """Where each of tokens(query) starts in the query (a readable query's; for the rare checks
    that need to look at the raw text from a token on)."""
    return [start for kind, _, start in _matches(query) if kind != "space"]


def _ends_value(t: Token) -> bool:
    return t.kind in _VALUE_KINDS or t.text == ")" or (t.kind == "word" and t.text.lower() in ("true", "false"))


# the prefix's name cannot hold `<` or spaces: with `\S*` there, `PREFIX a<<<<…` was tried at every
# `<` to the end of the query (quadratic: seconds for a long query, with the GIL held). A comment
# is read up to its line's end and no shorter, so that a line of `# # # …` is not tried again
# from every `#` in it.
_RAW_FORM = re.compile(r"\s*(?:(?:PREFIX\s+(?:[^\s<]+\s*)?<[^>]*>|BASE\s*<[^>]*>|#[^\r\n]*[\r\n])\s*)*([A-Za-z]+)", re.I)


def raw_form(query: str) -> str | None:
    """query_form for a query that is no sequence of tokens (Unreadable): the first word after a
    plain prologue and comments, upper-cased, or None."""
    found = _RAW_FORM.match(query)
    return found.group(1).upper() if found else None


def query_form(toks: tuple[Token, ...]) -> str | None:
    """The first word after the prologue (PREFIX and BASE declarations), upper-cased: SELECT,
    CONSTRUCT, ASK, DESCRIBE, or an update's first word; None when no word comes there."""
    i = 0
    while i < len(toks) and toks[i].kind == "word" and toks[i].text.upper() in ("PREFIX", "BASE"):
        i += 3 if toks[i].text.upper() == "PREFIX" else 2
    return toks[i].text.upper() if i < len(toks) and toks[i].kind == "word" else None


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def nesting(texts: Iterable[str], openers: str) -> int:
    """How deep the brackets named by `openers` (some of `([{`) nest, each kind counted with the
    others: `texts` are the tokens' texts, or the characters of a text no tokens read (whose
    brackets in strings count too: an upper bound)."""
    opening, closing = set(openers), {_CLOSERS[c] for c in openers}
    depth = deepest = 0
    for text in texts:
        if text in opening:
            depth += 1
            deepest = max(deepest, depth)
        elif text in closing:
            depth -= 1
    return deepest


def form_of(query: str) -> str | None:
    """query_form of the query's tokens; when it is no sequence of tokens, raw_form of its text
    (the engine will judge such a query)."""
    try:
        return query_form(tokens(query))
    except Unreadable:
        return raw_form(query)
