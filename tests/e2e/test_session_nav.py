"""Moving between the tool's pages when the browser refuses every tool cookie.

After a Platform-Storage launch the browser holds no cookie for the tool; session_nav.js
carries the launch's secret on links, GET forms and POST forms (lti_app/web/static). Here an
administrator walks Home -> Installation -> Proficiency scale and calculation, loads a preset
(GET form) and asks for a preview (POST form), all inside Canvas's iframe.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.flows import open_course, tool_cookies
from tests.e2e.harness import Stack

pytestmark = pytest.mark.timeout(60)


def test_admin_navigates_tool_pages_without_any_cookie(
    chromium_profiles: Any, stack: Stack
) -> None:
    context = chromium_profiles("tool_cookies_blocked")
    visit = open_course(context, stack, role="admin")
    try:
        frame = visit.page.frame_locator("#tool_content")
        frame.get_by_role("link", name="Open installation settings").click()
        frame.get_by_role("heading", name="Installation").wait_for()
        frame.get_by_role("link", name="Proficiency scale and calculation").click()
        frame.get_by_role("heading", name="Proficiency scale and calculation").wait_for()

        frame.get_by_label("starting from").select_option("learning_progression_1_4")
        frame.get_by_role("button", name="Load").click()
        frame.locator('input[name="level-3-value"][value="4"]').wait_for()
        assert frame.locator('input[name="level-4-value"]').input_value() == ""

        frame.get_by_role("button", name="Preview changes").click()
        frame.get_by_text("Choose a synced course to preview.").wait_for()

        assert tool_cookies(context, stack) == []
        assert all(r.cookies == {} for r in stack.recorder.all())
        admin_pages = [r for r in stack.recorder.all() if "/admin" in r.path]
        assert [r.status for r in admin_pages] == [200, 200, 200, 200]
    finally:
        visit.close()


def test_native_form_posts_pass_the_csrf_origin_check_with_cookies(
    chromium_profiles: Any, stack: Stack
) -> None:
    """With the partitioned session cookie working, pages after the first carry no secret and
    forms post natively: the browser must send our real Origin (Referrer-Policy same-origin;
    with no-referrer it sends "Origin: null" and every post would be refused)."""
    context = chromium_profiles("third_party_blocked")
    visit = open_course(context, stack, role="admin")
    try:
        frame = visit.page.frame_locator("#tool_content")
        frame.get_by_role("link", name="Open installation settings").click()
        frame.get_by_role("heading", name="Installation").wait_for()
        frame.get_by_role("link", name="Proficiency scale and calculation").click()
        frame.get_by_role("heading", name="Proficiency scale and calculation").wait_for()
        frame.get_by_role("button", name="Preview changes").click()
        frame.get_by_text("Choose a synced course to preview.").wait_for()
        (posted,) = [r for r in stack.recorder.all() if r.method == "POST" and "/admin" in r.path]
        assert posted.origin == stack.tool_base
        assert posted.status == 200
        assert posted.cookies  # the cookie path, not the header one
    finally:
        visit.close()
