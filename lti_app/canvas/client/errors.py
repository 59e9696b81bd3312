"""Typed Canvas errors. Every message is safe to show a user: no token, no query string.

Callers branch on the class, not on text: TokenInvalid/ReconnectRequired mean "connect again",
PermissionDenied names the missing permission or scope when Canvas says, Throttled and
CanvasUnavailable mean "try again later" (bounded retries already ran).
"""

from __future__ import annotations

from typing import Literal

TokenProblem = Literal["expired", "revoked", "invalid"]


class CanvasError(Exception):
    """Base class. `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message if self.status is None else f"{self.message} (HTTP {self.status})"


class TokenInvalid(CanvasError):
    """401 with WWW-Authenticate: the token itself was rejected (and a refresh did not help)."""

    def __init__(self, message: str, *, reason: TokenProblem, status: int | None = 401) -> None:
        super().__init__(message, status=status)
        self.reason: TokenProblem = reason


class ReconnectRequired(CanvasError):
    """No usable token can be obtained (dead or absent refresh token): the user must reconnect."""


class PermissionDenied(CanvasError):
    """The token is fine but lacks a permission or scope; `hint` names it when known."""

    def __init__(self, message: str, *, status: int | None, hint: str | None = None) -> None:
        super().__init__(message, status=status)
        self.hint = hint


class NotFound(CanvasError):
    """404: the object does not exist (or is invisible to this user)."""


class ValidationFailed(CanvasError):
    """400/422, or a 200 that carries {"error": true} (rubric saves)."""


class Throttled(CanvasError):
    """Canvas kept throttling after the bounded retries."""


class CanvasUnavailable(CanvasError):
    """5xx, timeouts or connection errors after the bounded retries, or the deadline passed."""


class UnsafeLink(CanvasError):
    """Canvas pointed (pagination or redirect) at another origin; it is never followed."""


class BadPayload(CanvasError):
    """A response did not have the shape Canvas documents (parse failure)."""
