"""What every domain shares about a request: the errors a service raises for a person to read.

A service raises a ``DomainError`` subclass with a message for the person and an HTTP status;
each blueprint registers one handler that renders it for its audience, so views do not catch
them one by one.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(DomainError):
    """No such record in the actor's reach (also for other students', courses', tenants')."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The record is not in a state that allows the action (e.g. already scored)."""

    status = 409


class Invalid(DomainError):
    """Bad input: ``errors`` maps each field to a message for the person who typed it."""

    status = 400


class NotSynced(DomainError):
    """The course has not been read from Canvas yet."""

    status = 409
