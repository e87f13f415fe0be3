"""Which SPARQL queries are cheap enough, provably, to answer in the server process.

Queries normally run in worker processes that are killed at the time limit (workers.py): a
query running in a thread cannot be stopped. The round trip to a worker costs more than a
lookup of one resource takes, and a good part of a scan of a few thousand triples, so a query
whose work is provably bounded skips it.
A query is bounded when

- every triple pattern has an IRI or a variable as subject, an IRI or a variable as predicate (no
  property paths, no blank nodes) and any object but a number signed with `+` (the engine reads
  `<p> +1` as the path `<p>+` to 1);
- it is a SELECT, ASK or CONSTRUCT (a DESCRIBE follows blank nodes beyond the counted patterns)
  without FROM (a graph named twice repeats every match), and nothing follows its modifiers;
- its pattern has no nested group: no OPTIONAL, UNION, MINUS, GRAPH, SERVICE, VALUES, EXISTS or
  subquery (all need a brace, so any brace inside the WHERE group disqualifies it);
- it has at most MAX_PATTERNS triple patterns: Oxigraph plans a group of n patterns in about n**4
  steps whatever they match (200 patterns of an IRI the store does not hold, a bound of one
  solution, took 11 s to plan; 400 took 208 s), a cost no match count sees;
- it has at most MAX_OPERATORS operators (FILTERs included, which the engine joins with &&): its
  optimiser takes time quadratic in a chain of them (`FILTER(?o&&1&&1…)` in 4096 characters: 187 ms
  with no solution at all);
- it binds at most MAX_BINDINGS variables with AS (BIND, projected or grouped expressions): the
  engine plans them in time quadratic in their number (250 BINDs: 4.3 ms for one solution);
- no case change (UCASE, LCASE) is inside another's argument: each reads its whole argument, up to
  three times a constant's length after the first, at about 10 ns a character for some letters
  (`ΐ`), where the query weighs the constant once (UCASE twelve times over a constant of 240
  bytes, for 162 solutions: 8 ms), and changing case twice is never needed;
- its parentheses and brackets nest at most MAX_DEPTH deep: the engine parses, optimises and
  evaluates an expression recursively, up to 9 KB of the thread's stack a level (`ABS(ABS(…))`),
  and reads a template's blank nodes (`[ :p [ :p …] ]`) so, 2.3 KB a level; an overflow ends the
  whole server process, and a server thread's stack may be 2 MiB (glibc's default under `ulimit -s
  unlimited`), which 250 levels of ABS (1.4 KB of query) or 930 of brackets overflowed;
- its expressions call only functions whose result is no longer than their arguments (so no
  CONCAT or REPLACE chain can grow a string exponentially) and whose cost is linear in them (so
  no REGEX: pyoxigraph 0.5 compiles the pattern again for every solution, milliseconds each for
  some patterns), and the query is short;
- and, counted on the store just before it runs, the product of the patterns' match counts, times
  the query's size in tokens (its prologue aside), and times the product's bit length (about its
  log2) when the solutions are sorted, is at most `budget`. Each pattern is counted with its IRIs
  fixed and everything else open, in every named graph (the default graph is their merge, so it
  holds no more), so the engine scans no more than that for it; whatever order it joins the
  patterns in, every intermediate solution combines one match of each, so the solutions are
  bounded by the product; and each solution costs at most one evaluation of each term of the query
  (a projection, a filter, a sort key), so a wide projection or a long chain of calls leaves room
  for fewer solutions. An ORDER BY compares each solution about log2(n) times, each comparison
  reading the terms' text from the store, so sorted solutions weigh that much more. No IRI, prefix
  or literal of the query may be long (MAX_TOKEN_CHARS), and each token weighs its length in units
  of TERM_BYTES (a prefixed name expanded), so that a constant that every solution repeats weighs
  what it costs. A CONSTRUCT's template (its pattern, in the short form) weighs TEMPLATE_WEIGHT
  times its tokens, since each solution writes each of its triples with the Python writer, and it
  holds no collection (two triples and a blank node for each item). Each variable bound with AS
  adds BINDING_WEIGHT, what the engine spends extending each solution by it. Each count stops at the
  budget, and runs in the engine (a count in Python would hold the GIL 15 times longer).

The product is also the bound the server passes on (workers.QueryJob.at_most), so an answer
proven to fit under the row cap is written by Oxigraph's own writer.
`bench/inline_budget.py` measures, on given data, the slowest query accepted at a budget.

Anything the recognizer does not understand is simply not bounded and goes to a worker, so a
mistake here costs speed, never safety."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import pyoxigraph as ox

from pianold.sparql_tokens import Token, Unreadable, nesting, query_form, tokens

MAX_QUERY_CHARS = 4096
# Oxigraph 0.5 plans a group's triple patterns in about n**4 steps: 16 plan in under half a
# millisecond, 50 in 40 ms, 100 in 0.7 s, 200 in 11 s (whatever they match, so no count sees it).
MAX_PATTERNS = 16
# Oxigraph 0.5 optimises a chain of operators in time quadratic in its length: `?o&&1` repeated
# 100 times takes 1.5 ms, 1300 times 187 ms, whatever the solutions (FILTERs are joined with &&).
MAX_OPERATORS = 64
# The engine looks every pattern up in each graph a request lists (default-graph-uri,
# named-graph-uri), a factor the match counts do not see: a bounded join over 2900 listed graphs
# took 0.6 s. A request listing more goes to a worker (sparql_protocol._run).
MAX_INLINE_GRAPHS = 8
# Oxigraph 0.5 plans the variables bound with AS in time quadratic in their number, whatever the
# solutions: 64 take 0.4 ms, 250 (in 4096 characters) 4.3 ms, twice the slowest query the budget
# allows, for a single solution.
MAX_BINDINGS = 64
# And it extends each solution by a bound variable at several times the cost of evaluating its
# expression's tokens: 64 `(STR(?o) AS ?aN)` over 17 solutions took 3.9–7.7 ms (3.6 µs a binding
# and solution) where the slowest query the budget allowed otherwise takes 2.5–3.7 ms
# (bench/inline_budget.py, Bari); at 16 more each, the slowest such query accepted takes under 2 ms.
BINDING_WEIGHT = 16
# Oxigraph 0.5 recurses once per level of a nested expression, up to 9 KB of stack a level for a
# function call (`ABS(`, `COALESCE(`), 2 KB for parentheses or `!`, 2.3 KB for a template's `[`: a
# thread of 2 MiB overflowed at 240 levels of ABS, 930 of `[`, and the process died. 16 levels
# (and MAX_OPERATORS) run in a 256 KiB thread.
MAX_DEPTH = 16
_OPERATORS = frozenset("&& || ! = != < > <= >= + - * /".split())
# No IRI, prefix or literal longer than this, so that no term weighs much more than the data's own
# values (a prefixed name expands to its prefix's IRI and its own text, at most twice this).
MAX_TOKEN_CHARS = 256
# A term of about this many bytes is one unit of a query's size; a longer constant weighs more,
# since every solution may evaluate and write it once.
TERM_BYTES = 64
# A CONSTRUCT writes every template triple for every solution, with the Python writer (results.py):
# at a token's weight of one, a template of 75 triples over 29 solutions held a server thread for
# 7 ms in Turtle and 12 ms in RDF/XML (a collection of 300 items, 41 ms), where the slowest SELECT
# the budget allows takes 2.5 ms (bench/inline_budget.py), on the Bari data. At 8, the slowest
# template accepted (flat, object lists, blank nodes; Turtle, RDF/XML, JSON-LD) took 2.1 ms.
TEMPLATE_WEIGHT = 8
MAX_MEMO = 10_000  # memoised match counts per store: keys hold IRIs, so at most ~40 MB even at MAX_QUERY_CHARS each
_DIGITS = re.compile(r"[0-9]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")  # an absolute IRI's start (RFC 3987)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# Functions whose value is never much longer than their arguments (UCASE can turn ß into SS once)
# and whose cost is linear in them, and the clauses that take parentheses.
SAFE_FUNCTIONS = frozenset("""
    ASC DESC HAVING
    STR LANG LANGMATCHES DATATYPE BOUND IRI URI ISIRI ISURI ISBLANK ISLITERAL ISNUMERIC SAMETERM
    CONTAINS STRSTARTS STRENDS STRLEN LCASE UCASE STRDT STRLANG IF COALESCE
    ABS ROUND CEIL FLOOR YEAR MONTH DAY HOURS MINUTES SECONDS NOW
    COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT IN FILTER BIND
