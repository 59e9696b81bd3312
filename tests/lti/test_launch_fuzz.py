"""Fuzzing the login and launch endpoints: whatever arrives, the answer is never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LtiBrowser
from tests.lti_platform import TOOL_BASE


def _seg(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "none", "HS256", "", "ES256"]) | st.text(),
        "kid": st.text(max_size=30) | st.integers(),
        "typ": st.just("JWT"),
    },
)
bodies = st.dictionaries(
    st.sampled_from(
        [
            "iss",
            "aud",
            "azp",
            "sub",
            "exp",
            "iat",
            "nonce",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
        ]
    )
    | st.text(max_size=15),
    json_values,
    max_size=8,
)
tokens = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda h, b, s: f"{_seg(h)}.{_seg(b)}.{s}",
        headers,
        bodies,
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40),
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=tokens, state=st.text(max_size=60), storage=st.sampled_from([None, "_parent", "x"]))
def test_launch_never_500s(
    app: Flask, browser: LtiBrowser, token: str, state: str, storage: str | None
) -> None:
    data = {"id_token": token, "state": state}
    if storage:
        data["lti_storage_target"] = storage
    response = browser.client.post("/lti/launch", data=data, base_url=TOOL_BASE)
    assert response.status_code < 500 or response.status_code == 503


login_fields = st.dictionaries(
    st.sampled_from(
        [
            "iss",
            "login_hint",
            "client_id",
            "target_link_uri",
            "lti_message_hint",
            "lti_deployment_id",
            "lti_storage_target",
            "redirect_uri",
        ]
    ),
    st.text(max_size=80),
    max_size=8,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=login_fields, method=st.sampled_from(["get", "post"]))
def test_login_never_500s_and_never_redirects_off_platform(
    app: Flask, browser: LtiBrowser, fields: dict[str, str], method: str
) -> None:
    if method == "get":
        response = browser.client.get("/lti/login", query_string=fields, base_url=TOOL_BASE)
    else:
        response = browser.client.post("/lti/login", data=fields, base_url=TOOL_BASE)
    assert response.status_code < 500
    if response.status_code == 302:
        assert response.headers["Location"].startswith(browser.platform.auth_url + "?")
