"""A synthetic plan of any size, shaped like a real one, written straight to N-Quads.

    python bench/synthetic.py --triples 100000 --out /tmp/synthetic.nq

Axis > Objective > Specific objective > Action, with Italian-looking titles, the same triples
per element as pianold's model writes (type, level, notation, identifier, labels, scheme,
broader/narrower, isPartOf/hasPart). It bypasses the readers and SHACL on purpose: it measures the
store and the server, not ingestion (bench/build_scale.py measures that)."""

from __future__ import annotations

import argparse
import random

BASE = "https://w3id.org/pianold"
PSM = "https://w3id.org/pianold/onto/psm/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
WORDS = ("sviluppo rete servizi abitare inclusione mobilità sostenibile territorio comunità cultura turismo "
         "innovazione digitale lavoro scuola ambiente energia acqua mare porto periferie centri storici "
         "agricoltura paesaggio salute welfare casa giovani imprese ricerca").split()
LEVELS = [("axis", "Axis", "Asse"), ("objective", "Objective", "Obiettivo"),
          ("specific-objective", "SpecificObjective", "Obiettivo specifico"), ("action", "Action", "Azione")]
TRIPLES_PER_ELEMENT = 13


def generate(triples: int, plan_id: str = "synthetic", seed: int = 7):
    rnd = random.Random(seed)
    plan = f"{BASE}/data/plan/{plan_id}"
    g = f"<{plan}>"
    elements = max(triples // TRIPLES_PER_ELEMENT, 4)
    fan = max(2, round((elements / 10) ** (1 / 3)))  # 10 axes, then `fan` children per level
    yield f'<{plan}> <{RDF_TYPE}> <{PSM}StrategicPlan> {g} .'
    yield f'<{plan}> <{RDF_TYPE}> <{SKOS}ConceptScheme> {g} .'
    yield f'<{plan}> <{SKOS}prefLabel> "Piano sintetico"@it {g} .'
    for depth, (key, cls, name) in enumerate(LEVELS, start=1):
        level = f"<{plan}/level/{key}>"
        yield f'{level} <{RDF_TYPE}> <{PSM}Level> {g} .'
        yield f'{level} <{PSM}depth> "{depth}"^^<http://www.w3.org/2001/XMLSchema#positiveInteger> {g} .'
        yield f'{level} <{SKOS}prefLabel> "{name}"@it {g} .'
    count = 0

    def element(code, depth, parent):
        key, cls, _ = LEVELS[depth - 1]
        iri = f"<{plan}/{key}/{code}>"
        title = " ".join(rnd.choice(WORDS) for _ in range(6)).capitalize()
        yield f"{iri} <{RDF_TYPE}> <{PSM}PlanElement> {g} ."
        yield f"{iri} <{RDF_TYPE}> <{PSM}{cls}> {g} ."
        yield f"{iri} <{RDF_TYPE}> <{SKOS}Concept> {g} ."
        yield f"{iri} <{PSM}level> <{plan}/level/{key}> {g} ."
        yield f'{iri} <{SKOS}notation> "{code}" {g} .'
        yield f'{iri} <{DCT}identifier> "{code}" {g} .'
        yield f'{iri} <{SKOS}prefLabel> "{title}"@it {g} .'
        yield f"{iri} <{SKOS}inScheme> <{plan}> {g} ."
        up = f"<{plan}>" if parent is None else parent
        yield f"{iri} <{DCT}isPartOf> {up} {g} ."
        yield f"{up} <{DCT}hasPart> {iri} {g} ."
        if parent is None:
            yield f"{iri} <{SKOS}topConceptOf> <{plan}> {g} ."
        else:
            yield f"{iri} <{SKOS}broader> {parent} {g} ."
            yield f"{parent} <{SKOS}narrower> {iri} {g} ."

    def tree(code, depth, parent):
        nonlocal count
        if count >= elements:
            return
        count += 1
        key = LEVELS[depth - 1][0]
        yield from element(code, depth, parent)
        if depth < len(LEVELS):
            for i in range(1, fan + 1):
                child = f"{code}.{chr(96 + i) if depth == 3 else i}" if i <= 26 or depth != 3 else f"{code}.{i}"
                yield from tree(child, depth + 1, f"<{plan}/{key}/{code}>")

    axis = 0
    while count < elements:
        axis += 1
        yield from tree(str(axis), 1, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as fh:
        n = 0
        for line in generate(args.triples):
            fh.write(line + "\n")
            n += 1
    print(f"{n} quads in {args.out}")


if __name__ == "__main__":
    main()
