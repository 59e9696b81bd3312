"""URL helpers shared by the launch code and the views."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit


class UnsafeUrl(ValueError):
    """A URL that two parsers could read as two different hosts, or that is not http(s)."""


# Backslashes, whitespace, control characters and direction controls: urlsplit (which the
# checks use) and urllib3 (which requests connects with) read "https://evil\\@canvas/" as
# two different hosts, and urlsplit silently drops CR, LF and tab.
_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f-\x9f\\\u202a-\u202e\u2066-\u2069]")


def checked_url(url: str) -> SplitResult:
    """An absolute http(s) URL that every parser reads alike, parsed; UnsafeUrl otherwise.

    Refused: the characters above anywhere, user info or a percent sign in the authority,
    no host, and a port that is not a number from 1 to 65535. Every URL whose host is checked
    before a request (a token, a secret or an SSRF rule depends on it) goes through here.
    """
    if _AMBIGUOUS.search(url):
        raise UnsafeUrl("the address contains a backslash, a space or a control character")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise UnsafeUrl("the address cannot be read") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("the address is not an absolute http(s) address")
    if "@" in parts.netloc or "%" in parts.netloc:
        raise UnsafeUrl("the address names a user or an encoded host")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl("the address has an invalid port") from None
    if port == 0:
        raise UnsafeUrl("the address has an invalid port")
    return parts


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL as browsers serialize an origin (lower-cased, default port
    dropped, no user info): what CSP frame-ancestors and postMessage compare, and the identity
    of the Canvas that a token or secret belongs to. An unreadable URL has an origin equal to
    no real one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "invalid:"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return f"invalid:{scheme}://{host}"
    if port is None or port == {"http": 80, "https": 443}.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def resolves_to_public_addresses(url: str) -> bool:
    """False when the host is (or resolves to) a loopback, private, link-local or reserved
    address: the tool must not be steered into its own network by a URL someone pasted."""
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return False
    return True
