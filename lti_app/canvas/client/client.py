"""CanvasClient: every REST call goes through one chokepoint, `_request`.

What the chokepoint guarantees (docs/canvas.md §4):
- (connect, read) timeouts on every HTTP request; redirects handled here, never by requests;
- bounded retries with exponential backoff and full jitter on 5xx, timeouts and connection
  errors for idempotent methods (GET/PUT/DELETE), and on throttling for every method (a
  throttled request did not run); every loop is bounded in attempts and by a deadline;
- throttling is a 429, or a 403 whose plain-text body says "Rate Limit Exceeded"; a 403 with a
  JSON body is a permission error;
- pacing by X-Rate-Limit-Remaining (Canvas leaks ~10 units/s) and at most `max_concurrency`
  requests in flight per token source (one bucket per token at Canvas);
- one refresh and one retry after a 401 carrying WWW-Authenticate;
- the bearer token only ever goes to the base URL's origin: pagination links and redirects to
  another scheme/host/port raise UnsafeLink;
- logs carry method, path (no query), status, elapsed and attempt; never headers or tokens.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from lti_app.canvas.client.errors import (
    BadPayload,
    CanvasError,
    CanvasUnavailable,
    NotFound,
    PermissionDenied,
    ReconnectRequired,
    Throttled,
    TokenInvalid,
    TokenProblem,
    UnsafeLink,
    ValidationFailed,
)
from lti_app.canvas.client.tokens import TokenSource
from lti_app.canvas.client.types import (
    AccountCourse,
    Assignment,
    CanvasUser,
    CriterionSpec,
    Enrollment,
    GradingPeriod,
    OutcomeGroup,
    OutcomeLink,
    OutcomeResult,
    OutcomeResultsPage,
    Proficiency,
    Progress,
    Rollup,
    RubricAssociation,
    RubricCreated,
    Section,
    Submission,
    parse_account_course,
    parse_assignment,
    parse_enrollment,
    parse_grading_periods_page,
    parse_outcome_group,
    parse_outcome_link,
    parse_outcome_results_page,
    parse_proficiency,
    parse_progress,
    parse_rollup,
    parse_rubric_associations,
    parse_rubric_created,
    parse_section,
    parse_submission,
    parse_user,
)
from lti_app.urls import UnsafeUrl, checked_url, origin_of

log = logging.getLogger(__name__)

PER_PAGE = 100  # Canvas's maximum (larger values are clamped silently)
MAX_PAGES = 10_000  # safety stop for a pagination that never ends
MAX_REDIRECTS = 5
# Canvas's bucket (docs/canvas.md §4.1): refused once its count reaches the high-water mark (600),
# leaking ~10 units/s; each request in flight holds a 50-unit reservation. Before a request,
# the client estimates the remaining headroom (last X-Rate-Limit-Remaining plus the drain
# since) and, when it is below what the requests in flight hold plus one more reservation and
# the last request's cost, capped at PACE_BELOW (3 in flight: ~150), sleeps in proportion to
# the deficit so the bucket drains instead of tipping over.
PACE_BELOW = 150.0
LEAK_PER_SECOND = 10.0
RESERVATION = 50.0
PACE_ROUNDS = 10  # re-checks after a pacing sleep (the bucket may have filled meanwhile)
PACE_SLACK = 0.01  # seconds: a shorter wait is float noise, not a full bucket
USER_IDS_PER_REQUEST = 100  # keeps user_ids[] query strings far below URL length limits
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_THROTTLE_TEXT = "rate limit exceeded"
_JSON_GUARD = "while(1);"  # Canvas's JSON hijacking guard on some non-API responses

Params = Mapping[str, Any]

_GRADES = "the course permission to view all grades (view_all_grades or manage_grades)"
_GRADING = "the course permission to grade (manage_grades) on a published assignment"
# The Canvas permission a call needs, named in PermissionDenied.hint when Canvas refuses it
# without saying that a token scope is missing (keys are the calls' scope strings).
PERMISSION_HINTS = {
    "url:GET|/api/v1/accounts/:account_id/courses": (
        "the account permission to list its courses (read_course_list: an admin of the account)"
    ),
    "url:GET|/api/v1/courses/:course_id/outcome_results": _GRADES,
    "url:GET|/api/v1/courses/:course_id/outcome_rollups": _GRADES,
    "url:GET|/api/v1/courses/:course_id/enrollments": "the course permission to see the roster",
    "url:GET|/api/v1/courses/:course_id/sections": "the course permission to see the roster",
    "url:POST|/api/v1/courses/:course_id/assignments": "the course permission to add assignments",
    "url:POST|/api/v1/courses/:course_id/rubrics": "the course permission to manage rubrics",
    "url:PUT|/api/v1/courses/:course_id/rubrics/:id": "the course permission to manage rubrics",
    "url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id": _GRADING,
    "url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades": (
        _GRADING
    ),
}


class RequestStats:
    """Thread-safe counters the sync and the benchmark report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.refreshes = 0

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "throttled": self.throttled,
                "refreshes": self.refreshes,
            }

    def __repr__(self) -> str:
        return f"RequestStats({self.snapshot()})"


