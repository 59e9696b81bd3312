"""Request helpers shared by the REST blueprints: state access, params, auth, pagination."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from flask import Response, current_app, g, has_request_context, request

from canvas_sandbox import pagination
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.errors import bad_request, not_found, unauthorized
from canvas_sandbox.state import Course, SandboxState

T = TypeVar("T")


def state() -> SandboxState:
    st: SandboxState = current_app.extensions["sandbox_state"]
    return st


def config() -> SandboxConfig:
    cfg: SandboxConfig = current_app.extensions["sandbox_config"]
    return cfg


def base_url() -> str:
    """The origin the client used: Canvas builds Link, Location and Progress URLs from the
    request (``Api.build_links`` through Rails URL helpers), so a client on ``127.0.0.1`` is
    never sent to ``localhost``. Outside a request (CLI, seed), the configured address."""
    if has_request_context():
        return request.host_url.rstrip("/")
    return config().base_url.rstrip("/")


def user_id() -> int:
    uid: int = g.sandbox_user_id
    return uid


def as_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def count_rows(rows: int) -> None:
    """Tell the throttle how many rows this request returned (its cost grows with them)."""
    g.sandbox_rows = rows


# --- parameters: Rails-style bracket keys or a JSON body ------------------------------------


def _insert(target: dict[str, Any], key: str, value: Any) -> None:
    parts: list[str] = []
    head, _, rest = key.partition("[")
    parts.append(head)
    while rest:
        inner, _, rest = rest.partition("]")
        parts.append(inner)
        rest = rest[1:] if rest.startswith("[") else ""
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = parts[i + 1] if not last else None
        if isinstance(node, list):
            if last:
                node.append(value)
                return
            # Rails: ``a[][k]`` fills the last hash until ``k`` repeats, then starts a new one.
            if nxt and node and isinstance(node[-1], dict) and nxt not in node[-1]:
                node = node[-1]
                continue
            child: Any = [] if nxt == "" else {}
            node.append(child)
            node = child
            continue
        if last:
            node[part] = value
            return
        if part not in node or not isinstance(node[part], dict | list):
            node[part] = [] if nxt == "" else {}
        node = node[part]


def nested(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        _insert(out, key, value)
    return out


def body_params() -> dict[str, Any]:
    """The request body as nested params: JSON object, or form keys like ``a[b][0][c]``."""
    if request.is_json:
        data = request.get_json(silent=True)
        if data is None:
            raise bad_request("invalid JSON body")
        if not isinstance(data, dict):
            return {"_json": data}
        return data
    if request.mimetype == "application/x-www-form-urlencoded":
        # Parse the raw body: MultiDict groups repeated keys, and ``a[][k]`` needs the order.
        raw = request.get_data(cache=True, as_text=True)
        return nested(parse_qsl(raw, keep_blank_values=True))
    return nested(list(request.form.items(multi=True)))


def obj(value: Any, name: str) -> dict[str, Any]:
    """A nested parameter that must be an object (absent: empty); else 400."""
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be an object")
    return value


def items_of(value: Any, name: str) -> list[Any]:
    """A list parameter given as an array or an index-keyed object; else 400."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    raise bad_request(f"{name} must be a list")


def arg_list(name: str) -> list[str] | None:
    """``name[]`` (or repeated ``name``) from the query string; None when absent.

    Scoped tokens of keys without "Allow Include Parameters" lose ``include[]`` silently.
    """
    if name in ("include", "includes") and g.get("sandbox_drop_includes"):
        return None
    values = request.args.getlist(f"{name}[]") + request.args.getlist(name)
    if not values and f"{name}[]" not in request.args and name not in request.args:
        return None
    if not name.endswith("ids"):
        return values
    # Id lists also accept comma-separated values.
    return [part for v in values for part in v.split(",") if part]


def rails_flag(value: Any) -> bool:
    """A Rails checkbox parameter compared with ``== "1"`` (``Rubric#generate_criteria``,
    ``Rubric#update_with_association``): ``true``, ``"true"`` or ``"True"`` leave it off."""
    return str(value) == "1" if not isinstance(value, bool) else False


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# --- lookups and permissions ----------------------------------------------------------------


def parse_id(raw: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise not_found() from None


def resolve_user(raw: str) -> int | None:
    """Canvas id syntax for users (docs/canvas.md §4.12): id, ``self``, ``sis_user_id:``,
    ``lti_1_3_id:``..."""
    st = state()
    raw = str(raw).strip()
    if raw == "self":
        return user_id()
    if raw.isascii() and raw.isdigit():
        uid = int(raw)
        return uid if uid in st.users else None
    prefix, _, value = raw.partition(":")
    for user in st.users.values():
        if (
            (prefix == "sis_user_id" and user.sis_user_id == value)
            or (prefix == "sis_login_id" and user.login_id == value)
            or (prefix in ("lti_1_3_id", "lti_user_id") and user.lti_id == value)
        ):
            return user.id
    return None


def course_or_404(raw: str) -> Course:
    st = state()
    if raw.startswith("sis_course_id:"):
        sis = raw.removeprefix("sis_course_id:")
        found = next((c for c in st.courses.values() if c.sis_course_id == sis), None)
    elif raw.startswith("lti_context_id:"):
        ctx = raw.removeprefix("lti_context_id:")
        found = next((c for c in st.courses.values() if c.lti_context_id == ctx), None)
    else:
        found = st.courses.get(parse_id(raw))
    if found is None or found.workflow_state == "deleted":
        raise not_found()
    return found


def require_course_member(course: Course) -> None:
    st = state()
    if not st.course_roles(course.id, user_id()) and not st.is_admin(user_id(), course.account_id):
        raise unauthorized()


def require_grader(course: Course) -> None:
    if not state().can_manage_grades(course.id, user_id()):
        raise unauthorized()


def require_admin(account_id: int) -> None:
    if not state().is_admin(user_id(), account_id):
        raise unauthorized()


# --- pagination -----------------------------------------------------------------------------


def _paged(page: pagination.Page[Any], body: Any) -> Response:
    count_rows(len(page.items))
    resp = as_json(body)
    resp.headers["Link"] = page.link_header()
    return resp


def paginate(items: Sequence[T], serialize: Any, *, count_total: bool = True) -> Response:
    page = pagination.numbered(
        items, request.args, base_url(), request.path, count_total=count_total
    )
    return _paged(page, [serialize(x) for x in page.items])


def paginate_bookmark(
    items: Sequence[T], serialize: Any, key: Callable[[T], Sequence[str | int]]
) -> Response:
    page = pagination.bookmarked(items, request.args, base_url(), request.path, key)
    return _paged(page, [serialize(x) for x in page.items])