""".split())
_CASE_CHANGES = frozenset({"UCASE", "LCASE"})
_CLAUSE_WORDS = frozenset("DISTINCT REDUCED AS WHERE FROM NAMED GROUP BY HAVING ORDER ASC DESC LIMIT OFFSET "
                          "SEPARATOR NOT TRUE FALSE A".split())
# Every word the bounded form has a place for: a query with any other (REGEX, OPTIONAL, UNION,
# SERVICE, DESCRIBE…) is not bounded, known without reading it.
_WORDS = SAFE_FUNCTIONS | _CLAUSE_WORDS | frozenset({"PREFIX", "SELECT", "CONSTRUCT", "ASK"})


class Form(NamedTuple):
    """What the bound is computed from: the triple patterns, the size of the query (its tokens,
    each weighed by its length), and whether its solutions are sorted."""

    patterns: list["Pattern"]
    size: int
    sorted: bool = False


@dataclass(frozen=True)
class Pattern:
    """A triple pattern; None where the query has a variable."""

    subject: str | None
    predicate: str | None
    object: ox.NamedNode | ox.Literal | None


class _NotBounded(Exception):
    pass


def _tokens(query: str) -> tuple[Token, ...]:
    """The query's tokens, unless one of them may be read otherwise by the engine."""
    try:
        toks = tokens(query)
    except Unreadable as err:
        raise _NotBounded(str(err)) from None
    if any(t.ambiguous for t in toks):
        raise _NotBounded("`<` after a value inside parentheses: comparison or IRI")
    if any(len(t.text) > MAX_TOKEN_CHARS for t in toks):
        raise _NotBounded("a long IRI, prefix or literal")
    return toks


