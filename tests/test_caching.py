"""The bounded caches behind the fast path and the document cache."""

from pianold.web.caching import SizedLRU


def test_entries_are_bounded_by_count_and_by_bytes():
    lru = SizedLRU(size=3, max_bytes=800)
    for i in range(5):
        lru.put(i, f"v{i}", 10)
    assert len(lru) == 3 and lru.get(0) is None and lru.get(4) == "v4"
    lru.put("big", "b", 90)
    lru.put("bigger", "B", 90)
    assert lru.bytes <= 800 and len(lru) == 3 and lru.get("bigger") == "B"


def test_an_entry_heavier_than_an_eighth_of_the_budget_is_not_kept():
    lru = SizedLRU(size=10, max_bytes=800)
    lru.put("huge", "x", 101)
    assert lru.get("huge") is None and lru.bytes == 0


def test_the_least_recently_used_goes_first_and_a_replaced_entry_counts_once():
    lru = SizedLRU(size=2, max_bytes=10_000)
    lru.put("a", 1, 5)
    lru.put("b", 2, 5)
    assert lru.get("a") == 1  # touched: "b" is now the oldest
    lru.put("c", 3, 5)
    assert lru.get("b") is None and lru.get("a") == 1 and lru.get("c", touch=False) == 3
    lru.put("c", 4, 7)
    assert lru.bytes == (5 + len("a")) + (7 + len("c")) and lru.get("c") == 4  # bodies and keys


def test_keys_count_in_the_byte_budget():
    lru = SizedLRU(size=100, max_bytes=48_000)
    for i in range(10):
        lru.put(("v1", "x" * 5_000 + str(i)), "small body", 10)  # a long query text, a tiny answer
    assert len(lru) < 10 and lru.bytes <= 80_000


def test_cache_mb_bounds_both_caches_and_zero_keeps_nothing(built_dist):
    import pytest

    from pianold.config import ConfigError, load_settings
    from pianold.web import create_app

    app = create_app(built_dist.replace(cache_mb=0))
    client = app.test_client()
    for _ in range(2):
        answer = client.get("/data/plan/bari-psm-2030/action/5.1.1.a.ttl")
        assert answer.status_code == 200 and answer.data
        query = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": "text/csv"})
        assert query.status_code == 200
    assert len(app.extensions["pianold.fastpath"].entries) == len(app.extensions["pianold.fastpath"].answers) == 0
    fastpath = create_app(built_dist).extensions["pianold.fastpath"]
    assert fastpath.entries.max_bytes + fastpath.answers.max_bytes == 256 * 1024 * 1024
    with pytest.raises(ConfigError, match="cache_mb"):
        load_settings(env={"PIANOLD_CACHE_MB": "-1"})


def test_large_sparql_answers_do_not_push_documents_out_of_the_fast_path(built_dist):
    """A client sending distinct queries with large answers fills the SPARQL answers' half of the
    fast path only: the documents dereference replays stay."""
    from pianold.web import create_app

    app = create_app(built_dist.replace(cache_mb=1))
    fastpath = app.extensions["pianold.fastpath"]
    client = app.test_client()
    document = "/data/plan/bari-psm-2030/action/5.1.1.a.ttl"
    assert client.get(document).status_code == 200
    for i in range(40):  # each answer about 40 KB, under an eighth of the half: 1.6 MB in all
        query = f"SELECT ?s ?p ?o ({i} AS ?i) WHERE {{ ?s ?p ?o }} LIMIT 120"
        answer = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200 and 20_000 < len(answer.data) < 65_536, len(answer.data)
    hits = fastpath.hits
    assert client.get(document).status_code == 200
    assert fastpath.hits == hits + 1
    assert len(fastpath.answers) > 8  # the answers were kept too, in their own half
