"""Typed access to what `responses` recorded about a request."""

from __future__ import annotations

from typing import Any, cast

from requests import PreparedRequest


def url_of(request: PreparedRequest) -> str:
    """The URL a recorded request went to (always set once the request was prepared)."""
    assert request.url is not None
    return request.url


def send_kwargs(request: PreparedRequest) -> dict[str, Any]:
    """The keyword arguments `send` got (timeout, ...): `responses` stores them on the request
    as `req_kwargs` at run time; requests' types do not know that attribute."""
    return cast(dict[str, Any], vars(request)["req_kwargs"])
