"""One delivering worker per course: a row lease that expires, so a dead worker's course is
taken over once its lease runs out (and never while a live worker renews it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from lti_app.db import session_scope
from lti_app.models.writeback import WritebackLease


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _now() -> datetime:
    return datetime.now(UTC)


def acquire(app: Flask, platform_id: int, course_id: str, holder: str, seconds: int) -> bool:
    """Take the course's lease if it is free or expired; True when this holder has it."""
    now = _now()
    until = now + timedelta(seconds=seconds)
    with session_scope(app) as db:
        # An expired (or own) lease is taken over by an atomic conditional UPDATE.
        taken = _rowcount(
            db.execute(
                update(WritebackLease)
                .where(
                    WritebackLease.platform_id == platform_id,
                    WritebackLease.canvas_course_id == course_id,
                    (WritebackLease.expires_at < now) | (WritebackLease.holder == holder),
                )
                .values(holder=holder, expires_at=until)
            )
        )
        if taken:
            return True
    try:
        with session_scope(app) as db:
            db.add(
                WritebackLease(
                    platform_id=platform_id,
                    canvas_course_id=course_id,
                    holder=holder,
                    expires_at=until,
                )
            )
        return True
    except IntegrityError:
        return False  # another worker holds a live lease


def renew(app: Flask, platform_id: int, course_id: str, holder: str, seconds: int) -> bool:
    """Extend the lease; False when it was lost (expired and taken over): stop writing."""
    with session_scope(app) as db:
        return bool(
            _rowcount(
                db.execute(
                    update(WritebackLease)
                    .where(
                        WritebackLease.platform_id == platform_id,
                        WritebackLease.canvas_course_id == course_id,
                        WritebackLease.holder == holder,
                    )
                    .values(expires_at=_now() + timedelta(seconds=seconds))
                )
            )
        )


def release(app: Flask, platform_id: int, course_id: str, holder: str) -> None:
    with session_scope(app) as db:
        db.execute(
            delete(WritebackLease).where(
                WritebackLease.platform_id == platform_id,
                WritebackLease.canvas_course_id == course_id,
                WritebackLease.holder == holder,
            )
        )
