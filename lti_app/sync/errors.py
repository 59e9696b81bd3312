"""Why a sync failed, in words a teacher can act on (never a token, never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass

from lti_app.canvas.client import errors as canvas
from lti_app.canvas.connection import MissingApiKey
from lti_app.translatable import _l

RECONNECT = "reconnect"
PERMISSION = "permission"
UNAVAILABLE = "canvas_unavailable"
THROTTLED = "throttled"
NOT_FOUND = "not_found"
CANVAS = "canvas_error"
INTERRUPTED = "interrupted"
INTERNAL = "internal"
NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


def classify(exc: BaseException) -> Failure:
    """The failure's code and its message (a ``Text``: English here, the reader's language on
    the page)."""
    if isinstance(exc, canvas.ReconnectRequired | canvas.TokenInvalid):
        return Failure(
            RECONNECT,
            _l(
                "Canvas no longer accepts this connection (the token expired or was revoked). "
                "Reconnect to Canvas, then sync again."
            ),
        )
    if isinstance(exc, canvas.PermissionDenied):
        if exc.hint:
            return Failure(
                PERMISSION,
                _l(
                    "Canvas refused access to this course's outcome data. Missing: %(hint)s. A "
                    "teacher of the course (with permission to view all grades) must connect, "
                    "or your Canvas admin must grant the permission or scope.",
                    hint=exc.hint,
                ),
            )
        return Failure(
            PERMISSION,
            _l(
                "Canvas refused access to this course's outcome data. A teacher of the course "
                "(with permission to view all grades) must connect, or your Canvas admin must "
                "grant the permission or scope."
            ),
        )
    if isinstance(exc, canvas.Throttled):
        return Failure(
            THROTTLED,
            _l("Canvas asked the tool to slow down and kept refusing. Try again later."),
        )
    if isinstance(exc, canvas.CanvasUnavailable):
        return Failure(
            UNAVAILABLE,
            _l(
                "Canvas did not answer reliably (it may be down or very slow). Try again "
                "later; the data from the last complete sync is still in use."
            ),
        )
    if isinstance(exc, canvas.NotFound):
        return Failure(NOT_FOUND, _l("Canvas does not know this course (or it is not visible)."))
    if isinstance(exc, canvas.UnsafeLink):
        return Failure(CANVAS, _l("Canvas pointed the tool to another site; the sync was stopped."))
    if isinstance(exc, MissingApiKey):
        return Failure(NOT_CONFIGURED, str(exc))
    if isinstance(exc, canvas.CanvasError):
        return Failure(CANVAS, _l("Canvas answered unexpectedly: %(detail)s", detail=exc.message))
    return Failure(INTERNAL, _l("The sync failed because of an error in the tool; it was logged."))
