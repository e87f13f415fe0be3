"""Link discovery: candidate matches between our plan elements and the elements of plans served by
another SPARQL 1.1 endpoint (usually another pianold), scored by Italian-aware label similarity and
shared SDG/EuroVoc targets, written as a CSV a person reviews; accepted rows go to links.csv."""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
import unicodedata
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

from pianold.ingest.csv_file import read_csv
from pianold.ingest.errors import fail

CANDIDATE_COLUMNS = ["accept", "score", "property", "code", "label", "target", "target_label", "target_plan",
                     "shared_targets", "shared_words", "rationale"]
ELEMENTS_QUERY = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX psm: <https://w3id.org/pianold/onto/psm/>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?e ?label ?plan ?code ?target WHERE {
  ?e a psm:PlanElement ; skos:prefLabel ?label ; skos:inScheme ?plan .
  FILTER(lang(?label) = "it" || lang(?label) = "")
  OPTIONAL { ?e skos:notation ?code }
  OPTIONAL { ?e psm:contributesTo|dct:subject ?target }
}"""
# The remote elements are read in pages, in a total order, so an endpoint's row limit (pianold's
# sparql_max_rows, which it signals with X-Pianold-Truncated) never silently leaves elements out.
PAGE_ROWS = 5000
PAGE_ORDER = "ORDER BY ?e ?target ?label ?plan ?code"
LINK_COLUMNS = ["code", "property", "target", "rationale", "label"]  # links.csv
CLOSE = 0.55  # score from which a candidate is proposed as skos:closeMatch rather than relatedMatch

# Italian function words and words every strategic plan repeats ("potenziamento", "promozione" …)
STOP_WORDS = frozenset("""
a ad al alla alle allo agli ai all dell dall nell sull coll quell quest anche che chi con col contro d da dal dalla dalle dei degli del della delle dello di e ed
fra gli i il in l la le lo nel nella nelle negli nei o per piu qualsiasi se sia su sul sulla sui tra un una uno verso
attraverso mediante nonche loro suo sua suoi sue questo questa
rafforzamento rafforzare potenziamento potenziare promozione promuovere favorire sviluppo sviluppare miglioramento
migliorare attivazione attivare azioni azione interventi intervento sistema metropolitana metropolitano metropolitane
""".split())
_SUFFIXES = ("amento", "imento", "azione", "azioni", "mente", "ativo", "ativa", "ative", "ativi", "ità", "ita",
             "ale", "ali", "ico", "ica", "ici", "iche", "oso", "osa", "osi", "ose", "are", "ere", "ire", "i", "e", "a", "o")


def normalise(text: str) -> str:
    """Lower case, apostrophes and punctuation to spaces, accents removed (città → citta)."""
    text = text.replace("’", " ").replace("'", " ").replace("`", " ").lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def stem(word: str) -> str:
    """A light Italian stemmer: enough to match abitativo/abitative/abitare, povertà/poverta."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def keywords(text: str) -> dict[str, str]:
    """stem -> first word with that stem, for the content words of a label."""
    words = {}
    for word in normalise(text).split():
        if word not in STOP_WORDS and len(word) > 2 and not word.isdigit():
            words.setdefault(stem(word), word)
    return words


@dataclass
class Element:
    iri: str
    label: str
    plan: str
    code: str | None = None
    targets: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Candidate:
    ours: Element
    theirs: Element
    score: float
    shared_targets: tuple[str, ...]
    shared_words: tuple[str, ...]

    @property
    def property(self) -> str:
        return "skos:closeMatch" if self.score >= CLOSE else "skos:relatedMatch"


