"""Mastery Pathways: an LTI 1.3 tool for competency-based mastery inside Canvas."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from lti_app import db, services
from lti_app.settings import Settings, load_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("lti_app").setLevel(settings.log_level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def create_app(overrides: dict[str, object] | None = None) -> Flask:
    """Build the app; settings come from the environment, `overrides` (tests) win."""
    settings = load_settings(overrides)
    _configure_logging(settings)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        MAX_FORM_MEMORY_SIZE=settings.max_content_length,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="None",
        SESSION_COOKIE_PARTITIONED=True,
        TESTING=settings.app_env == "testing",
    )
    if settings.proxy_fix_hops:
        hops = settings.proxy_fix_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    if settings.database_url.startswith("sqlite:///"):
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    db.init_app(app, settings.database_url)
    services.install(app, services.build(settings))

    from lti_app import cli
    from lti_app.district import setup as district_setup
    from lti_app.evidence import views as evidence_views
    from lti_app.grading import report_views
    from lti_app.grading import views as grading_views
    from lti_app.lti import views as lti_views
    from lti_app.maintenance import schedule as maintenance_schedule
    from lti_app.pathways import student_views
    from lti_app.pathways import views as pathway_views
    from lti_app.policies import views as policy_views
    from lti_app.sync import background as sync_background
    from lti_app.sync import views as sync_views
    from lti_app.web import (
        home,
        i18n,
        input_guard,
        local_time,
        security,
        session_views,
        teacher_status,
        text_filters,
    )
    from lti_app.writeback import dispatch
    from lti_app.writeback import views as writeback_views

    input_guard.init_app(app)  # before the blueprints: their routes use its converter
    security.init_app(app)
    i18n.init_app(app)
    text_filters.init_app(app)
    local_time.init_app(app)
    app.register_blueprint(lti_views.bp)
    app.register_blueprint(session_views.bp)
    app.register_blueprint(sync_views.bp)
    app.register_blueprint(policy_views.bp)
    app.register_blueprint(grading_views.bp)
    app.register_blueprint(report_views.bp)
    app.register_blueprint(pathway_views.bp)
    app.register_blueprint(student_views.bp)
    app.register_blueprint(student_views.family_bp)
    app.register_blueprint(writeback_views.bp)
    app.register_blueprint(evidence_views.bp)
    home.register_landing_status(app, teacher_status.teacher_status)
    home.register_landing_page(app, "student", student_views.landing_page)
    home.register_landing_page(app, "observer", student_views.family_landing)
    dispatch.init_app(app)
    sync_background.init_app(app)
    maintenance_schedule.init_app(app)
    district_setup.init_app(app)
    cli.register(app)
    return app
