"""A server-rendered SVG picture of a plan's tree (axes -> … -> actions), every node a link."""

from __future__ import annotations

from markupsafe import escape

ROW = 26
COL = 230
BOX_W = 214
BOX_H = 20
MAX_CHARS = 30
COLOURS = ["#0b3d91", "#1f6f43", "#7a4b00", "#6b1d5c", "#374151"]


def plan_tree_svg(rows: list[dict], link_for) -> str:
    nodes = {}
    for r in rows:
        nodes[str(r["e"])] = {"iri": str(r["e"]), "code": str(r["code"]), "label": str(r.get("label") or ""),
                              "parent": str(r["parent"]) if r.get("parent") is not None else None,
                              "depth": int(str(r["depth"])), "level": str(r["level"]), "children": []}
    for n in nodes.values():
        if n["parent"] in nodes:
            nodes[n["parent"]]["children"].append(n)
    order = lambda n: [(0, int(s), "") if s.isdigit() else (1, 0, s) for s in n["code"].split(".")]  # noqa: E731
    for n in nodes.values():
        n["children"].sort(key=order)
    roots = sorted((n for n in nodes.values() if n["parent"] not in nodes), key=order)

    next_row = [0]

    def place(n):
        if n["children"]:
            for c in n["children"]:
                place(c)
            n["y"] = (n["children"][0]["y"] + n["children"][-1]["y"]) / 2
        else:
            n["y"] = next_row[0] * ROW
            next_row[0] += 1

    for r in roots:
        place(r)
    depth = max((n["depth"] for n in nodes.values()), default=1)
    width, height = depth * COL + 10, max(next_row[0], 1) * ROW + 10
    # a group, not an img: an img's children are presentational (WAI-ARIA), so its links would reach
    # the keyboard but not a screen reader
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="group" aria-labelledby="tree-title" class="plan-tree" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             '<title id="tree-title">Albero del piano / Plan tree</title>']
    for n in nodes.values():
        for c in n["children"]:
            x1, y1 = 5 + (n["depth"] - 1) * COL + BOX_W, 5 + n["y"] + BOX_H / 2
            x2, y2 = 5 + (c["depth"] - 1) * COL, 5 + c["y"] + BOX_H / 2
            mid = (x1 + x2) / 2
            parts.append(f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" fill="none" stroke="#9ca3af"/>')
    for n in sorted(nodes.values(), key=order):
        x, y = 5 + (n["depth"] - 1) * COL, 5 + n["y"]
        text = f'{n["code"]} {n["label"]}'
        shown = text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
        colour = COLOURS[(n["depth"] - 1) % len(COLOURS)]
        href = link_for(n["iri"])[0]
        parts.append(
            f'<a href="{escape(href)}"><title>{escape(n["level"])} {escape(text)}</title>'
            f'<rect x="{x}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{colour}"/>'
            f'<text x="{x + 6}" y="{y + 14:.0f}" fill="#ffffff">{escape(shown)}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
