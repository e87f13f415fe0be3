"""A server-rendered SVG bar chart of a plan's SDG coverage: actions (leaf elements) per goal."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import escape

from pianold import vocabularies

BAR_H = 18
GAP = 6
LABEL_W = 300
BAR_W = 260


@dataclass(frozen=True)
class Coverage:
    per_goal: dict[int, int]  # goal number -> leaf elements linked to it or one of its targets
    linked: int  # leaf elements linked to at least one goal or target


def sdg_coverage(store, plan_iri: str) -> Coverage:
    """How the plan's leaf elements (actions) cover the SDGs."""
    rows = store.table_query(f"""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        PREFIX psm: <https://w3id.org/pianold/onto/psm/>
        SELECT ?e ?t WHERE {{
          ?e skos:inScheme <{plan_iri}> ; psm:contributesTo ?t .
          FILTER NOT EXISTS {{ ?e skos:narrower ?child }}
        }}""")
    per_goal: dict[int, set[str]] = {}
    for row in rows:
        goal = vocabularies.sdg_goal(str(row["t"]))
        if goal is not None:
            per_goal.setdefault(goal, set()).add(str(row["e"]))
    linked = set().union(*per_goal.values()) if per_goal else set()
    return Coverage({goal: len(elements) for goal, elements in sorted(per_goal.items())}, len(linked))


def sdg_chart_svg(counts: dict[int, int], leaves: int) -> str:
    goals = vocabularies.goals()
    top = max(counts.values(), default=0) or 1
    height = len(goals) * (BAR_H + GAP) + GAP
    width = LABEL_W + BAR_W + 40
    # what a screen reader says of the chart (role="img" hides its texts): each linked goal by name
    named = [f"{g}. {goals[g].label_it}: {n}" for g, n in counts.items() if g in goals]
    others = len(goals) - len(named)
    if named:
        description = (f"Azioni collegate a ciascun obiettivo, su {leaves} azioni: " + "; ".join(named)
                       + (f"; nessuna agli altri {others} obiettivi." if others else "."))
    else:
        description = f"Nessuna delle {leaves} azioni è collegata a un obiettivo."
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-labelledby="sdg-title sdg-desc" class="sdg-chart">',
             '<title id="sdg-title">Azioni per Obiettivo di sviluppo sostenibile / Actions per SDG</title>',
             f'<desc id="sdg-desc">{escape(description)}</desc>']
    for i, goal in enumerate(goals.values()):
        y = GAP + i * (BAR_H + GAP)
        n = counts.get(goal.number, 0)
        bar = round(BAR_W * n / top)
        label = f"{goal.number}. {goal.label_it}"
        faded = ' opacity="0.25"' if n == 0 else ""
        parts.append(f'<g><title>{escape(f"{label} / {goal.label_en}: {n}")}</title>'
                     f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" text-anchor="end" font-size="12">{escape(label)}</text>'
                     f'<rect x="{LABEL_W}" y="{y}" width="{max(bar, 1)}" height="{BAR_H}" fill="{escape(goal.colour)}"'
                     f'{faded}/>'
                     f'<text x="{LABEL_W + max(bar, 1) + 6}" y="{y + BAR_H - 5}" font-size="12">{n}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