def read_form(query: str) -> Form | None:
    """The patterns and size of a bounded-form query, or None when the query is not of that form."""
    if len(query) > MAX_QUERY_CHARS:
        return None
    try:
        toks = _tokens(query)
        if not _WORDS.issuperset({t.text.upper() for t in toks if t.kind == "word"}):
            return None
        reader = _Reader(toks)
        found = reader.query()
        bindings = sum(t.kind == "word" and t.text.upper() == "AS" for t in toks)
        if len(found) > MAX_PATTERNS or nesting((t.text for t in toks), "([") > MAX_DEPTH or bindings > MAX_BINDINGS:
            return None
        # a signed number (`+1`) is an operator and a number to the engine in `?o+1`
        if sum(t.text in _OPERATORS or (t.kind == "number" and t.text[0] in "+-")
               or (t.kind == "word" and t.text.upper() == "FILTER") for t in toks) > MAX_OPERATORS:
            return None
    except (_NotBounded, ValueError):  # ValueError: an IRI pyoxigraph refuses; the engine will say so, from a worker
        return None
    return Form(found, reader.size + BINDING_WEIGHT * bindings, reader.sorted)


def solution_limit(query: str) -> int | None:
    """The top-level LIMIT of a SELECT query (so the most solutions it can have), or None."""
    try:
        toks = _tokens(query)
    except _NotBounded:
        return None
    if query_form(toks) != "SELECT":
        return None
    depth = 0
    for i, t in enumerate(toks):
        if t.text == "{":
            depth += 1
        elif t.text == "}":
            depth -= 1
        elif depth == 0 and t.kind == "word" and t.text.upper() == "LIMIT" and i + 1 < len(toks) \
                and _DIGITS.fullmatch(toks[i + 1].text):
            return int(toks[i + 1].text)
    return None


