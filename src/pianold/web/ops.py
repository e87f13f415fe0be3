"""Operations: health probes and the security headers every response carries."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

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


def security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    return response


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(security_headers)
