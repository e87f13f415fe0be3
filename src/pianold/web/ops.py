"""Operations: health probes and the security headers every response carries."""

from __future__ import annotations

import atexit
import bisect
import itertools
import json
import logging
import os
import threading
import time
from collections import defaultdict, deque

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from pianold.web.published import NotPublished

bp = Blueprint("ops", __name__)

# Inline JSON-LD blocks are data, not scripts; scripts and styles come only from this server.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


@bp.route("/health/live")
def live():
    return jsonify(status="ok")


@bp.route("/health/ready")
@bp.route("/health")
def ready():
    try:
        version = current_app.extensions["pianold.published"].snapshot().version
    except (NotPublished, OSError) as err:
        response = jsonify(status="unavailable", reason=str(err))
        response.status_code = 503
        return response
    return jsonify(status="ok", version=version.id, built=version.manifest["built"],
                   plans=[p["id"] for p in version.manifest["plans"]])


class Metrics:
    """Counters and latency sums per (route, status), in Prometheus' text format."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = defaultdict(int)
        self.seconds = defaultdict(float)
        self.buckets = defaultdict(lambda: [0] * (len(self.BUCKETS) + 1))  # per bucket, summed when rendered

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, str(status))
        with self.lock:
            self.requests[key] += 1
            self.seconds[key] += seconds
            self.buckets[route][bisect.bisect_left(self.BUCKETS, seconds)] += 1

    def render(self, extra: dict[str, float]) -> str:
        lines = ["# HELP pianold_requests_total Requests answered: by Flask, by the SPARQL protocol layer, or replayed by the fast path.",
                 "# TYPE pianold_requests_total counter"]
        with self.lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'pianold_requests_total{{route="{route}",status="{status}"}} {n}')
            lines += ["# TYPE pianold_request_seconds_sum counter"]
            for (route, status), total in sorted(self.seconds.items()):
                lines.append(f'pianold_request_seconds_sum{{route="{route}",status="{status}"}} {total:.6f}')
            lines += ["# TYPE pianold_request_seconds histogram"]
            for route, counts in sorted(self.buckets.items()):
                for bound, n in zip((*self.BUCKETS, "+Inf"), itertools.accumulate(counts)):
                    lines.append(f'pianold_request_seconds_bucket{{route="{route}",le="{bound}"}} {n}')
        for name, value in sorted(extra.items()):
            lines += [f"# TYPE {name} counter", f"{name} {value}"]
        return "\n".join(lines) + "\n"


access_log = logging.getLogger("pianold.access")
ROUTE = "pianold.route"  # environ key: the route of an answer (Flask's or a WSGI layer's), kept with its fast-path entry
STARTED = "pianold.started"  # environ key: when a WSGI layer in front of Flask took the request


class AccessLog:
    """JSON lines on the `pianold.access` logger, handed over in batches by one thread. Logging
    from every server thread would contend on the handler's lock: a replayed answer lost a
    quarter of its throughput to it. A line carries its request's own time."""

    def __init__(self, interval: float = 0.2, max_pending: int = 100_000):
        self.interval = interval
        self.pending: deque[str] = deque(maxlen=max_pending)  # a stalled log loses its oldest lines, not the server's memory
        self.lock = threading.Lock()
        self.pid: int | None = None  # of the process whose thread writes (a forked worker needs its own)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked child: the parent's thread, lock and queued lines are not this process's."""
        self.lock = threading.Lock()
        self.pending.clear()
        self.pid = None

    def write(self, entry: dict) -> None:
        self.pending.append(json.dumps(entry))
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    threading.Thread(target=self._run, name="pianold-access-log", daemon=True).start()
                    atexit.register(self.flush)
                    self.pid = os.getpid()

    def flush(self) -> None:
        with self.lock:
            while self.pending:
                access_log.info(self.pending.popleft())

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()


_access = AccessLog()


@bp.route("/metrics")
def metrics():
    app = current_app
    pool = app.extensions["pianold.sparql_pool"]
    fast = app.extensions.get("pianold.fastpath")
    extra = {
        "pianold_sparql_timeouts_total": pool.timeouts,
        "pianold_sparql_worker_deaths_total": pool.deaths,
        "pianold_fastpath_hits_total": fast.hits if fast else 0,
    }
    return Response(app.extensions["pianold.metrics"].render(extra), content_type="text/plain; version=0.0.4; charset=utf-8")


def _start_timer():
    g.started = request.environ.get(STARTED) or time.perf_counter()


def _observe(response):
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    request.environ[ROUTE] = route  # kept with a fast-path entry, so its replays count under the same route
    version = g.snapshot.version.id if g.get("snapshot") else None
    record(current_app.extensions["pianold.metrics"], request.method, request.path, response.status_code, elapsed, route, version)
    return response


def record(metrics: Metrics, method: str, path: str, status: int, seconds: float, route: str, version: str | None,
           replay: bool = False) -> None:
    """One answered request into the metrics and the access log: Flask's answers and the fast
    path's replays alike."""
    metrics.observe(route, status, seconds)
    if access_log.isEnabledFor(logging.INFO):
        entry = {"time": round(time.time(), 3), "method": method, "path": path, "status": status,
                 "ms": round(seconds * 1000, 2), "route": route, "version": version}
        if replay:
            entry["replay"] = True
        _access.write(entry)


SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"))


def security_headers(response):
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    return response


def register(app: Flask) -> None:
    app.extensions["pianold.metrics"] = Metrics()
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(security_headers)
    app.after_request(_observe)
