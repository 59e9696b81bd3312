"""Canvas course page -> tool iframe -> login -> authorize -> launch, in real Chromium.

The tool (http://127.0.0.1:<p1>) and the fake Canvas (http://localhost:<p2>) are different
sites, so the tool frame is third-party exactly as under a real Canvas.
"""

from __future__ import annotations

from typing import Any

import pytest

from lti_app.lti.launch_session import COOKIE_PREFIX as SESSION_COOKIE_PREFIX
from lti_app.lti.state_store import STATE_COOKIE_PREFIX
from tests.e2e.fake_canvas import PROBE_COOKIE
from tests.e2e.flows import (
    COURSE_TITLE,
    STORAGE_FAILED_TEXT,
    assert_landed_as_teacher,
    open_course,
    tool_cookies,
)
from tests.e2e.harness import Stack

# Every Playwright wait is bounded (10 s); this bounds what is not (frame.evaluate).
pytestmark = pytest.mark.timeout(60)


def state_cookie_name(state: str) -> str:
    return f"{STATE_COOKIE_PREFIX}-{state}"


def the_state(stack: Stack) -> str:
    assert stack.canvas.errors == [], stack.canvas.errors
    assert len(stack.canvas.issued) == 1, stack.canvas.issued
    return stack.canvas.issued[0]["state"]


def csp_directive(csp: str, name: str) -> list[str]:
    for part in csp.split(";"):
        tokens = part.split()
        if tokens and tokens[0].lower() == name:
            return tokens[1:]
    raise AssertionError(f"no {name} in {csp!r}")


def cookie_attributes(set_cookie: str) -> tuple[str, set[str]]:
    name_value, *attrs = (part.strip() for part in set_cookie.split(";"))
    return name_value.split("=", 1)[0], {a.lower() for a in attrs}


def test_cookies_allowed_launch_lands_on_teacher_page(chromium_profiles: Any, stack: Stack) -> None:
    context = chromium_profiles("cookies_allowed")
    visit = open_course(context, stack)
    try:
        assert_landed_as_teacher(visit)
        # Third-party cookies really are allowed in this profile.
        assert any(c["name"] == PROBE_COOKIE for c in context.cookies())
        state = the_state(stack)
        (launch,) = stack.recorder.launches()
        assert launch.cookies.get(state_cookie_name(state)) == state
        assert launch.form.get("lti_storage_verified") is None
        assert launch.status == 200
        # The login still stored the state in Platform Storage; no read-back was needed.
        subjects = [m["subject"] for m in visit.storage_messages()]
        assert subjects == ["lti.put_data"]
    finally:
        visit.close()


def test_third_party_cookies_blocked_partitioned_state_cookie_still_works(
    chromium_profiles: Any, stack: Stack
) -> None:
    """Chromium's "block third-party cookies" spares Partitioned (CHIPS) cookies."""
    context = chromium_profiles("third_party_blocked")
    visit = open_course(context, stack)
    try:
        assert_landed_as_teacher(visit)
        # The block is in effect: an ordinary third-party cookie was refused...
        assert not any(c["name"] == PROBE_COOKIE for c in context.cookies())
        # ...but the tool's partitioned cookies were kept, keyed to Canvas's site.
        canvas_site = "http://localhost"
        assert {c["partitionKey"] for c in tool_cookies(context, stack)} == {canvas_site}
        state = the_state(stack)
        (launch,) = stack.recorder.launches()
        assert launch.cookies.get(state_cookie_name(state)) == state
    finally:
        visit.close()


def test_all_tool_cookies_blocked_launch_succeeds_through_platform_storage(
    chromium_profiles: Any, stack: Stack
) -> None:
    context = chromium_profiles("tool_cookies_blocked")
    visit = open_course(context, stack)
    try:
        assert_landed_as_teacher(visit)
        state = the_state(stack)

        # The block is really in effect: the login did set the state cookie, the browser
        # kept nothing and sent nothing back.
        (login,) = [r for r in stack.recorder.all() if r.path == "/lti/login"]
        assert any(c.startswith(state_cookie_name(state) + "=") for c in login.set_cookies)
        assert tool_cookies(context, stack) == []
        assert all(r.cookies == {} for r in stack.recorder.all())

        # Platform Storage: put at login, get at launch, both for key "state-<state>",
        # both from the tool's origin.
        messages = visit.storage_messages()
        assert [(m["subject"], m["key"]) for m in messages] == [
            ("lti.put_data", f"state-{state}"),
            ("lti.get_data", f"state-{state}"),
        ]
        assert {m["origin"] for m in messages} == {stack.tool_base}
        assert len({m["message_id"] for m in messages}) == 2

        # Canvas's POST got the relay page; the relay, from the tool's own page, launched.
        first, relay = stack.recorder.launches()
        assert first.origin == stack.canvas.base
        assert first.form["lti_storage_target"] == "post_message_forwarding"
        assert first.status == 200
        assert first.set_cookies == []
        assert relay.form.get("lti_storage_verified") == "1"
        assert relay.origin == stack.tool_base
        assert relay.form["state"] == state
        assert relay.status == 200
        assert any(c.startswith(SESSION_COOKIE_PREFIX) for c in relay.set_cookies)
    finally:
        visit.close()


