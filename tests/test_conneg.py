"""The Accept parser: q-values, wildcards, parameters, q=0 exclusions, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pianold.web.conneg import negotiate, parse_accept

OFFERS = ["text/html", "text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"]


@pytest.mark.parametrize("accept,expected", [
    (None, "text/html"),
    ("", "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/ld+json;q=0.9, text/turtle;q=0.8", "application/ld+json"),
    ("text/turtle;q=0.5, application/rdf+xml", "application/rdf+xml"),
    ("*/*;q=0.1, text/turtle", "text/turtle"),
    ("text/*;q=0.5, text/html;q=0", "text/turtle"),
    ("application/rdf+xml;q=0, */*", "text/html"),
    ("text/html;q=0, text/turtle;q=0, application/*;q=0.2", "application/ld+json"),
    ("text/turtle;charset=utf-8", "text/turtle"),
    ("TEXT/Turtle", "text/turtle"),
    ("text/turtle; q=0.3, text/n3; q=1", "text/turtle"),
    ('application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"', "application/ld+json"),
    ('application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded";q=0.5, text/turtle;q=0.4', "application/ld+json"),
    ("image/png", None),
    ("text/turtle;q=0", None),
    ("*/*;q=0", None),
    ("garbage", "text/html"),
    ("text/turtle;q=abc, application/n-triples", "application/n-triples"),
    ("text/turtle;q=2", "text/html"),
    ("text/html;level=1;q=0.5, text/turtle;q=0.4", "text/html"),
    # rdflib's default Accept when it fetches a URL for parse(format="turtle")
    ("text/turtle, application/rdf+xml;q=0.9, application/n-triples;q=0.9, */*;q=0.1", "text/turtle"),
    # a browser
    ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", "text/html"),
    # curl
    ("*/*", "text/html"),
])
def test_negotiate(accept, expected):
    assert negotiate(accept, OFFERS) == expected


def test_most_specific_range_decides():
    assert negotiate("text/*;q=0.9, text/turtle;q=0.1", ["text/turtle", "text/html"]) == "text/html"


def test_parameters_are_compared_only_where_the_offer_states_them():
    ranges = parse_accept('text/html;level=1')
    assert ranges[0].params == (("level", "1"),)
    assert negotiate("text/html;level=1", ["text/html"]) == "text/html"  # a form of the same data: not refused
    assert negotiate("text/csv;header=present", ["application/sparql-results+json", "text/csv"]) == "text/csv"
    assert negotiate("text/plain;format=flowed", ["text/plain;format=fixed"]) is None
    assert negotiate("text/html;level=1;q=0.2, text/*;q=0.9", ["text/html", "text/turtle"]) == "text/turtle"  # more specific


def test_huge_header_is_bounded():
    accept = ", ".join(["text/x-nothing"] * 10_000 + ["text/turtle"])
    assert len(parse_accept(accept)) == 64
    assert negotiate(accept, OFFERS) is None  # text/turtle is past the 64 ranges read: nothing acceptable
    within = ", ".join(["text/x-nothing"] * 63 + ["text/turtle"])
    assert negotiate(within, OFFERS) == "text/turtle"  # the 64th range is still read


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_header_never_raises(accept):
    result = negotiate(accept, OFFERS)
    assert result is None or result in OFFERS


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OFFERS + ["*/*", "text/*", "image/png"]),
                          st.sampled_from(["1", "0.9", "0.5", "0.1", "0"])), min_size=1, max_size=6))
def test_choice_has_maximal_quality(pairs):
    from pianold.web.conneg import quality

    accept = ", ".join(f"{m};q={q}" for m, q in pairs)
    chosen = negotiate(accept, OFFERS)
    ranges = parse_accept(accept)
    best = max(quality(ranges, o) for o in OFFERS)
    if best == 0:
        assert chosen is None
    else:
        assert quality(ranges, chosen) == best


@pytest.mark.parametrize("accept, expected", [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
    ("TEXT/HTML;level=1", True),
    ("*/*", False), ("text/*", False), (None, False), ("", False),
    ("application/sparql-results+json,*/*;q=0.9", False), ("text/html;q=0, */*", False),
])
def test_named_is_only_the_type_itself(accept, expected):
    from pianold.web.conneg import named

    assert named(accept, "text/html") is expected
