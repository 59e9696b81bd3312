"""URL helpers shared by the launch code and the views."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL as browsers serialize an origin (lower-cased, default port
    dropped, no user info): what CSP frame-ancestors and postMessage compare, and the identity
    of the Canvas that a token or secret belongs to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
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
