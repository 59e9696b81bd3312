"""Feature Flags API (docs/canvas.md §6.8): the outcome flags Canvas reads on the root account.

canvas-lms ``FeatureFlagsController#enabled_features`` / ``#show`` list and show only the
features that apply to the context (``Feature.applicable_features``). Canvas reads the three
outcome flags with ``root_account.feature_enabled?``: they are root-account features, so a
course lists none of them and a flag lookup on a course or sub-account is 404. Reading an
account needs ``:read`` on it (its admins).
"""

from __future__ import annotations

from flask import Blueprint, Response

from canvas_sandbox import outcomes as om
from canvas_sandbox.api.common import (
    as_json,
    course_or_404,
    parse_id,
    require_course_member,
    state,
    user_id,
)
from canvas_sandbox.errors import not_found, unauthorized
from canvas_sandbox.state import Account

bp = Blueprint("sandbox_features", __name__, url_prefix="/api/v1")

# Canvas feature name -> the Account attribute holding its state.
ROOT_ACCOUNT_FEATURES = {
    "account_level_mastery_scales": "account_level_mastery_scales",
    "outcomes_new_decaying_average_calculation": "new_decaying_average",
    "outcome_extra_credit": "outcome_extra_credit",
}


def _readable_account(ref: str) -> Account:
    st = state()
    account = st.accounts.get(parse_id(ref))
    if account is None:
        raise not_found()
    chain = om.account_chain(st, account.id)
    if not any(st.is_admin(user_id(), a.id) for a in chain):
        raise unauthorized()
    return account


def _enabled(account: Account) -> list[str]:
    return [name for name, attr in ROOT_ACCOUNT_FEATURES.items() if getattr(account, attr)]


@bp.get("/accounts/<account_ref>/features/enabled")
def account_enabled(account_ref: str) -> Response:
    account = _readable_account(account_ref)
    return as_json(_enabled(account) if account.parent_account_id is None else [])


@bp.get("/courses/<course_ref>/features/enabled")
def course_enabled(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    return as_json([])  # no course-level feature the sandbox models applies here


@bp.get("/accounts/<account_ref>/features/flags/<feature>")
def account_flag(account_ref: str, feature: str) -> Response:
    account = _readable_account(account_ref)
    attr = ROOT_ACCOUNT_FEATURES.get(feature)
    if attr is None or account.parent_account_id is not None:
        raise not_found()
    return as_json(
        {
            "context_id": account.id,
            "context_type": "Account",
            "feature": feature,
            "state": "on" if getattr(account, attr) else "off",
            "locked": False,
        }
    )


@bp.get("/courses/<course_ref>/features/flags/<feature>")
def course_flag(course_ref: str, feature: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    raise not_found()  # root-account features do not apply to courses