def proven_solutions(store: ox.Store, query: str, budget: int, counts: dict | None = None) -> int | None:
    """The most solutions the query can have (its patterns' match counts multiplied together),
    when it is of the bounded form and those, times its size (and times their bit length when it
    sorts), are ≤ budget; None otherwise. `counts` memoises match counts across queries; only for
    a store that never changes. Anything the counts cannot settle leaves the query unbounded."""
    form = read_form(query)
    if form is None or form.size > budget:
        return None
    solutions = 1
    try:
        for p in form.patterns:
            key = (p.subject, p.predicate, p.object, budget)
            matches = counts.get(key) if counts is not None else None
            if matches is None:
                matches = count_matches(store, p, budget + 1)
                if counts is not None:
                    if len(counts) >= MAX_MEMO:
                        counts.clear()
                    counts[key] = matches
            solutions *= max(1, matches)
            if solutions * form.size > budget:
                return None
    except (ValueError, SyntaxError, OSError, RuntimeError):  # e.g. not a valid IRI: the engine will say so, from a worker
        return None
    if form.sorted and solutions * form.size * solutions.bit_length() > budget:
        return None
    return solutions


def count_matches(store: ox.Store, pattern: Pattern, at_most: int) -> int:
    """How many quads of the named graphs match the pattern (at most `at_most`): as many as any
    dataset a query can ask for may hold, since the default graph is their merge (oxigraph.py)."""
    terms = (ox.NamedNode(pattern.subject) if pattern.subject else None,
             ox.NamedNode(pattern.predicate) if pattern.predicate else None, pattern.object)
    # the terms' own N-Triples forms: pyoxigraph checked the IRIs, so none can end its `<…>` early
    triple = " ".join(str(term) if term is not None else var for term, var in zip(terms, ("?s", "?p", "?o")))
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT * WHERE {{ GRAPH ?g {{ {triple} }} }} LIMIT {int(at_most)} }}"
    return int(next(iter(store.query(query)))[0].value)