@pytest.mark.parametrize("storage", ["missing", "wrong_origin", "wrong_message_id", "silent"])
def test_untrustworthy_storage_answer_means_no_launch(
    chromium_profiles: Any, stack: Stack, storage: str
) -> None:
    context = chromium_profiles("tool_cookies_blocked")
    visit = open_course(context, stack, storage=storage)
    try:
        outcome = visit.wait_for_outcome()
        text = visit.frame_text()
        assert outcome == "storage_failed", text
        assert STORAGE_FAILED_TEXT in text
        assert COURSE_TITLE not in text
        state = the_state(stack)

        # The frame was asked, so the tool itself ignored (or waited out) the answer.
        messages = visit.storage_messages()
        assert [(m["subject"], m["key"]) for m in messages] == [
            ("lti.put_data", f"state-{state}"),
            ("lti.get_data", f"state-{state}"),
        ]
        if storage == "wrong_origin":
            # A correct answer (right message_id, right value) did reach the tool frame,
            # only from another origin.
            (forwarded,) = visit.forwarded_from_elsewhere()
            assert forwarded["message_id"] == messages[1]["message_id"]
            assert forwarded["value"] == state

        # No session: none set by the server, none in the browser; no verified relay.
        seen = stack.recorder.all()
        assert not any(c.startswith(SESSION_COOKIE_PREFIX) for r in seen for c in r.set_cookies)
        assert not any(c["name"].startswith(SESSION_COOKIE_PREFIX) for c in context.cookies())
        assert not any(r.form.get("lti_storage_verified") for r in seen)
        (only_launch,) = stack.recorder.launches()
        assert only_launch.origin == stack.canvas.base
    finally:
        visit.close()


def test_cross_site_post_claiming_the_storage_check_is_refused(
    chromium_profiles: Any, stack: Stack
) -> None:
    """Only the tool's own relay page may say "storage checked": Canvas's origin may not."""
    context = chromium_profiles("tool_cookies_blocked")
    visit = open_course(context, stack, relay="forged")
    try:
        outcome = visit.wait_for_outcome()
        text = visit.frame_text()
        assert outcome == "error", text
        assert "did not keep the sign-in cookie" in text
        (launch,) = stack.recorder.launches()
        assert launch.form.get("lti_storage_verified") == "1"
        assert launch.origin == stack.canvas.base
        assert launch.status == 401
        assert not any(c.startswith(SESSION_COOKIE_PREFIX) for c in launch.set_cookies)
    finally:
        visit.close()


def test_framed_pages_allow_only_canvas_and_session_cookie_is_locked_down(
    chromium_profiles: Any, stack: Stack
) -> None:
    context = chromium_profiles("cookies_allowed")
    visit = open_course(context, stack)
    try:
        assert_landed_as_teacher(visit)
        canvas_origin = stack.canvas.base

        # Every tool document the frame showed (storage login page, landing page) may be
        # framed by this tenant's Canvas and nothing else.
        documents = [r for r in visit.tool_responses if r.request.resource_type == "document"]
        assert {r.url.split("?")[0] for r in documents} == {
            stack.tool_base + "/lti/login",
            stack.tool_base + "/lti/launch",
        }
        for response in documents:
            csp = response.header_value("content-security-policy") or ""
            assert csp_directive(csp, "frame-ancestors") == [canvas_origin], response.url
            assert "*" not in csp_directive(csp, "frame-ancestors")
            assert response.header_value("x-frame-options") is None

        (landing,) = visit.launch_responses()
        assert landing.status == 200
        session_cookies = [
            cookie_attributes(c)
            for c in landing.header_values("set-cookie")
            if c.startswith(SESSION_COOKIE_PREFIX)
        ]
        assert len(session_cookies) == 1, landing.header_values("set-cookie")
        _name, attrs = session_cookies[0]
        assert {"secure", "httponly", "samesite=none", "partitioned", "path=/"} <= attrs
        assert not any(a.startswith("domain=") for a in attrs)  # __Host- rules

        # And Chromium stored it partitioned under Canvas's site.
        stored = [c for c in context.cookies() if c["name"].startswith(SESSION_COOKIE_PREFIX)]
        assert len(stored) == 1
        assert stored[0]["partitionKey"] == "http://localhost"
        assert stored[0]["secure"] and stored[0]["httpOnly"]
        assert stored[0]["sameSite"] == "None"
    finally:
        visit.close()
