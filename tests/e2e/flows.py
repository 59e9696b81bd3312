"""Driving a course page in Chromium and reading what happened in its frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.e2e.fake_canvas import STORAGE_TARGET, TOOL_FRAME
from tests.e2e.harness import Stack

STORAGE_FAILED_TEXT = "blocked the sign-in check"
COURSE_TITLE = "Algebra I – Period 3"


@dataclass
class CourseVisit:
    """One visit to the fake Canvas course page, with the tool's responses as Chromium saw
    them (headers straight off the network)."""

    page: Any
    stack: Stack
    tool_responses: list[Any] = field(default_factory=list)

    @property
    def tool_frame(self) -> Any:
        frame = self.page.frame(name=TOOL_FRAME)
        assert frame is not None, "the course page has no tool frame"
        return frame

    def wait_for_outcome(self) -> str:
        """'landing' (the tool's page), 'storage_failed' or 'error' (an error page)."""
        frame = self.page.frame_locator(f"#{TOOL_FRAME}")
        heading = frame.locator("h1")
        failed = frame.locator("#lti-storage-failed")
        heading.or_(failed).first.wait_for(state="visible")
        if failed.is_visible():
            return "storage_failed"
        text = heading.inner_text()
        return "error" if "could not open" in text else "landing"

    def frame_text(self) -> str:
        text: str = self.tool_frame.locator("body").inner_text()
        return text

    def storage_messages(self) -> list[dict[str, Any]]:
        """What the post_message_forwarding frame received, in order."""
        frame = self.page.frame(name=STORAGE_TARGET)
        assert frame is not None, "the course page has no post_message_forwarding frame"
        messages: list[dict[str, Any]] = frame.evaluate("window.seenMessages")
        return messages

    def forwarded_from_elsewhere(self) -> list[dict[str, Any]]:
        """Replies the wrong-origin frame delivered to the tool frame."""
        for frame in self.page.frames:
            if frame.url.endswith("/elsewhere"):
                replies: list[dict[str, Any]] = frame.evaluate("window.forwarded")
                return replies
        raise AssertionError("the wrong-origin responder frame was not loaded")

    def launch_responses(self) -> list[Any]:
        return [
            r
            for r in self.tool_responses
            if r.request.method == "POST" and r.url == self.stack.tool_base + "/lti/launch"
        ]

    def close(self) -> None:
        self.page.close()


def open_course(
    context: Any,
    stack: Stack,
    storage: str = "ok",
    role: str = "teacher",
    relay: str = "",
    width: int | None = None,
) -> CourseVisit:
    page = context.new_page()
    if width is not None:
        page.set_viewport_size({"width": width, "height": 720})
    visit = CourseVisit(page=page, stack=stack)

    def keep(response: Any) -> None:
        if response.url.startswith(stack.tool_base + "/"):
            visit.tool_responses.append(response)

    page.on("response", keep)
    page.goto(stack.canvas.course_url(storage=storage, role=role, relay=relay))
    return visit


def assert_landed_as_teacher(visit: CourseVisit) -> None:
    outcome = visit.wait_for_outcome()
    text = visit.frame_text()
    assert outcome == "landing", text
    assert COURSE_TITLE in text
    assert "Teacher" in text
    # Inside the iframe on the tool's origin; the top page never left Canvas.
    assert visit.tool_frame.url == visit.stack.tool_base + "/lti/launch"
    assert visit.page.url.startswith(visit.stack.canvas.base + "/courses/101")


def tool_cookies(context: Any, stack: Stack) -> list[dict[str, Any]]:
    host = stack.tool_base.split("//", 1)[1].split(":", 1)[0]
    return [c for c in context.cookies() if c["domain"] == host]
