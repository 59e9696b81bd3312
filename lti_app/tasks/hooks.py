"""Work that other domains add to the end of every completed course sync.

The sync (``lti_app.sync.service``) calls :func:`course_synced` inside the transaction that
applies the course, so whatever a hook writes (the district dashboard's aggregates) changes
together with the course data. Each hook runs in a savepoint: a hook that fails is logged and
undone, and the sync itself still succeeds (its data is what matters; the hook's next chance
is the next sync). Registering here keeps the layers apart: the sync knows no hook's domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

log = logging.getLogger("lti_app.tasks")

EXTENSION = "mp_after_course_sync"
#: (session, platform id, canvas_course primary key) -> None
CourseSyncedHook = Callable[[Session, int, int], None]


def on_course_synced(app: Flask, hook: CourseSyncedHook) -> None:
    hooks: list[CourseSyncedHook] = app.extensions.setdefault(EXTENSION, [])
    if hook not in hooks:
        hooks.append(hook)


def course_synced(app: Flask, db: Session, platform_id: int, course_pk: int) -> None:
    hooks: list[CourseSyncedHook] = app.extensions.get(EXTENSION, [])
    for hook in hooks:
        try:
            with db.begin_nested():
                hook(db, platform_id, course_pk)
        except Exception:
            log.exception(
                "after_sync_hook_failed hook=%s course_pk=%d",
                getattr(hook, "__name__", hook),
                course_pk,
            )
