"""Sandbox course page -> Mastery Pathways tab -> launch, in real Chromium, as a teacher and as
a student, through the sandbox's own LTI platform (login initiation, authorization, id_token,
Platform Storage frame). The tool's cookies are blocked in the browser profile, so the launch
has to go through Platform Storage, as in Safari."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canvas_sandbox.platform.store import developer_keys
from lti_app.lti.state_store import STATE_COOKIE_PREFIX
from tests.e2e.conftest import BLOCK_THIRD_PARTY, CHROMIUM_ARGS, TIMEOUT_MS, block_all_cookies_for
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack
from tests.e2e.test_accessibility import blocking_violations, horizontal_overflow

pytestmark = pytest.mark.timeout(90)
AUTHORIZE_LOG = "lti_authorize_log"


@pytest.fixture(scope="module")
def sandbox_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    stack, stop = start_sandbox_stack(tmp_path_factory.mktemp("sandbox-e2e"))
    try:
        yield stack
    finally:
        stop()


@pytest.fixture(scope="module")
def browser_profile(
    playwright_driver: Any, sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Any]]:
    prefs = {
        "third_party_blocked": BLOCK_THIRD_PARTY,
        "tool_cookies_blocked": block_all_cookies_for(sandbox_stack.tool_base),
    }
    opened: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in opened:
            user_data: Path = tmp_path_factory.mktemp(f"sandbox-chromium-{name}")
            (user_data / "Default").mkdir()
            (user_data / "Default" / "Preferences").write_text(json.dumps(prefs[name]))
            context = playwright_driver.chromium.launch_persistent_context(
                str(user_data),
                executable_path="/usr/bin/chromium",
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=TIMEOUT_MS * 3,
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            opened[name] = context
        context = opened[name]
        context.clear_cookies()
        return context

    try:
        yield get
    finally:
        for context in opened.values():
            context.close()


def authorize_log(stack: SandboxStack) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = stack.state.table(AUTHORIZE_LOG).get("entries", [])
    return list(entries)


def pick_user(page: Any, stack: SandboxStack, user_id: int) -> None:
    page.goto(stack.sandbox_base + "/")
    page.locator(f'button[data-user-id="{user_id}"]').click()
    page.wait_for_url(stack.sandbox_base + "/")


def open_tool_tab(page: Any, stack: SandboxStack, course_id: int) -> Any:
    """Click through as a person would: the course card, then the tool's tab."""
    course = stack.state.courses[course_id]
    page.get_by_role("link", name=course.name).first.click()
    page.wait_for_url(f"{stack.sandbox_base}/courses/{course_id}")
    nav = page.get_by_role("navigation", name="Course navigation")
    nav.get_by_role("link", name="Mastery Pathways").click()
    page.wait_for_url(stack.tool_url(course_id))
    frame = page.frame_locator("#tool_content")
    frame.locator("h1").or_(frame.locator("#lti-storage-failed")).first.wait_for(state="visible")
    return frame


def open_account_tool(page: Any, stack: SandboxStack) -> Any:
    """As the district admin: Admin in the global navigation, then the tool's account tab."""
    pick_user(page, stack, stack.ids.admin)
    page.get_by_role("navigation", name="Global navigation").get_by_role(
        "link", name="Admin"
    ).click()
    nav = page.get_by_role("navigation", name="Account navigation")
    nav.get_by_role("link", name="Mastery Pathways Admin").click()
    frame = page.frame_locator("#tool_content")
    frame.locator("h1").first.wait_for(state="visible")
    return frame


@pytest.mark.parametrize(
    ("who", "role_text"),
    [("teacher", "Teacher"), ("student", "Student")],
)
def test_launch_from_the_sandbox_course_through_platform_storage(
    browser_profile: Callable[[str], Any], sandbox_stack: SandboxStack, who: str, role_text: str
) -> None:
    stack = sandbox_stack
    ids = stack.ids
    user_id = ids.teacher if who == "teacher" else ids.students[0]
    course = stack.state.courses[ids.ela_course]
    user = stack.state.users[user_id]
    stack.recorder.clear()
    before = len(authorize_log(stack))

    context = browser_profile("tool_cookies_blocked")
    page = context.new_page()
    try:
        pick_user(page, stack, user_id)
        frame = open_tool_tab(page, stack, ids.ela_course)
        text = frame.locator("body").inner_text()
        assert course.name in text, text
        assert user.name in text
        assert role_text in text
        # The tool page is inside the iframe on the tool's origin; the top stayed on Canvas.
        tool_frame = page.frame(name="tool_content")
        assert tool_frame is not None
        assert tool_frame.url == stack.tool_base + "/lti/launch"
        assert page.url == stack.tool_url(ids.ela_course)

        # The sandbox authorized exactly once, for this launch.
        (entry,) = authorize_log(stack)[before:]
        assert entry["ok"] is True, entry
        # The browser really sent the tool no cookie, so Platform Storage carried the state.
        storage = page.frame(name="post_message_forwarding")
        assert storage is not None
        seen = storage.evaluate("window.seenMessages")
        state = entry["state"]
        assert [(m["subject"], m["key"]) for m in seen] == [
            ("lti.put_data", f"state-{state}"),
            ("lti.get_data", f"state-{state}"),
        ]
        assert {m["origin"] for m in seen} == {stack.tool_base}
        assert all(r.cookies == {} for r in stack.recorder.all())
        first, relay = stack.recorder.launches()
        assert first.form["lti_storage_target"] == "post_message_forwarding"
        assert relay.form.get("lti_storage_verified") == "1"
        assert relay.status == 200
    finally:
        page.close()


