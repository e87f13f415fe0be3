"""The lexer the guard and the bound proof read queries with (sparql_tokens.py) reads exactly as a
plain left-to-right scan, one match at a time, does: its faster scan must not change a token."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from pianold.sparql_tokens import _TOKEN, Token, Unreadable, _ends_value, tokens


def plain_scan(query: str) -> tuple[Token, ...]:
    """The reference: match at the current position, or the query is unreadable there."""
    out: list[Token] = []
    pos = parens = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            raise Unreadable(f"unexpected character {query[pos]!r} at {pos}")
        kind, text = match.lastgroup, match.group()
        if kind != "space":
            out.append(Token(kind, text, kind == "iri" and parens > 0 and bool(out) and _ends_value(out[-1])))
            if text == "(":
                parens += 1
            elif text == ")":
                parens = max(0, parens - 1)
        pos = match.end()
    return tuple(out)


def read(scan, query: str):
    try:
        return [tuple(t) for t in scan(query)]
    except Unreadable as err:
        return str(err)


PIECES = list("()<>{}?$'\"#\\ \t\r\n.;,:_-aZ9@^|&!=*/+é\u00a0\x00%") + [
    "<a>", "<http://a>", "?x", "'s'", '"""t"""', "ex:x", ":y", "FILTER", "SELECT", "SERVICE", "@it", "^^", "1.5e3", "# c\n"]


@hsettings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_the_scan_reads_as_the_plain_scan(query):
    assert read(tokens, query) == read(plain_scan, query)


PROLOGUES = ["", "PREFIX a: <http://a/> ", "prefix : <b>\n", "PREFIX a-b:<http://a#>PREFIX c_1: <c> ", "PREFIX x: <y> PREFIX x: <z>",
             "\tPREFIX  e:\n<e>"]


@hsettings(max_examples=3000, deadline=None)
@given(st.sampled_from(PROLOGUES), st.lists(st.sampled_from(PIECES + ["PREFIX", "<q>", "PREFIX p: <q>"]), max_size=30).map("".join))
def test_a_query_after_plain_prefix_declarations_reads_as_the_plain_scan(prologue, rest):
    """The declarations are read once and kept (clients repeat them before every query): what
    follows them, however it starts, reads as in one scan of the whole query."""
    assert read(tokens, prologue + rest) == read(plain_scan, prologue + rest)


@pytest.mark.parametrize("query, ambiguous", [
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o<'>' && '<'>?o) }", 2),  # comparisons the engine may read as IRIs' starts
    ("SELECT * WHERE { ?s ?p ?o } VALUES (?a ?b) { (<http://a> <http://b>) }", 1),  # after a value: the second
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o <http://a>) } # (", 1),
    ("SELECT ?x WHERE { ?x <http://a\u00a0#> 1 }", 0),  # one IRI to the engine, no parentheses
    ("PREFIX a: <http://a/> SELECT (COUNT(?x) AS ?n) WHERE { ?x a:p ?y }", 0),  # IRIs only before the first `(`
    ("SELECT * WHERE { ?s ?p ?o } \u00a7", None),  # unreadable
])
def test_the_scan_reads_known_cases_as_the_plain_scan(query, ambiguous):
    found = read(tokens, query)
    assert found == read(plain_scan, query)
    if ambiguous is None:
        assert isinstance(found, str) and "unexpected character" in found
    else:
        assert sum(1 for t in found if t[2]) == ambiguous


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { " + "a." * 32000,  # a prefixed name tried at every letter read to the end: 3.4 s
    "ASK { " + "a-" * 32000 + " }",
    "ASK { ?s ?p " + '"\\' * 32000,  # an unterminated string tried again at every quote: 19 s
    "SELECT * WHERE { <a" + ".a" * 32000,
], ids=["dotted run", "hyphenated run", "unterminated strings", "run after an unclosed IRI"])
def test_the_scan_takes_time_linear_in_the_query(query):
    """The guard reads every query in the server process, up to sparql_max_query_bytes (64 KiB),
    in one regular-expression scan that holds the GIL: a scan quadratic in the query stalled the
    whole server for seconds per request (every thread, dereference included)."""
    import time

    from pianold.sparql_guard import Refused, check_query

    assert read(tokens, query[:2000]) == read(plain_scan, query[:2000])
    started = time.perf_counter()
    try:
        check_query(query, ())
    except Refused:
        pass
    read(tokens, query)
    assert time.perf_counter() - started < 1


def test_the_raw_prologue_is_read_in_linear_time():
    """An unreadable query's form is read from its raw prologue: `\\S*` for the prefix's name made
    `PREFIX a<<<<…` quadratic (2.7 s for 64 KiB, GIL held, twice per request)."""
    import time

    from pianold.sparql_tokens import raw_form

    started = time.perf_counter()
    assert raw_form("PREFIX a" + "<" * 65000 + "`") == "PREFIX"
    assert time.perf_counter() - started < 0.5
    assert raw_form("PREFIX ex: <http://e/> PREFIX : <http://f/>\nBASE <http://g/> construct {") == "CONSTRUCT"
    assert raw_form("PREFIX ex:<http://e/>INSERT DATA {}") == "INSERT"


def test_a_long_prologue_is_read_but_not_kept():
    """Kept prologues are bounded as kept queries are (_CACHED_CHARS): a query of thousands of
    declarations (up to sparql_max_query_bytes) made a kept token list about 13 times its size, 64 of
    them held by the server for good."""
    from pianold.sparql_tokens import _CACHED_CHARS, _cached, _prologue

    long = "".join(f"PREFIX p{i}: <http://example.org/{i}/>\n" for i in range(_CACHED_CHARS // 20)) + "ASK {}"
    _prologue.cache_clear()
    _cached.cache_clear()
    assert read(tokens, long) == read(plain_scan, long)
    assert _prologue.cache_info().currsize == 0
    short = "PREFIX a: <http://example.org/a/>\nASK {}"
    assert read(tokens, short) == read(plain_scan, short) and _prologue.cache_info().currsize == 1


@pytest.mark.parametrize("ending", ["}", "\\"], ids=["readable", "unreadable at its end"])
def test_a_long_query_is_scanned_once_for_every_check_of_its_request(ending):
    """A request asks for its query's tokens four times (the guard, its form, whether it repeats,
    its LIMIT). A query longer than the kept ones was scanned anew each time, and so was one
    unreadable at its last character: 230-260 ms of the GIL for 64 KiB, every server thread and
    dereference waiting, before the query even reached a worker. The last few long queries are
    kept, and no more, and none longer than the default request cap (sparql_max_query_bytes)."""
    from pianold.sparql_tokens import _CACHED_CHARS, _LONG_CHARS, _LONG_KEPT, _cached_long

    long = "ASK { " + "a." * _CACHED_CHARS + ending
    if ending == "}":
        assert tokens(long) is tokens(long)
    else:
        with pytest.raises(Unreadable) as first:
            tokens(long)
        hits = _cached_long.cache_info().hits
        with pytest.raises(Unreadable) as again:
            tokens(long)
        assert _cached_long.cache_info().hits == hits + 1 and str(again.value) == str(first.value)
        assert str(first.value) == read(plain_scan, long)
    for i in range(_LONG_KEPT + 2):
        read(tokens, f"{long}#{i}")
    assert _cached_long.cache_info().currsize == _LONG_KEPT
    kept = _cached_long.cache_info()
    longer = long + "#" * _LONG_CHARS  # longer than the default request cap: read each time, not kept
    assert read(tokens, longer) == read(tokens, longer) == read(plain_scan, longer)
    assert _cached_long.cache_info() == kept
