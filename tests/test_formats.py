"""The streaming writers behind the dumps: chunked N-Triples and JSON-LD equal the whole document."""

from __future__ import annotations

import json

import pyoxigraph as ox
from hypothesis import given
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic

from pianold.formats import jsonld_chunks, ntriples_bytes, ntriples_chunks, ntriples_reader

LOCAL = st.text("abcxyz019", min_size=1, max_size=6)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _line(s: str, p: str, o: str | None, text: str, lang: str | None) -> bytes:
    obj = f"<https://example.org/{o}>" if o is not None else json.dumps(text, ensure_ascii=False) + (f"@{lang}" if lang else "")
    return f"<https://example.org/{s}> <http://www.w3.org/2004/02/skos/core#{p}> {obj} .".encode()


LINES = st.lists(st.builds(_line, LOCAL, LOCAL, st.none() | LOCAL, TEXT, st.none() | st.sampled_from(["it", "en"])),
                 max_size=40).map(lambda lines: sorted(set(lines)))


@given(LINES, st.integers(1, 7), st.integers(1, 50))
def test_ntriples_reader_streams_exactly_the_document(lines, chunk, read_size):
    expected = ntriples_bytes(lines)
    assert b"".join(ntriples_chunks(lines, chunk)) == expected
    reader, got = ntriples_reader(lines, chunk), b""
    while block := reader.read(read_size):
        got += block
    assert got == expected


@given(LINES)
def test_jsonld_chunks_are_the_same_graph_as_the_lines(lines):
    nt = Graph().parse(data=ntriples_bytes(lines).decode(), format="nt")
    doc = b"".join(jsonld_chunks(lines))
    assert isomorphic(Graph().parse(data=doc.decode(), format="json-ld"), nt)
    triples = list(ox.parse(ntriples_reader(lines, 3), format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == len(nt)
