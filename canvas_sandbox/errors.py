"""Exceptions the model functions raise; the REST layer turns them into Canvas error bodies."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP answer with an exact body (Canvas's error shapes vary per endpoint,
    docs/canvas.md §4.10)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class ValidationFailed(Exception):
    """A model validation error (``ActiveRecord::RecordInvalid`` in Canvas)."""

    def __init__(self, attribute: str, message: str, type_: str = "invalid") -> None:
        super().__init__(message)
        self.attribute = attribute
        self.message = message
        self.type = type_


def not_found() -> ApiError:
    return ApiError(404, {"errors": [{"message": "The specified resource does not exist."}]})


def unauthorized() -> ApiError:
    return ApiError(
        401,
        {
            "errors": [{"message": "user not authorized to perform that action"}],
            "status": "unauthorized",
        },
    )


def bad_request(message: str, status: int = 400) -> ApiError:
    return ApiError(status, {"errors": [{"message": message}]})


def validation_body(err: ValidationFailed) -> dict[str, Any]:
    return {
        "errors": {
            err.attribute: [{"attribute": err.attribute, "type": err.type, "message": err.message}]
        }
    }
