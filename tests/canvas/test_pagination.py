"""Pagination to the end, Link parsing, meta.pagination fallback, and the token staying home."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st
from responses import matchers

from canvas_sandbox import serializers as ser
from canvas_sandbox.state import OutcomeGroup
from lti_app.canvas.client.client import parse_link_header
from lti_app.canvas.client.errors import CanvasError, CanvasUnavailable, UnsafeLink
from tests.canvas import payloads
from tests.canvas.conftest import BASE, TOKEN, FakeClock, MakeClient, auth_of
from tests.http_calls import url_of

SECTIONS = f"{BASE}/api/v1/courses/12/sections"


def section(i: int) -> dict[str, object]:
    return payloads.section(i)


def test_link_header_parsing_rel_order_case_and_multiple_rels() -> None:
    header = (
        f'<{BASE}/x?page=1&per_page=10>; rel="current",'
        f'<{BASE}/x?page=bookmark:WzEsMl0,b3&per_page=10>; REL="Next Last" ,'
        f"<{BASE}/x?page=1&per_page=10>; rel=first"
    )
    links = parse_link_header(header)
    assert links["next"] == f"{BASE}/x?page=bookmark:WzEsMl0,b3&per_page=10"
    assert links["last"] == links["next"]
    assert links["first"] == f"{BASE}/x?page=1&per_page=10"
    assert parse_link_header("") == {}
    assert parse_link_header("<https://a/b>; title=x") == {}


def test_follows_next_to_the_end_with_opaque_bookmarks(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    page2 = f"{BASE}/api/v1/courses/12/sections?page=bookmark:WzQ1XQ&per_page=100"
    page3 = f"{BASE}/api/v1/courses/12/sections?page=bookmark:WzQ2XQ%3D%3D&per_page=100"
    canvas.get(
        SECTIONS,
        match=[matchers.query_param_matcher({"per_page": "100"})],
        json=[section(1), section(2)],
        # next listed last; lowercase header name
        headers={"link": f'<{SECTIONS}?page=1&per_page=100>; rel="current",<{page2}>; rel="next"'},
    )
    canvas.get(
        page2,
        match=[matchers.query_param_matcher({"page": "bookmark:WzQ1XQ", "per_page": "100"})],
        json=[section(3)],
        headers={"LINK": f'<{page3}>; rel="next", <{SECTIONS}?page=1>; rel="first"'},
    )
    canvas.get(
        page3,
        match=[matchers.query_param_matcher({"page": "bookmark:WzQ2XQ==", "per_page": "100"})],
        json=[section(4)],
        headers={"Link": f'<{SECTIONS}?page=1>; rel="first"'},
    )
    client = make_client()
    assert [s.id for s in client.sections("12")] == ["1", "2", "3", "4"]
    assert len(canvas.calls) == 3
    assert all(auth_of(c) == f"Bearer {TOKEN}" for c in canvas.calls)


def test_empty_page_ends_pagination_even_with_a_next_link(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, json=[], headers={"Link": f'<{SECTIONS}?page=2>; rel="next"'})
    assert make_client().sections("12") == []
    assert len(canvas.calls) == 1


@pytest.mark.parametrize(
    "foreign",
    [
        "https://evil.test/api/v1/courses/12/sections?page=2",
        "http://canvas.test/api/v1/courses/12/sections?page=2",  # scheme downgrade
        "https://canvas.test:8443/api/v1/courses/12/sections?page=2",  # other port
        "https://canvas.test.evil.test/api/v1/courses/12/sections?page=2",
        "//evil.test/api/v1/courses/12/sections?page=2",  # scheme-relative
        "https://canvas.test@evil.test/api/v1/courses/12/sections?page=2",  # userinfo trick
    ],
)
def test_links_to_another_origin_are_never_followed(
    canvas: responses.RequestsMock, make_client: MakeClient, foreign: str
) -> None:
    canvas.get(SECTIONS, json=[section(1)], headers={"Link": f'<{foreign}>; rel="next"'})
    canvas.get("https://evil.test/api/v1/courses/12/sections", json=[section(2)])
    with pytest.raises(UnsafeLink):
        make_client().sections("12")
    assert [url_of(c.request).split("?")[0] for c in canvas.calls] == [SECTIONS]


def test_explicit_default_port_is_the_same_origin(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        match=[matchers.query_param_matcher({"per_page": "100"})],
        json=[section(1)],
        headers={"Link": '<https://CANVAS.test:443/api/v1/courses/12/sections?page=2>; rel="next"'},
    )
    canvas.get(  # (responses matches the URL as written, port included)
        "https://canvas.test:443/api/v1/courses/12/sections",
        match=[matchers.query_param_matcher({"page": "2"})],
        json=[section(2)],
    )
    assert [s.id for s in make_client().sections("12")] == ["1", "2"]


def test_meta_pagination_next_is_the_fallback_for_rollups(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    url = f"{BASE}/api/v1/courses/12/outcome_rollups"

    canvas.get(
        url,
        match=[matchers.query_param_matcher({"per_page": "100"})],
        json={
            "rollups": [payloads.rollup(812, 45), payloads.rollup(813, 45)],
            "meta": {"pagination": {"per_page": 100, "page": 1, "next": f"{url}?page=2"}},
        },
    )
    canvas.get(
        url,
        match=[matchers.query_param_matcher({"page": "2"})],
        json={"rollups": [payloads.rollup(812, 46)], "meta": {"pagination": {"page": 2}}},
    )
    rollups = make_client().outcome_rollups("12")
    assert [(r.user_id, r.section_id) for r in rollups] == [
        ("812", "45"),
        ("813", "45"),
        ("812", "46"),
    ]
    assert rollups[0].scores[0].score == 2.73 and rollups[0].scores[0].outcome_id == "97"


def test_page_count_is_bounded(canvas: responses.RequestsMock, make_client: MakeClient) -> None:
    for page in range(1, 5):
        canvas.get(
            SECTIONS,
            match=[matchers.query_param_matcher({"page": str(page)})],
            json=[section(page)],
            headers={"Link": f'<{SECTIONS}?page={page + 1}>; rel="next"'},
        )
    canvas.get(
        SECTIONS,
        match=[matchers.query_param_matcher({"per_page": "100"})],
        json=[section(0)],
        headers={"Link": f'<{SECTIONS}?page=1>; rel="next"'},
    )
    with pytest.raises(CanvasError, match="did not end after 3 pages"):
        make_client(max_pages=3).sections("12")
    assert len(canvas.calls) == 3


def test_a_pagination_loop_is_detected(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        json=[section(1)],
        headers={"Link": f'<{SECTIONS}?page=2>; rel="next"'},
    )
    with pytest.raises(CanvasError, match="circle"):
        make_client().sections("12")
    assert len(canvas.calls) == 2


def test_same_origin_redirect_is_followed_with_the_token(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    target = f"{BASE}/api/v1/courses/12/outcome_groups/5"
    canvas.get(
        f"{BASE}/api/v1/courses/12/root_outcome_group",
        status=302,
        headers={"Location": "/api/v1/courses/12/outcome_groups/5"},
    )
    root = OutcomeGroup(5, "Course", 12, "ELA 7")
    canvas.get(target, json=ser.outcome_group_json(root, style="full"))
    group = make_client().root_outcome_group("12")
    assert (group.id, group.title, group.parent_id) == ("5", "ELA 7", None)
    assert [auth_of(c) for c in canvas.calls] == [f"Bearer {TOKEN}"] * 2


def test_cross_origin_redirect_is_refused_before_sending_anything(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        f"{BASE}/api/v1/courses/12/root_outcome_group",
        status=302,
        headers={"Location": "https://files.evil.test/steal"},
    )
    canvas.get("https://files.evil.test/steal", json={})
    with pytest.raises(UnsafeLink) as caught:
        make_client()._get("/api/v1/courses/12/root_outcome_group")
    assert len(canvas.calls) == 1
    assert "evil" not in str(caught.value)  # the message does not echo attacker text


def test_an_absolute_path_to_another_host_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(UnsafeLink):
        make_client()._get("https://evil.test/api/v1/users/self")


def test_lists_are_requested_at_the_maximum_page_size(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        f"{BASE}/api/v1/courses/12/enrollments",
        match=[
            matchers.query_param_matcher(
                {"type[]": "StudentEnrollment", "state[]": "active", "per_page": "100"}
            )
        ],
        json=[payloads.enrollment(7, 812, 45)],
    )
    (enrollment,) = make_client().student_enrollments("12")
    assert enrollment.user is not None and enrollment.user.sortable_name == "Lopez, Ana"
    assert enrollment.course_section_id == "45"


def test_many_user_ids_are_sent_in_batches(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    url = f"{BASE}/api/v1/courses/12/outcome_results"
    canvas.get(url, json={"outcome_results": []})
    user_ids = [str(1000 + i) for i in range(250)]
    assert list(make_client().outcome_results("12", user_ids=user_ids)) == []
    sent = [parse_qs(urlsplit(url_of(c.request)).query)["user_ids[]"] for c in canvas.calls]
    assert [len(batch) for batch in sent] == [100, 100, 50]
    assert [u for batch in sent for u in batch] == user_ids


def test_a_listing_is_bounded_in_time(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    def slow_page(request: Any) -> tuple[int, dict[str, str], str]:
        clock.now += 40.0  # each page takes 40 s
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["1"])[0])
        link = f'<{SECTIONS}?page={page + 1}>; rel="next"'
        return 200, {"Link": link}, json.dumps([section(page)])

    canvas.add_callback(responses.GET, SECTIONS, callback=slow_page)
    with pytest.raises(CanvasUnavailable, match="too long"):
        make_client(listing_deadline_seconds=100.0).sections("12")
    assert len(canvas.calls) == 3  # 0 s, 40 s, 80 s started; at 120 s the listing stops


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["next", "prev", "first", "last", "current"]),
            st.text(alphabet="abcXYZ019:,;=%-_.~", min_size=1, max_size=20),
            st.sampled_from(['rel="{}"', "rel={}", 'REL="{}"', 'rel = "{}"']),
        ),
        unique_by=lambda t: t[0],
        max_size=5,
    )
)
def test_link_header_round_trip(entries: list[tuple[str, str, str]]) -> None:
    header = ", ".join(
        f"<{BASE}/api/v1/x?page={token}&per_page=100>; {form.format(rel.upper() if i % 2 else rel)}"
        for i, (rel, token, form) in enumerate(entries)
    )
    assert parse_link_header(header) == {
        rel: f"{BASE}/api/v1/x?page={token}&per_page=100" for rel, token, _ in entries
    }
