"""Canvas pagination (docs/canvas.md §4.6): numbered pages and opaque bookmarks, Link headers.

``per_page`` defaults to 10 and is clamped to 100 silently. Links use the sandbox's own
``base_url``, keep every other query parameter and drop ``access_token``. Bookmark collections
start at ``page=first``, continue with ``page=bookmark:<opaque>`` (the last row's sort key)
and have no ``last``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from canvas_sandbox.errors import not_found

T = TypeVar("T")

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    links: dict[str, str]  # rel -> absolute URL, in Link-header order
    meta: dict[str, Any] = field(default_factory=dict)  # numbered pages only

    def link_header(self) -> str:
        return ",".join(f'<{url}>; rel="{rel}"' for rel, url in self.links.items())


def per_page(args: MultiDict[str, str]) -> int:
    try:
        value = int(args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        value = DEFAULT_PER_PAGE
    if value < 1:
        value = DEFAULT_PER_PAGE
    return min(value, MAX_PER_PAGE)


def _url(base_url: str, path: str, args: MultiDict[str, str], page: str, size: int) -> str:
    pairs = [
        (k, v) for k, v in args.items(multi=True) if k not in ("page", "per_page", "access_token")
    ]
    pairs += [("page", page), ("per_page", str(size))]
    return f"{base_url}{path}?{urlencode(pairs)}"


def numbered(
    items: Sequence[T],
    args: MultiDict[str, str],
    base_url: str,
    path: str,
    *,
    count_total: bool = True,
) -> Page[T]:
    """``count_total=False``: like Canvas's ``Api.paginate(..., total_entries: nil)``, no
    ``last`` link (and no count): the client can only follow ``next``."""
    size = per_page(args)
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    count = len(items)
    last = max(1, math.ceil(count / size))
    chunk = list(items[(page - 1) * size : page * size])

    def link(n: int) -> str:
        return _url(base_url, path, args, str(n), size)

    links = {"current": link(page)}
    if page < last:
        links["next"] = link(page + 1)
    if page > 1:
        links["prev"] = link(page - 1)
    links["first"] = link(1)
    if not count_total:
        return Page(chunk, links, {"per_page": size, "page": page, **links})
    links["last"] = link(last)
    meta = {
        "per_page": size,
        "page": page,
        "count": count,
        "page_count": last,
        **links,
        "template": _url(base_url, path, args, "{page}", size).replace("%7Bpage%7D", "{page}"),
    }
    return Page(chunk, links, meta)


def _encode(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return "bookmark:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(page: str) -> list[Any] | None:
    """The sort key of the last item already seen; None for the first page."""
    if page == "first":
        return None
    if not page.startswith("bookmark:"):
        raise not_found()
    blob = page.removeprefix("bookmark:")
    try:
        value = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise not_found() from None
    if not (isinstance(value, list) and value):
        raise not_found()
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise not_found()
    return value


def bookmarked(
    items: Sequence[T],
    args: MultiDict[str, str],
    base_url: str,
    path: str,
    key: Callable[[T], Sequence[str | int]],
) -> Page[T]:
    """Keyset pagination like Canvas's BookmarkedCollection.

    ``items`` must be sorted by ``key``. A bookmark holds the key of the last item served, so
    rows inserted or removed before it do not shift later pages.
    """
    size = per_page(args)
    after = _decode(args.get("page", "first"))
    start = 0
    if after is not None:
        try:
            start = bisect.bisect_right(items, after, key=lambda item: list(key(item)))
        except TypeError:  # a key of the wrong shape
            raise not_found() from None
    chunk = list(items[start : start + size])
    current = args.get("page", "first")
    links = {"current": _url(base_url, path, args, current, size)}
    if start + size < len(items):
        links["next"] = _url(base_url, path, args, _encode(key(chunk[-1])), size)
    links["first"] = _url(base_url, path, args, "first", size)
    return Page(chunk, links)
