"""`make demo` wiring, headless: start `python -m canvas_sandbox.demo` on free ports, open the
printed URL, launch the tool as the seeded teacher the way a browser would (sandbox login
initiation -> tool login -> sandbox authorization -> tool launch), stop with Ctrl+C (SIGINT);
then start again on the same instance folder and launch again (the tool's database persists,
the client_id and deployment_id stay valid)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from html import unescape
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
pytestmark = pytest.mark.timeout(150)


def fields_of(html: str, form_id: str | None = None) -> dict[str, str]:
    if form_id is not None:
        match = re.search(rf'<form id="{form_id}".*?</form>', html, re.S)
        assert match, html[:500]
        html = match.group(0)
    return {
        unescape(n): unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_demo(
    instance: Path, sandbox_port: int, tool_port: int
) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "DATABASE_URL"))}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "canvas_sandbox.demo",
            "--sandbox-port",
            str(sandbox_port),
            "--tool-port",
            str(tool_port),
            "--instance",
            str(instance),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        match = re.search(r"Open (http://localhost:\d+/)\s*$", line)
        if match:
            return process, match.group(1)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    raise AssertionError("the demo printed no URL:\n" + "".join(seen))


def stop_demo(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)  # Ctrl+C: the demo stops the tool it started
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, out
    return out


def port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", parts.port or 80)) == 0


def launch_as_teacher(sandbox: str) -> tuple[str, str, str]:
    """Returns (tool base, client_id, deployment_id) after a successful launch."""
    browser = requests.Session()
    home = browser.get(sandbox, timeout=10)
    assert home.status_code == 200
    assert "Pick a user" in home.text
    teacher = re.search(r'data-user-id="(\d+)">Elena Rivera<', home.text)
    assert teacher, "the seeded teacher is on the switcher"
    switched = browser.post(
        sandbox + "users/switch",
        data={"user_id": teacher.group(1)},
        timeout=10,
        allow_redirects=False,
    )
    assert switched.status_code == 303
    # Browsers keep Secure cookies on http://localhost; requests does not, so keep it by hand.
    jar: CookieJar = browser.cookies  # iterating a CookieJar gives its Cookie objects
    for cookie in list(jar):
        assert cookie.value is not None  # requests' set() would drop a cookie without one
        browser.cookies.set(cookie.name, cookie.value, domain=cookie.domain, secure=False)
    dashboard = browser.get(sandbox, timeout=10).text
    course = re.search(r'href="/courses/(\d+)"><span class="cc-code">ELA7-P2', dashboard)
    assert course, dashboard[:2000]
    course_page = browser.get(f"{sandbox}courses/{course.group(1)}", timeout=10).text
    tab = re.search(r'href="(/courses/\d+/external_tools/\d+)"[^>]*>Mastery Pathways<', course_page)
    assert tab, course_page[:2000]
    tool_page = browser.get(sandbox.rstrip("/") + tab.group(1), timeout=10).text
    action = re.search(r'<form id="tool_form" method="post" action="([^"]+)"', tool_page)
    assert action
    login = fields_of(tool_page, "tool_form")
    tool_base = action.group(1).removesuffix("/lti/login")

    # The tool's login page (Platform Storage variant) names the authorization URL.
    tool_login = requests.post(action.group(1), data=login, timeout=10, allow_redirects=False)
    assert tool_login.status_code == 200, tool_login.text[:500]
    auth_url = unescape(re.search(r'data-next="([^"]+)"', tool_login.text).group(1))  # type: ignore[union-attr]
    assert auth_url.startswith(sandbox + "api/lti/authorize_redirect?")
    # Canvas's authorization needs the user's session: the browser has it.
    authorized = browser.get(auth_url, timeout=10)
    assert authorized.status_code == 200, authorized.text[:500]
    post = fields_of(authorized.text)
    assert set(post) == {"id_token", "state", "lti_storage_target"}
    # What the tool's relay page does once Platform Storage confirmed the state.
    launched = requests.post(
        tool_base + "/lti/launch",
        data={"id_token": post["id_token"], "state": post["state"], "lti_storage_verified": "1"},
        headers={"Origin": tool_base, "Sec-Fetch-Site": "same-origin"},
        timeout=10,
    )
    assert launched.status_code == 200, launched.text[:1000]
    assert "ELA 7 – Period 2" in launched.text
    assert "Teacher" in launched.text
    assert "Elena Rivera" in launched.text
    return tool_base, login["client_id"], login["deployment_id"]


def test_demo_starts_launches_stops_and_restarts(tmp_path: Path) -> None:
    ports = free_port(), free_port()
    started = time.monotonic()
    process, url = start_demo(tmp_path, *ports)
    try:
        tool_base, client_id, deployment_id = launch_as_teacher(url)
    finally:
        out = stop_demo(process)
    assert "Stopping" in out
    assert not port_open(url) and not port_open(tool_base)
    first_run = time.monotonic() - started

    process, url = start_demo(
        tmp_path, *ports
    )  # same instance and ports: the tool's database persists
    try:
        _tool, client_again, deployment_again = launch_as_teacher(url)
    finally:
        stop_demo(process)
    assert (client_again, deployment_again) == (client_id, deployment_id)
    log = (tmp_path / "demo-tool.log").read_text()
    assert "already present" in log  # the second `platform add` found the registration
    assert (tmp_path / "demo.sqlite3").exists()
    assert first_run < 40, f"one demo start/launch/stop took {first_run:.1f} s"


def test_demo_refuses_a_busy_port_before_starting_anything(tmp_path: Path) -> None:
    from canvas_sandbox import demo

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} is in use"):
            demo.start(port, 0, tmp_path)
    assert not (tmp_path / "demo-tool.log").exists()
