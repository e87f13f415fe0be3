"""THE Accept-header parser: `negotiate(accept, offers)` picks the best offered media type.

RFC 9110 §12.5.1: q-values (a malformed q is ignored, q=0 excludes), wildcards (`*/*`, `text/*`),
media-type parameters (compared when the offer states them), several types; the most specific matching range decides an offer's
quality. Ties keep the server's order of preference. Unparseable parts are skipped, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_RANGES = 64  # an Accept header with more ranges than this is truncated (cost bound)


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*") + bool(self.params)

    def matches(self, media_type: str) -> bool:
        t, _, rest = media_type.partition("/")
        s, _, params = rest.partition(";")
        if self.type not in ("*", t.strip().lower()) or self.subtype not in ("*", s.strip().lower()):
            return False
        # A parameter the offer does not state is no reason to refuse it: a JSON-LD `profile`
        # (expanded, compacted…) or CSV's `header=present` asks for a form of the same data,
        # which any JSON-LD processor or CSV reader handles (JSON-LD 1.1 §9; RFC 4180); 406 helps no one.
        offered = dict(_params(params))
        return all(offered[k] == v for k, v in self.params if k in offered)


def _params(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(";"):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if key and eq:
            out.append((key, value.strip().strip('"').lower()))
    return out


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; `None` or empty means `*/*`."""
    if header is None or not header.strip():
        return [MediaRange("*", "*", (), 1.0)]
    ranges = []
    for item in header.split(",")[:MAX_RANGES]:
        media, _, rest = item.partition(";")
        t, slash, s = media.strip().lower().partition("/")
        if not slash or not t or not s or (t == "*" and s != "*") or any(c.isspace() for c in t + s):
            continue
        q, params = 1.0, []
        for key, value in _params(rest):
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
                if not 0.0 <= q <= 1.0 or len(value) > 5:
                    q = -1.0
                break  # parameters after q are accept-extensions
            params.append((key, value))
        if q >= 0:
            ranges.append(MediaRange(t, s, tuple(params), q))
    return ranges


def quality(ranges: list[MediaRange], media_type: str) -> float:
    matching = [r for r in ranges if r.matches(media_type)]
    if not matching:
        return 0.0
    best = max(r.specificity() for r in matching)
    return max(r.q for r in matching if r.specificity() == best)


def excluded(ranges: list[MediaRange], media_type: str) -> bool:
    """Whether the client refused `media_type` outright (q=0 on the range that decides it)."""
    return any(r.matches(media_type) for r in ranges) and quality(ranges, media_type) == 0.0


def named(accept: str | None, media_type: str) -> bool:
    """Whether the Accept header names `media_type` itself (not through `*/*` or `text/*`) with a
    quality above 0: what a browser does for HTML, and a program sending `*/*` does not."""
    t, _, s = media_type.lower().partition("/")
    return any(r.type == t and r.subtype == s and r.q > 0 for r in parse_accept(accept)) if accept else False


def negotiate(accept: str | None, offers: list[str], aliases: dict[str, str] | None = None) -> str | None:
    """The offer the client prefers most (server order breaks ties), or None if none is acceptable.
    An offer in `aliases` (`application/json` for JSON-LD) is answered in the type it stands for,
    so it is no answer to a client that excluded that type (`application/ld+json;q=0`)."""
    ranges = parse_accept(accept)
    if accept is not None and accept.strip() and not ranges:
        ranges = [MediaRange("*", "*", (), 1.0)]  # nothing parseable: treat as no preference
    best, best_q = None, 0.0
    for offer in offers:
        if aliases and offer in aliases and excluded(ranges, aliases[offer]):
            continue
        q = quality(ranges, offer)
        if q > best_q:
            best, best_q = offer, q
    return best