def test_cookie_path_launch_with_partitioned_cookies(
    browser_profile: Callable[[str], Any], sandbox_stack: SandboxStack
) -> None:
    """Chromium's default (third-party cookies blocked, CHIPS kept): the state cookie works."""
    stack = sandbox_stack
    stack.recorder.clear()
    before = len(authorize_log(stack))
    context = browser_profile("third_party_blocked")
    page = context.new_page()
    try:
        pick_user(page, stack, stack.ids.teacher)
        frame = open_tool_tab(page, stack, stack.ids.ela_course)
        assert "Teacher" in frame.locator("body").inner_text()
        (entry,) = authorize_log(stack)[before:]
        (launch,) = stack.recorder.launches()  # no relay: the cookie bound the state
        assert launch.cookies.get(f"{STATE_COOKIE_PREFIX}-{entry['state']}") == entry["state"]
        assert launch.status == 200
    finally:
        page.close()


def test_admin_launches_the_account_navigation_placement(
    browser_profile: Callable[[str], Any], sandbox_stack: SandboxStack
) -> None:
    stack = sandbox_stack
    ids = stack.ids
    page = browser_profile("tool_cookies_blocked").new_page()
    try:
        frame = open_account_tool(page, stack)
        text = frame.locator("body").inner_text()
        assert "Administrator" in text, text
        assert stack.state.users[ids.admin].name in text
    finally:
        page.close()


def test_dynamic_registration_in_the_browser_then_launch(
    browser_profile: Callable[[str], Any], sandbox_stack: SandboxStack
) -> None:
    """The admin pastes the tool's registration URL; the tool's page runs in the sandbox's
    frame, registers over loopback and closes the dialog with org.imsglobal.lti.close; the
    new key's tab then launches."""
    stack = sandbox_stack
    ids = stack.ids
    keys_before = set(developer_keys(stack.state))
    context = browser_profile("third_party_blocked")
    page = context.new_page()
    new_key = None
    try:
        pick_user(page, stack, ids.admin)
        page.goto(f"{stack.sandbox_base}/accounts/{ids.account}/developer_keys")
        page.get_by_label("LTI Dynamic Registration URL").fill(stack.tool_base + "/lti/register")
        page.get_by_role("button", name="Start registration").click()
        frame = page.frame_locator("#registration_frame")
        frame.get_by_role("button", name="Install").click()
        # The tool's "done" page posts org.imsglobal.lti.close; the sandbox goes back.
        page.wait_for_url(f"**/accounts/{ids.account}/developer_keys?message=*")
        assert "Registration finished" in page.locator("[role=status]").inner_text()
        (new_id,) = set(developer_keys(stack.state)) - keys_before
        new_key = developer_keys(stack.state)[new_id]
        assert new_key.installed_via == "dynamic_registration"
        assert new_key.client_id in page.locator("body").inner_text()

        pick_user(page, stack, ids.teacher)
        page.goto(f"{stack.sandbox_base}/courses/{ids.ela_course}/external_tools/{new_key.id}")
        tool = page.frame_locator("#tool_content")
        tool.locator("h1").first.wait_for(state="visible")
        text = tool.locator("body").inner_text()
        assert "Teacher" in text, text
        assert stack.state.courses[ids.ela_course].name in text
    finally:
        if new_key is not None:
            new_key.enabled = False  # one Mastery Pathways tab again for other tests
        page.close()


def test_sandbox_pages_have_no_serious_axe_violations_and_fit_320px(
    browser_profile: Callable[[str], Any], sandbox_stack: SandboxStack
) -> None:
    stack = sandbox_stack
    ids = stack.ids
    page = browser_profile("third_party_blocked").new_page()
    try:
        page.goto(stack.sandbox_base + "/")
        assert blocking_violations(page) == []
        pick_user(page, stack, ids.admin)
        paths = [
            "/",
            f"/courses/{ids.ela_course}",
            f"/courses/{ids.ela_course}/outcomes",
            f"/courses/{ids.ela_course}/gradebook/learning_mastery",
            f"/accounts/{ids.account}/developer_keys",
        ]
        for path in paths:
            page.goto(stack.sandbox_base + path)
            assert blocking_violations(page) == [], path
        page.set_viewport_size({"width": 320, "height": 800})
        for path in paths:
            page.goto(stack.sandbox_base + path)
            dims = horizontal_overflow(page)
            assert dims["scroll"] <= dims["client"], (path, dims)
    finally:
        page.close()
