"""What a public client can make the query workers do: fail cleanly, and leave the server answering."""

from __future__ import annotations

import resource

import pytest

from pianold.sparql_guard import READ_ONLY, Refused, check_query
from pianold.sparql_tokens import raw_form
from pianold.web import create_app

ACCEPT = {"Accept": "application/sparql-results+json"}
ACTION = "https://w3id.org/pianold/data/plan/bari-psm-2030/action/5.1.1.a"


def test_a_query_that_crashes_the_engine_is_answered_without_an_invitation_to_retry(built_dist):
    """The engine reads, plans and evaluates nested expressions recursively, up to 9 KB of stack a
    level: 250 levels of ABS, which the guard lets through (MAX_NESTING), overflow a worker with a
    1 MiB stack, and it dies by SIGSEGV (30,000 parentheses, a 60 KB query, did so on the usual 8 MiB
    before the guard refused them). The client got a 503 with `Retry-After: 5` and "retry it", so
    that a polite client sent it again, and crashed the next worker too. It gets a 503 saying why,
    without Retry-After (as after a timeout); the worker is replaced and the next query is answered."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    stack = 2 ** 20  # a small `ulimit -s`, which the worker inherits (under `unlimited` its stack would grow)
    resource.setrlimit(resource.RLIMIT_STACK, (stack if hard == resource.RLIM_INFINITY else min(stack, hard), hard))
    app = create_app(built_dist.replace(sparql_workers=1))
    pool = app.extensions["pianold.sparql_pool"]
    try:
        client = app.test_client()
        deep = "ASK { FILTER(" + "ABS(" * 250 + "1" + ")" * 250 + ") }"
        crashed = client.post("/sparql", data=deep.encode(), headers={"Content-Type": "application/sparql-query", **ACCEPT})
        assert crashed.status_code == 503 and "Retry-After" not in crashed.headers, (crashed.status_code, crashed.headers)
        assert b"nested" in crashed.data and pool.deaths == 1
        light = client.get("/sparql", query_string={"query": f"SELECT ?p ?o WHERE {{ <{ACTION}> ?p ?o }} # {'x' * 5000}"},
                           headers=ACCEPT)  # too long to be answered in the server: by the new worker
        assert light.status_code == 200 and len(pool.pids()) == 1
    finally:
        pool.close()
        resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))


@pytest.mark.parametrize("update", [
    "# add a triple\nINSERT DATA { <http://a> <http://b> <http://c> } \u00b7",
    "PREFIX a: <http://a/> # every triple\r\n DELETE WHERE { ?s ?p ?o } \u00a7",
])
def test_an_update_after_a_comment_is_refused_as_an_update_in_text_no_token_reads(update):
    """A query that is no sequence of tokens (here a stray `·` or `§`) is judged by its raw prologue.
    A comment there hid the update's first word: the query went to a worker, which answered 400
    "syntax error … expected CONSTRUCT" (nothing was written: workers only query, a read-only
    store). It is refused as the update it is, with the endpoint's read-only message."""
    with pytest.raises(Refused) as refused:
        check_query(update, ())
    assert refused.value.status == 403 and str(refused.value) == READ_ONLY
    assert raw_form("# a comment\r\n#\n  PREFIX a: <b> # another\nselect") == "SELECT"


def test_a_query_nested_deeper_than_the_engine_s_stack_allows_is_refused_before_it_runs(built_dist):
    """30,000 nested parentheses (a 60 KB query, under the request cap) ended a worker with SIGSEGV
    on the usual 8 MiB stack, and 1,000 levels of ABS did: a client could keep the workers
    restarting. The guard refuses a query nested deeper than MAX_NESTING with a 400 that says so,
    and no worker starts on it; in a text no token reads, every bracket counts."""
    from pianold.sparql_guard import MAX_NESTING

    app = create_app(built_dist.replace(sparql_workers=1))
    pool = app.extensions["pianold.sparql_pool"]
    try:
        client = app.test_client()
        for deep in ("ASK { FILTER(" + "(" * 30000 + "1" + ")" * 30000 + ") }",
                     "SELECT * WHERE { ?s ?p ?o FILTER(" + "ABS(" * 1000 + "1" + ")" * 1000 + ") }",
                     "SELECT * WHERE " + "{ " * 3000 + "?s ?p ?o" + " }" * 3000,
                     "ASK { FILTER(" + "(" * 30000 + "1" + ")" * 30000 + ") } \u00a7"):
            refused = client.post("/sparql", data=deep.encode(), headers={"Content-Type": "application/sparql-query", **ACCEPT})
            assert refused.status_code == 400 and f"at most {MAX_NESTING}".encode() in refused.data, refused.data[:200]
        assert pool.deaths == 0
        written = "SELECT * WHERE { ?s ?p ?o FILTER(" + "ABS(" * 40 + "1" + ")" * 40 + " > 0) } LIMIT 1"
        assert client.post("/sparql", data=written.encode(),
                           headers={"Content-Type": "application/sparql-query", **ACCEPT}).status_code == 200
    finally:
        pool.close()