class _Reader:
    """A recursive-descent reader of the bounded subset of SPARQL 1.1 (grammar in the module docstring)."""

    def __init__(self, toks: tuple[Token, ...]):
        self.toks = toks
        self.i = 0
        self.prefixes: dict[str, str] = {}
        self.found: list[Pattern] = []
        self.size = 0  # tokens from the query form on, each weighed by its length (weight)
        self.sorted = False  # ORDER BY among the solution modifiers

    # token helpers
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def word(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and t.text.upper() in words

    def take(self) -> Token:
        t = self.peek()
        if t is None:
            raise _NotBounded("unexpected end")
        self.i += 1
        return t

    def expect(self, kind: str, text: str | None = None) -> Token:
        t = self.take()
        if t.kind != kind or (text is not None and t.text.upper() != text):
            raise _NotBounded(f"expected {text or kind}, found {t.text}")
        return t

    # grammar
    def query(self) -> list[Pattern]:
        while self.word("PREFIX", "BASE"):
            if self.take().text.upper() == "PREFIX":
                name = self.expect("pname").text
                if not name.endswith(":") or name.count(":") != 1:
                    raise _NotBounded("bad prefix name")
                self.prefixes[name[:-1]] = self.iri(self.expect("iri"))
            else:
                # relative IRIs anywhere in the query (`<a>`, IRI("a")) would grow by its length
                # unweighed; without it they resolve against the endpoint's own short IRI
                raise _NotBounded("BASE")
        rest = self.toks[self.i:]
        # below 16 characters no token reaches TERM_BYTES (at most four bytes each): weighs one
        self.size = len(rest) + sum(self.weight(t) - 1 for t in rest if len(t.text) >= 16 or t.kind == "pname")
        form = self.expect("word").text.upper()
        short_construct = False
        if form == "SELECT":
            self.expressions(stop=("WHERE", "FROM"))
        elif form == "CONSTRUCT":
            if self.peek() is not None and self.peek().text == "{":
                template = self.i
                self.take()
                while self.peek() is not None and self.peek().text != "}":
                    if self.peek().text == "{":
                        raise _NotBounded("nested template")
                    if self.peek().text == "(":
                        raise _NotBounded("a collection in the template: two triples and a blank node for each item")
                    self.take()
                self.expect("punct", "}")
                self.weigh_template(self.toks[template:self.i])
            else:
                short_construct = True
        elif form != "ASK":  # DESCRIBE too: a description follows blank nodes beyond what is counted
            raise _NotBounded(f"{form} is not a query form")
        if self.word("FROM"):
            raise _NotBounded("FROM: a graph named twice repeats every match")
        if self.word("WHERE"):
            self.take()
        group = self.i
        self.expect("punct", "{")
        self.group()
        if short_construct:  # CONSTRUCT WHERE { … }: the pattern is the template
            self.weigh_template(self.toks[group:self.i])
        self.expressions(stop=())
        if self.peek() is not None:
            raise _NotBounded(f"{self.peek().text} after the solution modifiers")
        return self.found

    def group(self) -> None:
        """The WHERE group's content, up to its closing brace: triples blocks, FILTERs and BINDs."""
        while True:
            t = self.peek()
            if t is None:
                raise _NotBounded("unclosed group")
            if t.text == "}":
                self.take()
                return
            if t.text == ".":
                self.take()
            elif self.word("FILTER", "BIND"):
                self.take()
                if self.peek() is not None and self.peek().text == "(":
                    self.parenthesised()
                else:  # FILTER regex(...) without outer parentheses
                    self.call()
            elif t.kind == "var":
                self.take()
                self.triples(None)
            elif t.kind in ("iri", "pname"):
                self.triples(self.iri(self.take()))
            else:
                raise _NotBounded(f"{t.text} in the pattern")

    def triples(self, subject: str | None) -> None:
        while True:
            t = self.take()
            if t.kind == "var":
                predicate = None
            elif t.kind == "word" and t.text == "a":
                predicate = RDF_TYPE
            elif t.kind in ("iri", "pname"):
                predicate = self.iri(t)
            else:
                raise _NotBounded(f"{t.text} as a predicate")
            while True:
                self.found.append(Pattern(subject, predicate, self.object()))
                if self.peek() is not None and self.peek().text == ",":
                    self.take()
                    continue
                break
            nxt = self.peek()
            if nxt is not None and nxt.text == ";":
                while self.peek() is not None and self.peek().text == ";":
                    self.take()
                if self.peek() is not None and self.peek().text in (".", "}"):
                    return
                continue
            if nxt is None or nxt.text in (".", "}") or self.word("FILTER", "BIND"):
                return
            raise _NotBounded(f"{nxt.text} after a triple")

    def object(self) -> ox.NamedNode | ox.Literal | None:
        t = self.take()
        if t.kind == "var":
            return None
        if t.kind in ("iri", "pname"):
            return ox.NamedNode(self.iri(t))
        if t.kind == "number" and t.text[0] == "+":
            # `<s> <p> +1` is the path `<p>+` (one or more steps) to the object 1 to the engine: a
            # traversal of every `<p>` reachable from <s>, not the <s> <p> matches counted here
            raise _NotBounded("`+` after a predicate: a path modifier")
        if t.kind in ("string", "number") or (t.kind == "word" and t.text.lower() in ("true", "false")):
            nxt = self.peek()
            if nxt is not None and (nxt.kind == "lang" or nxt.text == "^^"):
                self.take()
                if nxt.text == "^^":
                    self.iri(self.take())
            return None  # a literal's exact form (escapes, datatypes) is left to the engine: count all objects
        raise _NotBounded(f"{t.text} as an object")

    def parenthesised(self) -> None:
        opened = [self.case_change(self.i)]  # for each open parenthesis, whether it holds a case change's argument
        self.expect("punct", "(")
        while opened:
            t = self.take()
            if t.text in ("{", "}"):
                raise _NotBounded("a group inside an expression")
            if t.text == "(":
                opened.append(self.case_change(self.i - 1))
                if opened[-1] and any(opened[:-1]):
                    raise _NotBounded("a case change inside another")
            elif t.text == ")":
                opened.pop()
            elif t.kind == "word":
                self.check_word(t)
            elif t.kind in ("pname", "iri") and self.peek() is not None and self.peek().text == "(":
                raise _NotBounded("a function by IRI")

    def case_change(self, opening: int) -> bool:
        """Whether the parenthesis at `opening` holds a case change's argument (`UCASE(`)."""
        before = self.toks[opening - 1] if opening else None
        return before is not None and before.kind == "word" and before.text.upper() in _CASE_CHANGES

    def call(self) -> None:
        self.check_word(self.expect("word"))
        self.parenthesised()

    def check_word(self, t: Token) -> None:
        name = t.text.upper()
        called = self.peek() is not None and self.peek().text == "("
        if called and name not in SAFE_FUNCTIONS:
            raise _NotBounded(f"function {t.text}")
        if not called and name not in _CLAUSE_WORDS and name not in SAFE_FUNCTIONS:
            raise _NotBounded(f"keyword {t.text}")

    def expressions(self, stop: tuple[str, ...]) -> None:
        """A projection or solution modifiers: variables, numbers, safe calls, clause words; no groups."""
        while self.peek() is not None and not self.word(*stop) and self.peek().text != "{":
            t = self.peek()
            if t.text == "(":
                self.parenthesised()
            elif t.text == "}":
                raise _NotBounded("unbalanced brace")
            elif t.kind == "word":
                self.take()
                self.check_word(t)
                self.sorted = self.sorted or t.text.upper() == "ORDER"
            elif t.kind in ("pname", "iri") and self.peek(1) is not None and self.peek(1).text == "(":
                raise _NotBounded("a function by IRI")
            else:
                self.take()

    def weigh_template(self, template: tuple[Token, ...]) -> None:
        """A CONSTRUCT's template weighs TEMPLATE_WEIGHT times its tokens: each solution writes its triples."""
        self.size += (TEMPLATE_WEIGHT - 1) * sum(self.weight(t) for t in template)

    def weight(self, t: Token) -> int:
        """A token's share of the size: one per TERM_BYTES of its text as the engine reads it (a
        prefixed name expanded), at least one; every solution may evaluate and write it once."""
        text = t.text
        if t.kind == "pname":
            prefix, _, local = text.partition(":")
            text = self.prefixes.get(prefix, "") + local
        return max(1, len(text.encode("utf-8", "surrogatepass")) // TERM_BYTES)

    def iri(self, t: Token) -> str:
        if t.kind == "iri":
            iri = t.text[1:-1]
            if not _SCHEME.match(iri):  # relative: resolved against the base by the engine
                raise _NotBounded("relative IRI")
            return iri
        if t.kind == "pname":
            prefix, _, local = t.text.partition(":")
            if prefix not in self.prefixes or "\\" in local or "%" in local:
                raise _NotBounded(f"undeclared or escaped prefixed name {t.text}")
            return self.prefixes[prefix] + local
        raise _NotBounded(f"{t.text} is not an IRI")