def score(ours: Element, theirs: Element) -> Candidate:
    a, b = keywords(ours.label), keywords(theirs.label)
    common = sorted(set(a) & set(b))
    words = 2 * len(common) / (len(a) + len(b)) if a and b else 0.0  # Dice over stems
    shared = tuple(sorted(ours.targets & theirs.targets))
    # overlap, not Jaccard: a plan that annotates more (EuroVoc as well as SDG) is not penalised
    smaller = min(len(ours.targets), len(theirs.targets))
    targets = len(shared) / smaller if smaller else 0.0
    value = 0.6 * words + 0.4 * targets if smaller else words
    return Candidate(ours, theirs, round(value, 3), shared, tuple(a[s] for s in common))


def candidates(ours: list[Element], theirs: list[Element], *, threshold: float = 0.25, per_element: int = 3) -> list[Candidate]:
    found = []
    for mine in ours:
        scored = [score(mine, other) for other in theirs if other.plan != mine.plan and other.iri != mine.iri]
        scored = [c for c in scored if c.score >= threshold]
        found.extend(sorted(scored, key=lambda c: (-c.score, c.theirs.iri))[:per_element])
    return sorted(found, key=lambda c: (-c.score, c.ours.code or "", c.theirs.iri))


class EndpointError(Exception):
    """The endpoint could not be queried: unreachable, slow, or not a SPARQL endpoint."""


def remote_elements(endpoint: str, timeout: float = 30.0) -> list[Element]:
    """Plan elements served by a SPARQL 1.1 endpoint, with their SDG/EuroVoc targets."""
    from SPARQLWrapper import JSON, SPARQLWrapper

    if not re.match(r"^https?://[^\s]+$", endpoint):
        raise EndpointError(f"the endpoint must be an http(s) URL, not {endpoint!r:.80}")
    client = SPARQLWrapper(endpoint, agent="pianold-link")
    client.setReturnFormat(JSON)
    client.setTimeout(int(max(timeout, 1)))
    deadline = time.monotonic() + timeout
    bindings: list = []
    page = PAGE_ROWS
    while True:
        client.setQuery(f"{ELEMENTS_QUERY}\n{PAGE_ORDER} LIMIT {page} OFFSET {len(bindings)}")
        rows, truncated = _page(client, endpoint, deadline - time.monotonic(), timeout)
        bindings.extend(rows)
        if truncated and rows:  # the endpoint's row limit is below our page: go on at its size
            page = len(rows)
        elif len(rows) < page:
            break
    return _elements(bindings)