@dataclass
class _Lane:
    """Shared by every client using one token source: Canvas throttles per token."""

    semaphore: threading.BoundedSemaphore
    remaining: float | None = None  # X-Rate-Limit-Remaining of the latest answer...
    observed_at: float = 0.0  # ...and when it came (the bucket drains from then on)
    last_cost: float = 0.0  # X-Request-Cost of the latest answer
    in_flight: int = 0
    waiting: int = 0  # requests sleeping in _pace: they will start together when they wake
    lock: threading.Lock = field(default_factory=threading.Lock)


class SharedBudget(Protocol):
    """One token's pacing state shared by every process that uses the token (several Celery
    workers): Canvas throttles per token, not per process (docs/canvas.md §11.2)."""

    def enter(self, limit: int, deadline: float) -> None:
        """Wait (until ``deadline``, a time.monotonic value) for one of ``limit`` slots."""

    def leave(self) -> None: ...

    def note(self, remaining: float, cost: float) -> None:
        """Record the latest X-Rate-Limit-Remaining and X-Request-Cost."""

    def view(self) -> tuple[float | None, float, float, int]:
        """(remaining, seconds since it was observed, last cost, requests in flight)."""


_lanes: weakref.WeakKeyDictionary[object, _Lane] = weakref.WeakKeyDictionary()
_lanes_lock = threading.Lock()


def _lane_for(tokens: object, max_concurrency: int) -> _Lane:
    with _lanes_lock:
        try:
            lane = _lanes.get(tokens)
            if lane is None:
                lane = _Lane(threading.BoundedSemaphore(max_concurrency))
                _lanes[tokens] = lane
            return lane
        except TypeError:  # not weak-referenceable or unhashable: a lane of its own
            return _Lane(threading.BoundedSemaphore(max_concurrency))


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


def parse_link_header(value: str | None) -> dict[str, str]:
    """rel -> URL from an RFC 8288 Link header; rel names lower-cased, first one wins."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        rel = _REL.search(match.group(2))
        if rel is None:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            links.setdefault(name, match.group(1).strip())
    return links


def _error_message(body: object, fallback: str) -> str:
    """The human message from any of Canvas's error body shapes (docs/canvas.md §4.3)."""
    text: str | None = None
    if isinstance(body, str):
        text = body
    elif isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            text = str(errors[0].get("message", ""))
        elif isinstance(errors, Mapping) and errors:
            attribute, problems = next(iter(errors.items()))
            first = problems[0] if isinstance(problems, list) and problems else problems
            detail = first.get("message") if isinstance(first, Mapping) else first
            text = f"{attribute}: {detail}"
        elif isinstance(body.get("message"), str):
            text = body["message"]
        elif isinstance(body.get("error"), str):
            text = body["error"]
        elif isinstance(body.get("messages"), list) and body["messages"]:
            text = "; ".join(str(m) for m in body["messages"])
    text = (text or "").strip()
    return text[:300] if text else fallback


def _token_problem(message: str) -> TokenProblem:
    lowered = message.lower()
    if "expired" in lowered:
        return "expired"
    if "revoked" in lowered:
        return "revoked"
    return "invalid"


