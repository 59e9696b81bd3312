"""``/_sandbox``: knobs, reset and stats for tests, benchmarks and the demo (not Canvas API)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from canvas_sandbox.api.common import as_json, config

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")


@bp.get("/knobs")
def get_knobs() -> Response:
    return as_json(config().as_dict())


@bp.post("/knobs")
def set_knobs() -> Response:
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        return as_json({"errors": [{"message": "send a JSON object of knobs"}]}, 400)
    cfg = config()
    unknown = cfg.update(changes)
    if unknown:
        return as_json({"errors": [{"message": f"unknown knobs: {', '.join(unknown)}"}]}, 400)
    runtime = current_app.extensions["sandbox_runtime"]
    runtime.force_apply()
    return as_json(cfg.as_dict())


@bp.post("/reset")
def reset() -> Response:
    runtime = current_app.extensions["sandbox_runtime"]
    ids = runtime.reset()
    return as_json({"reset": True, "ids": ids})


@bp.get("/stats")
def stats() -> Response:
    return as_json(current_app.extensions["sandbox_runtime"].stats.snapshot())


@bp.post("/stats/reset")
def reset_stats() -> Response:
    current_app.extensions["sandbox_runtime"].stats.reset()
    return as_json({"reset": True})