def _page(client, endpoint: str, seconds: float, timeout: float) -> tuple[list, bool]:
    """One page of rows, and whether the endpoint said it cut them short (X-Pianold-Truncated)."""
    from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, SPARQLWrapperException

    def query():
        result = client.query()
        return result.convert(), result.info().get("x-pianold-truncated") is not None

    try:
        if seconds <= 0:
            raise TimeoutError
        data, truncated = _within(seconds, query)
    except urllib.error.HTTPError as err:
        raise EndpointError(f"{endpoint} answered HTTP {err.code} {err.reason}: is it a SPARQL endpoint?") from None
    except EndPointNotFound:
        raise EndpointError(f"{endpoint} answered HTTP 404 Not Found: is it a SPARQL endpoint?") from None
    except SPARQLWrapperException as err:
        raise EndpointError(f"{endpoint} refused the query: {str(err).splitlines()[0][:200]}") from None
    except (socket.timeout, TimeoutError):
        raise EndpointError(f"{endpoint} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise EndpointError(f"{endpoint} did not answer within {timeout:g} s") from None
        raise EndpointError(f"cannot reach {endpoint}: {reason}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise EndpointError(f"{endpoint} did not answer with SPARQL JSON results ({str(err)[:120]})") from None
    except OSError as err:
        raise EndpointError(f"cannot reach {endpoint}: {err}") from None
    return _bindings(data, endpoint), truncated


def _within(seconds: float, work):
    """work() within `seconds` in all (the client's own timeout holds for each socket read only, so
    an endpoint trickling its answer would hold the command for ever); TimeoutError otherwise. The
    work runs in a daemon thread, which the command leaves behind when it gives up."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as err:  # handed to the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True, name="pianold-link-query")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _bindings(data, endpoint: str) -> list:
    """The rows of a SPARQL JSON answer; EndpointError when it has no such shape."""
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict) or not isinstance(results.get("bindings"), list):
        raise EndpointError(f"{endpoint} did not answer with SPARQL JSON results")
    return results["bindings"]


def _value(row: dict, name: str) -> str | None:
    """A binding's value, if the row binds the variable to a term with a text value."""
    term = row.get(name)
    value = term.get("value") if isinstance(term, dict) else None
    return value if isinstance(value, str) else None


def _elements(bindings: list) -> list[Element]:
    """The elements of SPARQL JSON rows; rows that are not well-formed (another endpoint's data) are skipped."""
    elements: dict[str, Element] = {}
    for row in bindings:
        if not isinstance(row, dict):
            continue
        iri, label, plan = _value(row, "e"), _value(row, "label"), _value(row, "plan")
        if iri is None or label is None or plan is None:
            continue
        element = elements.setdefault(iri, Element(iri, label, plan, _value(row, "code")))
        target = _value(row, "target")
        if target is not None:
            element.targets.add(target)
    return list(elements.values())


def local_elements(store, plan_iri: str | None) -> list[Element]:
    """Our plan elements (all plans, or one) from the published store."""
    rows = store.table_query(ELEMENTS_QUERY)
    elements: dict[str, Element] = {}
    for row in rows:
        if plan_iri and str(row["plan"]) != plan_iri:
            continue
        code = str(row["code"]) if row.get("code") is not None else None
        element = elements.setdefault(str(row["e"]), Element(str(row["e"]), str(row["label"]), str(row["plan"]), code))
        if row.get("target") is not None:
            element.targets.add(str(row["target"]))
    return sorted(elements.values(), key=lambda e: e.iri)


def write_candidates(found: list[Candidate]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CANDIDATE_COLUMNS)
    for c in found:
        evidence = []
        if c.shared_words:
            evidence.append("parole in comune: " + ", ".join(c.shared_words))
        if c.shared_targets:
            evidence.append("obiettivi in comune: " + ", ".join(t.rsplit("/", 1)[1] for t in c.shared_targets))
        writer.writerow(["", f"{c.score:.3f}", c.property, c.ours.code, c.ours.label, c.theirs.iri, c.theirs.label,
                         c.theirs.plan, " ".join(c.shared_targets), " ".join(c.shared_words), "; ".join(evidence)])
    return out.getvalue()


def accept(candidates_file: Path, links_file: Path) -> int:
    """Append the rows marked accepted (accept = yes/sì/x/1) to links.csv; returns how many were added.

    The rows are checked like any links.csv row at the next build."""
    rows = read_csv(candidates_file, CANDIDATE_COLUMNS, allow_empty=True)
    chosen = [r for r in rows if normalise(r.text("accept")) in ("yes", "y", "si", "x", "1", "true")]
    kept = []
    if links_file.is_file():
        kept = [[r.text(c) for c in LINK_COLUMNS]
                for r in read_csv(links_file, LINK_COLUMNS[:4], LINK_COLUMNS[4:], allow_empty=True)]
    existing = {tuple(row[:3]) for row in kept}
    new = []
    for row in chosen:
        prop = row.text("property")
        if prop not in ("skos:closeMatch", "skos:relatedMatch", "skos:exactMatch"):
            raise fail(row.where("property"), f"an accepted match must be skos:closeMatch, skos:relatedMatch or skos:exactMatch, not {prop!r:.40}")
        key = (row.text("code"), prop, row.text("target"))
        if key not in existing:
            existing.add(key)
            new.append([*key, row.text("rationale") or f"match score {row.text('score')}", row.text("target_label")])
    if new:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LINK_COLUMNS)
        writer.writerows(kept + new)
        tmp = links_file.with_name(links_file.name + ".tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        tmp.replace(links_file)  # atomic: links.csv is never half-written
    return len(new)