def _form(prefix: str, value: object, out: list[tuple[str, str]]) -> None:
    """Rails-style form keys: a[b][c]=v, index-keyed for sequences (Canvas rubric bodies)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _form(f"{prefix}[{key}]" if prefix else str(key), item, out)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _form(f"{prefix}[{index}]", item, out)
    elif value is None:
        return
    elif isinstance(value, bool):
        out.append((prefix, "1" if value else "0"))
    elif isinstance(value, float) and value.is_integer():
        out.append((prefix, str(int(value))))
    else:
        out.append((prefix, str(value)))


def form_encode(data: Mapping[str, object]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    _form("", data, out)
    return out


def _criteria_form(criteria: Sequence[CriterionSpec]) -> dict[str, object]:
    rows: dict[str, object] = {}
    for index, spec in enumerate(criteria):
        row: dict[str, object] = {
            "description": spec.description,
            # Canvas recomputes this from the ratings; sent for older versions that do not
            "points": max((r.points for r in spec.ratings), default=0.0),
            "ratings": {
                str(i): {"description": r.description, "points": r.points, "id": r.id}
                for i, r in enumerate(spec.ratings)
            },
        }
        if spec.id is not None:
            row["id"] = spec.id
        if spec.learning_outcome_id is not None:
            row["learning_outcome_id"] = spec.learning_outcome_id
        if spec.mastery_points is not None:
            row["mastery_points"] = spec.mastery_points
        if spec.ignore_for_scoring:
            row["ignore_for_scoring"] = True
        rows[str(index)] = row
    return rows


class CanvasClient:
    """A Canvas REST client for one Canvas origin and one token source."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        max_attempts: int = 5,
        max_concurrency: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        deadline_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
        max_pages: int = MAX_PAGES,
        pace_below: float = PACE_BELOW,
        leak_per_second: float = LEAK_PER_SECOND,
        reservation: float = RESERVATION,
        listing_deadline_seconds: float = 1800.0,
        budget: SharedBudget | None = None,
    ) -> None:
        if max_attempts < 1 or max_concurrency < 1:
            raise ValueError("max_attempts and max_concurrency must be at least 1")
        parts = urlsplit(base_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an absolute http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._origin = origin_of(self.base_url)
        self.tokens = tokens
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.deadline_seconds = deadline_seconds
        self.max_pages = max_pages
        self.pace_below = pace_below
        self.leak_per_second = leak_per_second
        self.reservation = reservation
        self.listing_deadline_seconds = listing_deadline_seconds
        self._sleep = sleep
        self._monotonic = monotonic
        self._jitter = jitter
        self._lane = _lane_for(tokens, max_concurrency)
        self._max_concurrency = max_concurrency
        # Paces from the shared state (and holds a shared slot per request) when given.
        self.budget = budget
        self.stats = RequestStats()

    def __repr__(self) -> str:
        return f"CanvasClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CanvasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the chokepoint ----------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            url = path_or_url
        else:
            url = self.base_url + "/" + path_or_url.lstrip("/")
        self._check_origin(url)
        return url

    def _check_origin(self, url: str) -> None:
        try:
            checked_url(url)  # a URL two parsers could read as two hosts is never followed
        except UnsafeUrl:
            raise UnsafeLink("Canvas gave an unreadable link; it was not followed.") from None
        if origin_of(url) != self._origin:
            raise UnsafeLink("Canvas pointed to another host; the link was not followed.")

    def _check_token_origin(self) -> None:
        """A stored token only ever goes back to the Canvas that issued it."""
        bound = self.tokens.origin
        if bound is not None and bound != self._origin:
            raise ReconnectRequired(
                "This Canvas connection was made with another Canvas address; connect again."
            )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        data: list[tuple[str, str]] | None = None,
        idempotent: bool | None = None,
        scope: str | None = None,
    ) -> requests.Response:
        """One logical call: retried, refreshed, paced. Returns the 2xx response."""
        method = method.upper()
        url = self._url(path)
        log_path = urlsplit(url).path
        retry_safe = method in IDEMPOTENT if idempotent is None else idempotent
        deadline = self._monotonic() + self.deadline_seconds
        attempt = 0
        refreshed = False
        fresh_token: str | None = None
        while True:
            attempt += 1
            self._pace(deadline)
            self._check_token_origin()
            token = fresh_token or self.tokens.access_token()
            fresh_token = None
            started = self._monotonic()
            try:
                response = self._send(method, url, token, params=params, data=data)
            except UnsafeLink:
                raise
            except requests.RequestException as exc:
                elapsed = self._monotonic() - started
                log.warning(
                    "canvas_http method=%s path=%s status=%s elapsed=%.3f attempt=%d",
                    method,
                    log_path,
                    type(exc).__name__,
                    elapsed,
                    attempt,
                )
                failure: CanvasError = CanvasUnavailable(
                    f"Canvas did not answer {method} {log_path} ({type(exc).__name__})."
                )
                # A connect timeout never reached Canvas, so even a POST may go again.
                transient = isinstance(exc, requests.Timeout | requests.ConnectionError)
                can_retry = retry_safe or isinstance(exc, requests.ConnectTimeout)
                if transient and can_retry and attempt < self.max_attempts:
                    self._backoff(attempt, deadline, failure)
                    continue
                raise failure from None
            status = response.status_code
            log.info(
                "canvas_http method=%s path=%s status=%d elapsed=%.3f attempt=%d",
                method,
                log_path,
                status,
                self._monotonic() - started,
                attempt,
            )
            self._note_remaining(response)
            if self._is_throttled(response):
                self.stats.add("throttled")
                failure = Throttled(
                    "Canvas is throttling requests; try again in a minute.", status=status
                )
                if attempt < self.max_attempts:
                    wait = max(self._pace_delay(), self._retry_after(response))
                    self._backoff(attempt, deadline, failure, at_least=wait)
                    continue
                raise failure
            if status == 401 and "www-authenticate" in response.headers:
                message = _error_message(self._json_or_none(response), "Invalid access token.")
                if not refreshed:
                    refreshed = True
                    self.stats.add("refreshes")
                    fresh_token = self.tokens.refresh(token)  # ReconnectRequired propagates
                    attempt -= 1  # the retry after a refresh is not a failed attempt
                    continue
                raise TokenInvalid(
                    f"Canvas rejected the token: {message}", reason=_token_problem(message)
                )
            if status >= 500:
                failure = CanvasUnavailable(
                    f"Canvas failed {method} {log_path}; try again later.", status=status
                )
                if retry_safe and attempt < self.max_attempts:
                    self._backoff(attempt, deadline, failure)
                    continue
                raise failure
            if status >= 400 or (300 <= status < 400):
                raise self._error_for(response, method, log_path, scope)
            return response

    def _send(
        self,
        method: str,
        url: str,
        token: str,
        *,
        params: Params | None,
        data: list[tuple[str, str]] | None,
    ) -> requests.Response:
        """One HTTP exchange, following same-origin GET redirects itself (token stays home)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for _ in range(MAX_REDIRECTS + 1):
            with self._lane.semaphore:
                if self.budget is not None:
                    self.budget.enter(
                        self._max_concurrency, self._monotonic() + self.deadline_seconds
                    )
                self.stats.add("requests")
                with self._lane.lock:
                    self._lane.in_flight += 1
                try:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        data=data,
                        headers=headers,
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
                finally:
                    with self._lane.lock:
                        self._lane.in_flight -= 1
                    if self.budget is not None:
                        self.budget.leave()
            location = response.headers.get("location")
            if not (response.is_redirect and location and method == "GET"):
                return response
            next_url = urljoin(url, location)
            self._check_origin(next_url)  # before any byte goes there
            url, params = next_url, None
        raise CanvasError("Canvas redirected too many times.", status=response.status_code)

    def _is_throttled(self, response: requests.Response) -> bool:
        if response.status_code == 429:
            return True
        if response.status_code != 403:
            return False
        if "json" in response.headers.get("content-type", "").lower():
            return False  # a JSON 403 is a permission answer (docs/canvas.md §4.1)
        return _THROTTLE_TEXT in response.text.lower()

    def _note_remaining(self, response: requests.Response) -> None:
        raw = response.headers.get("x-rate-limit-remaining")
        if raw is None:
            return
        try:
            remaining = float(raw)
            cost = float(response.headers.get("x-request-cost", "0") or 0)
        except ValueError:
            return
        with self._lane.lock:
            self._lane.remaining = remaining
            self._lane.observed_at = self._monotonic()
            self._lane.last_cost = max(cost, 0.0)
        if self.budget is not None:
            self.budget.note(remaining, max(cost, 0.0))

    def _retry_after(self, response: requests.Response) -> float:
        """Seconds from a numeric Retry-After (Canvas sends none; proxies in front may)."""
        try:
            seconds = float(response.headers.get("retry-after", ""))
        except ValueError:
            return 0.0
        return min(max(seconds, 0.0), self.backoff_cap)

    def _pace_delay(self) -> float:
        with self._lane.lock:
            lane = self._lane
            remaining, last_cost, in_flight = lane.remaining, lane.last_cost, lane.in_flight
            age = self._monotonic() - lane.observed_at
            in_flight += lane.waiting
        if self.budget is not None:
            remaining, age, last_cost, shared = self.budget.view()
            in_flight += shared - lane.in_flight  # ours are among the shared slots
        if remaining is None:
            return 0.0
        needed = self.reservation * (in_flight + 1) + last_cost
        threshold = min(self.pace_below, needed)
        drained = max(0.0, age) * self.leak_per_second
        estimate = max(remaining, 0.0) + drained
        if estimate >= threshold:
            return 0.0
        return min(self.backoff_cap, (threshold - estimate) / self.leak_per_second)

    def _pace(self, deadline: float) -> None:
        """Sleep until the bucket has room, counting the requests asleep here too: threads
        that wake together start together, so each must wait for room for all of them."""
        for _ in range(PACE_ROUNDS):
            delay = self._pace_delay()
            if delay <= PACE_SLACK:
                return
            left = max(0.0, deadline - self._monotonic())
            with self._lane.lock:
                self._lane.waiting += 1
            try:
                self._sleep(min(delay, left))
            finally:
                with self._lane.lock:
                    self._lane.waiting -= 1
            if delay >= left:
                return

    def _backoff(
        self, attempt: int, deadline: float, failure: CanvasError, at_least: float = 0.0
    ) -> None:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        delay = max(at_least, self._jitter(0.0, ceiling))
        if self._monotonic() + delay > deadline:
            raise failure
        self.stats.add("retries")
        self._sleep(delay)

    def _json_or_none(self, response: requests.Response) -> object:
        try:
            return self._json(response)
        except BadPayload:
            return response.text

    def _json(self, response: requests.Response) -> Any:
        text = response.text
        if text.startswith(_JSON_GUARD):
            text = text[len(_JSON_GUARD) :]
        try:
            return json.loads(text)
        except ValueError:
            raise BadPayload(
                f"Canvas answered {urlsplit(response.url or '').path or 'a request'} "
                "with something that is not JSON."
            ) from None

    def _error_for(
        self, response: requests.Response, method: str, path: str, scope: str | None
    ) -> CanvasError:
        status = response.status_code
        body = self._json_or_none(response)
        message = _error_message(body, f"Canvas refused {method} {path}.")
        if 300 <= status < 400:
            return CanvasError(f"Canvas redirected {method} {path} unexpectedly.", status=status)
        if status in (401, 403):
            # "Insufficient scopes": the developer key lacks the scope; else name the permission
            scoped = "scope" in message.lower()
            hint = scope if scoped else PERMISSION_HINTS.get(scope or "")
            return PermissionDenied(message, status=status, hint=hint)
        if status == 404:
            return NotFound(message, status=status)
        if status in (400, 409, 422):
            return ValidationFailed(message, status=status)
        return CanvasError(message, status=status)

    # --- pagination --------------------------------------------------------------------------

    def _pages(
        self, path: str, params: Params | None = None, *, scope: str | None = None
    ) -> Iterator[Any]:
        """Every page's JSON, following rel=next (else meta.pagination.next) to the end."""
        url = path
        query: Params | None = {**(params or {}), "per_page": PER_PAGE}
        seen: set[str] = set()
        deadline = self._monotonic() + self.listing_deadline_seconds
        for _ in range(self.max_pages):
            if self._monotonic() > deadline:
                raise CanvasUnavailable(
                    f"Canvas took too long to list {urlsplit(self._url(path)).path}."
                )
            response = self._request("GET", url, params=query, scope=scope)
            body = self._json(response)
            yield body
            next_url = self._next_url(response, body)
            if next_url is None or not body:
                return
            next_url = urljoin(response.url or self._url(url), next_url)
            self._check_origin(next_url)
            if next_url in seen:
                raise CanvasError("Canvas's pagination went round in a circle.")
            seen.add(next_url)
            url, query = next_url, None  # the link carries the whole query; it is opaque
        raise CanvasError(f"Canvas's pagination did not end after {self.max_pages} pages.")

    @staticmethod
    def _next_url(response: requests.Response, body: object) -> str | None:
        link = parse_link_header(response.headers.get("link")).get("next")
        if link:
            return link
        if isinstance(body, Mapping):
            meta = body.get("meta")
            pagination = meta.get("pagination") if isinstance(meta, Mapping) else None
            if isinstance(pagination, Mapping):
                fallback = pagination.get("next")
                if isinstance(fallback, str) and fallback:
                    return fallback
        return None

    def _list(
        self, path: str, params: Params | None = None, *, scope: str | None = None
    ) -> Iterator[Any]:
        for page in self._pages(path, params, scope=scope):
            if not isinstance(page, list):
                raise BadPayload(f"Canvas sent a non-list page for {path.split('?')[0]}.")
            yield from page

    def _get(self, path: str, params: Params | None = None, *, scope: str | None = None) -> Any:
        return self._json(self._request("GET", path, params=params, scope=scope))

    # --- reads -------------------------------------------------------------------------------

    def users_self(self) -> CanvasUser:
        return parse_user(self._get("/api/v1/users/self", scope="url:GET|/api/v1/users/:id"))

    def course(self, course_id: str) -> dict[str, object]:
        """The course with its term (``include[]=term``: the courses API's Term model, id and
        name; ``account_id`` is the (sub-)account the course belongs to, docs/canvas.md §11.2)
        and that account's name (``include[]=account``: Api::V1::Course#course_json nests the
        Account model for any reader of the course, canvas-lms lib/api/v1/course.rb)."""
        data = self._get(
            f"/api/v1/courses/{course_id}",
            {"include[]": ["term", "account"]},
            scope="url:GET|/api/v1/courses/:id",
        )
        if not isinstance(data, Mapping) or "id" not in data:
            raise BadPayload("Canvas sent an unexpected course.")
        given = data.get("term")
        term: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        nested = data.get("account")
        account: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
        return {
            "id": str(data["id"]),
            "name": str(data.get("name") or ""),
            "course_code": str(data.get("course_code") or ""),
            "time_zone": str(data.get("time_zone") or ""),
            "root_account_id": _opt_text_id(data.get("root_account_id")),
            "account_id": _opt_text_id(data.get("account_id")),
            "term_id": _opt_text_id(data.get("enrollment_term_id") or term.get("id")),
            "term_name": str(term.get("name") or "") or None,
            "account_name": str(account.get("name") or "") or None,
            "account_parent_id": _opt_text_id(account.get("parent_account_id")),
        }

    def root_account_features(self, account_id: str) -> frozenset[str] | None:
        """The features enabled on a root account, or None when this token may not read them
        (docs/canvas.md §6.9: the outcome flags are root-account features)."""
        try:
            data = self._get(
                f"/api/v1/accounts/{account_id}/features/enabled",
                scope="url:GET|/api/v1/accounts/:account_id/features/enabled",
            )
        except (PermissionDenied, NotFound):
            return None
        if not isinstance(data, list):
            return None
        return frozenset(name for name in data if isinstance(name, str))

    def outcome_groups(self, course_id: str) -> list[OutcomeGroup]:
        return [
            parse_outcome_group(g)
            for g in self._list(
                f"/api/v1/courses/{course_id}/outcome_groups",
                {"outcome_group_style": "full"},
                scope="url:GET|/api/v1/courses/:course_id/outcome_groups",
            )
        ]

    def root_outcome_group(self, course_id: str) -> OutcomeGroup:
        """The course's root group (Canvas answers with a same-host 302, followed here)."""
        return parse_outcome_group(
            self._get(
                f"/api/v1/courses/{course_id}/root_outcome_group",
                scope="url:GET|/api/v1/courses/:course_id/root_outcome_group",
            )
        )

    def outcome_links(self, course_id: str) -> list[OutcomeLink]:
        return [
            parse_outcome_link(link)
            for link in self._list(
                f"/api/v1/courses/{course_id}/outcome_group_links",
                {"outcome_style": "full", "outcome_group_style": "full"},
                scope="url:GET|/api/v1/courses/:course_id/outcome_group_links",
            )
        ]

    def course_proficiency(self, course_id: str) -> Proficiency | None:
        """The course's resolved mastery scale; None when Canvas has none (FF off: 404)."""
        try:
            data = self._get(
                f"/api/v1/courses/{course_id}/outcome_proficiency",
                scope="url:GET|/api/v1/courses/:course_id/outcome_proficiency",
            )
        except NotFound:
            return None
        return parse_proficiency(data)

    def account_courses(
        self, account_id: str, *, published: bool = True, student_types: bool = True
    ) -> list[AccountCourse]:
        """The account's and its sub-accounts' courses (docs/canvas.md §11.1): published ones
        with at least one student enrollment by default, in id order."""
        params: dict[str, Any] = {}
        if published:
            params["published"] = "true"
        if student_types:
            params["with_enrollments"] = "true"
            params["enrollment_type[]"] = ["student"]
        return [
            parse_account_course(c)
            for c in self._list(
                f"/api/v1/accounts/{account_id}/courses",
                params,
                scope="url:GET|/api/v1/accounts/:account_id/courses",
            )
        ]

    def sections(self, course_id: str) -> list[Section]:
        return [
            parse_section(s)
            for s in self._list(
                f"/api/v1/courses/{course_id}/sections",
                scope="url:GET|/api/v1/courses/:course_id/sections",
            )
        ]

    def grading_periods(self, course_id: str) -> list[GradingPeriod]:
        """The course's active grading periods in start-date order (docs/canvas.md §12): each
        page is an object, ``{"grading_periods": [...], "meta": {...}}``, paged by Link."""
        periods: list[GradingPeriod] = []
        for page in self._pages(
            f"/api/v1/courses/{course_id}/grading_periods",
            scope="url:GET|/api/v1/courses/:course_id/grading_periods",
        ):
            periods.extend(parse_grading_periods_page(page))
        return periods

    def student_enrollments(self, course_id: str) -> list[Enrollment]:
        """Active student enrollments with their user (one per section for multi-section)."""
        return self._enrollments(course_id, "StudentEnrollment")

    def observer_enrollments(self, course_id: str) -> list[Enrollment]:
        """Active observer enrollments: one per observed student, ``associated_user_id`` naming
        them (canvas-lms EnrollmentsApiController#index, docs/canvas.md §7.10)."""
        return self._enrollments(course_id, "ObserverEnrollment")

    def _enrollments(self, course_id: str, kind: str) -> list[Enrollment]:
        return [
            parse_enrollment(e)
            for e in self._list(
                f"/api/v1/courses/{course_id}/enrollments",
                {"type[]": [kind], "state[]": ["active"]},
                scope="url:GET|/api/v1/courses/:course_id/enrollments",
            )
        ]

    def outcome_results_pages(
        self,
        course_id: str,
        *,
        include_hidden: bool = False,
        user_ids: Iterable[str] | None = None,
        outcome_ids: Iterable[str] | None = None,
        include: Sequence[str] = (),
    ) -> Iterator[OutcomeResultsPage]:
        """Pages of results (with `linked` when `include` names what to link)."""
        params: dict[str, Any] = {}
        if include_hidden:
            params["include_hidden"] = "true"
        if outcome_ids is not None:
            params["outcome_ids[]"] = list(outcome_ids)
        if include:
            params["include[]"] = list(include)
        path = f"/api/v1/courses/{course_id}/outcome_results"
        scope = "url:GET|/api/v1/courses/:course_id/outcome_results"
        if user_ids is None:
            batches: list[dict[str, Any]] = [params]
        else:
            ids = list(user_ids)
            batches = [
                {**params, "user_ids[]": ids[i : i + USER_IDS_PER_REQUEST]}
                for i in range(0, len(ids), USER_IDS_PER_REQUEST)
            ]
        for batch in batches:
            for page in self._pages(path, batch, scope=scope):
                yield parse_outcome_results_page(page)

    def outcome_results(
        self,
        course_id: str,
        *,
        include_hidden: bool = False,
        user_ids: Iterable[str] | None = None,
        outcome_ids: Iterable[str] | None = None,
    ) -> Iterator[OutcomeResult]:
        """Every outcome result of the course, lazily, page by page."""
        for page in self.outcome_results_pages(
            course_id, include_hidden=include_hidden, user_ids=user_ids, outcome_ids=outcome_ids
        ):
            yield from page.results

    def outcome_rollups(
        self,
        course_id: str,
        *,
        user_ids: Iterable[str] | None = None,
        outcome_ids: Iterable[str] | None = None,
        section_id: str | None = None,
        exclude: Sequence[str] = (),
        sort_by: str | None = None,
        **extra: str,
    ) -> list[Rollup]:
        """Per-user rollups across ALL pages (Canvas pages by user). Duplicates per section
        are kept; `types.dedupe_rollups` collapses them."""
        params: dict[str, Any] = dict(extra)
        if user_ids is not None:
            params["user_ids[]"] = list(user_ids)
        if outcome_ids is not None:
            params["outcome_ids[]"] = list(outcome_ids)
        if section_id is not None:
            params["section_id"] = section_id
        if exclude:
            params["exclude[]"] = list(exclude)
        if sort_by is not None:
            params["sort_by"] = sort_by
        rollups: list[Rollup] = []
        for page in self._pages(
            f"/api/v1/courses/{course_id}/outcome_rollups",
            params,
            scope="url:GET|/api/v1/courses/:course_id/outcome_rollups",
        ):
            if not isinstance(page, Mapping) or not isinstance(page.get("rollups"), list):
                raise BadPayload("Canvas sent a rollups page without rollups.")
            rollups.extend(parse_rollup(r) for r in page["rollups"])
        return rollups

    def assignments(self, course_id: str) -> list[Assignment]:
        return [
            parse_assignment(a)
            for a in self._list(
                f"/api/v1/courses/{course_id}/assignments",
                scope="url:GET|/api/v1/courses/:course_id/assignments",
            )
        ]

    def assignment(self, course_id: str, assignment_id: str) -> Assignment:
        return parse_assignment(
            self._get(
                f"/api/v1/courses/{course_id}/assignments/{assignment_id}",
                scope="url:GET|/api/v1/courses/:course_id/assignments/:id",
            )
        )

    def submission(self, course_id: str, assignment_id: str, user_id: str) -> Submission:
        """A student's submission with its current rubric assessment (read before/after a
        write: the assessment is replaced wholesale, so send back every row; docs/canvas.md
        §3.5)."""
        return parse_submission(
            self._get(
                f"/api/v1/courses/{course_id}/assignments/{assignment_id}/submissions/{user_id}",
                {"include[]": ["rubric_assessment"]},
                scope="url:GET|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
            )
        )

    def progress(self, progress_id: str) -> Progress:
        return parse_progress(
            self._get(f"/api/v1/progress/{progress_id}", scope="url:GET|/api/v1/progress/:id")
        )

    def wait_for_progress(
        self,
        progress: Progress,
        *,
        max_wait: float = 120.0,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> Progress:
        """Poll a Progress until completed/failed, backing off 1, 2, 4... s (docs/canvas.md §4.4).

        Returns the last Progress seen, finished or not, once `max_wait` seconds are spent.
        """
        deadline = self._monotonic() + max_wait
        delay = first_delay
        while not progress.done:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                break
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)
            progress = self.progress(progress.id)
        return progress

    # --- writes ------------------------------------------------------------------------------

    def create_assignment(
        self,
        course_id: str,
        name: str,
        *,
        points_possible: float = 0.0,
        grading_type: str = "points",
        submission_types: Sequence[str] = ("none",),
        omit_from_final_grade: bool = True,
        published: bool = True,
        assignment_group_id: str | None = None,
        description: str | None = None,
    ) -> Assignment:
        """A carrier assignment (docs/canvas.md §3.1). POST: never retried after it may have run."""
        fields: dict[str, object] = {
            "name": name,
            "description": description,
            "submission_types": list(submission_types),
            "grading_type": grading_type,
            "points_possible": points_possible,
            "omit_from_final_grade": omit_from_final_grade,
            "published": published,
            "assignment_group_id": assignment_group_id,
        }
        response = self._request(
            "POST",
            f"/api/v1/courses/{course_id}/assignments",
            data=_with_empty_arrays(form_encode({"assignment": fields})),
            scope="url:POST|/api/v1/courses/:course_id/assignments",
        )
        return parse_assignment(self._json(response))

    def update_assignment(
        self, course_id: str, assignment_id: str, fields: Mapping[str, object]
    ) -> Assignment:
        """Change an existing assignment (a carrier a teacher unpublished, or one to make
        ``not_graded``). PUT: idempotent, so retried."""
        response = self._request(
            "PUT",
            f"/api/v1/courses/{course_id}/assignments/{assignment_id}",
            data=_with_empty_arrays(form_encode({"assignment": dict(fields)})),
            scope="url:PUT|/api/v1/courses/:course_id/assignments/:id",
        )
        return parse_assignment(self._json(response))

    def _rubric_body(
        self,
        assignment_id: str,
        title: str,
        criteria: Sequence[CriterionSpec],
        free_form_comments: bool,
    ) -> dict[str, object]:
        if not criteria:
            raise ValueError("a rubric needs at least one criterion")
        return {
            "rubric": {
                "title": title,
                "free_form_criterion_comments": free_form_comments,
                "criteria": _criteria_form(criteria),
            },
            # Never hide_outcome_results: hidden results never reach the LMGB (docs/canvas.md §3.2).
            "rubric_association": {
                "association_type": "Assignment",
                "association_id": assignment_id,
                "purpose": "grading",
                "use_for_grading": False,
                "hide_score_total": False,
            },
        }

    def _rubric_response(self, response: requests.Response) -> RubricCreated:
        body = self._json(response)
        if isinstance(body, Mapping) and body.get("error") is True:
            # Canvas reports rubric validation failures as HTTP 200 (docs/canvas.md §3.2).
            raise ValidationFailed(
                _error_message(body, "Canvas refused the rubric."), status=response.status_code
            )
        return parse_rubric_created(body)

    def create_rubric(
        self,
        course_id: str,
        assignment_id: str,
        title: str,
        criteria: Sequence[CriterionSpec],
        *,
        free_form_comments: bool = True,
    ) -> RubricCreated:
        """A rubric with outcome-linked rows as the assignment's grading association.

        Only for an assignment WITHOUT one: a second grading association destroys the first
        one's outcome results (docs/canvas.md §3.6); use update_rubric to change an existing rubric.
        """
        body = self._rubric_body(assignment_id, title, criteria, free_form_comments)
        response = self._request(
            "POST",
            f"/api/v1/courses/{course_id}/rubrics",
            data=form_encode(body),
            scope="url:POST|/api/v1/courses/:course_id/rubrics",
        )
        return self._rubric_response(response)

    def update_rubric(
        self,
        course_id: str,
        rubric_id: str,
        association_id: str | None,
        assignment_id: str,
        title: str,
        criteria: Sequence[CriterionSpec],
        *,
        free_form_comments: bool = True,
    ) -> RubricCreated:
        """Update in place through the existing association. Canvas may answer with a NEW
        rubric (new ids) when the old one is used elsewhere: read the returned ids.

        Without ``association_id`` Canvas finds the rubric's grading association through the
        assignment named in ``rubric_association`` (``RubricAssociation.generate`` ->
        ``Rubric#associate_with``) and answers with it: how the tool learns an association id
        it never recorded (docs/canvas.md §3.16)."""
        body = self._rubric_body(assignment_id, title, criteria, free_form_comments)
        if association_id is not None:
            body["rubric_association_id"] = association_id
        response = self._request(
            "PUT",
            f"/api/v1/courses/{course_id}/rubrics/{rubric_id}",
            data=form_encode(body),
            scope="url:PUT|/api/v1/courses/:course_id/rubrics/:id",
        )
        return self._rubric_response(response)

    def rubric_associations(self, course_id: str, rubric_id: str) -> tuple[RubricAssociation, ...]:
        """The rubric's active associations (``GET /rubrics/:id?include[]=associations``)."""
        return parse_rubric_associations(
            self._get(
                f"/api/v1/courses/{course_id}/rubrics/{rubric_id}",
                {"include[]": ["associations"]},
                scope="url:GET|/api/v1/courses/:course_id/rubrics/:id",
            )
        )

    def assess_submission(
        self,
        course_id: str,
        assignment_id: str,
        user_id: str,
        rubric_assessment: Mapping[str, Mapping[str, object]],
    ) -> Submission:
        """Replace the student's rubric assessment with exactly these rows (send them all:
        omitted rows lose their rating, docs/canvas.md §3.5). PUT: idempotent, so retried."""
        if not rubric_assessment:
            raise ValueError("rubric_assessment needs at least one criterion row")
        response = self._request(
            "PUT",
            f"/api/v1/courses/{course_id}/assignments/{assignment_id}/submissions/{user_id}",
            data=form_encode({"rubric_assessment": rubric_assessment}),
            scope="url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
        )
        return parse_submission(self._json(response))

    def update_grades(
        self,
        course_id: str,
        assignment_id: str,
        grade_data: Mapping[str, Mapping[str, Mapping[str, object]]],
    ) -> Progress:
        """Bulk grading job: {student_id: {"rubric_assessment": {criterion_id: {...}}}}.

        Returns the Progress to poll; `completed` does not prove the outcome results exist
        yet (docs/canvas.md §3.4). POST: not retried once it may have reached Canvas.
        """
        if not grade_data:
            raise ValueError("grade_data needs at least one student")
        response = self._request(
            "POST",
            f"/api/v1/courses/{course_id}/assignments/{assignment_id}/submissions/update_grades",
            data=form_encode({"grade_data": grade_data}),
            scope="url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades",
        )
        return parse_progress(self._json(response))


def _with_empty_arrays(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Rails array params are `key[]`, not index-keyed (assignment[submission_types][])."""
    return [(re.sub(r"\[\d+\]$", "[]", key), value) for key, value in pairs]


def _opt_text_id(value: object) -> str | None:
    """A Canvas id as text (ids arrive as numbers or strings), None when absent."""
    return str(value) if isinstance(value, int | str) and value != "" else None
