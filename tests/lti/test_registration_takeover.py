"""The district takeover through an unauthenticated Dynamic Registration, replayed step by step
(security review, December 2026), on SQLite and PostgreSQL:

1. an attacker serves an OpenID configuration claiming the district's issuer, with every
   endpoint on their own host, and a registration endpoint answering the district's client_id;
2. POST /lti/register with that configuration used to overwrite the district's platform row;
3. launches signed with the attacker's key were then accepted as any teacher or admin;
4. *Sync now* sent the teacher's token, and on a 401 the refresh token and the district's API
   key secret, to the attacker's "Canvas".

Now it stops at step 2 with nothing changed, step 3 is refused, and even with the row changed
behind the tool's back (step 4) no token or secret leaves the Canvas that issued it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from lti_app.canvas import connection
from lti_app.canvas.client.tokens import StoredToken
from lti_app.db import session_scope
from lti_app.lti.tool_conf import DbToolConf
from lti_app.models.canvas import SyncRun
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Deployment, Platform
from lti_app.services import services
from lti_app.sync.background import start_user_sync
from lti_app.tasks.runner import runner
from tests.conftest import LtiBrowser, set_api_key
from tests.http_calls import url_of
from tests.lti.test_dynamic_registration import REG_TOKEN, openid_configuration
from tests.lti_platform import ADMIN, INSTRUCTOR, TOOL_BASE, FakePlatform

ATTACKER = "https://attacker.example"
ATTACKER_CONFIG = ATTACKER + "/api/lti/security/openid-configuration"
ATTACKER_REGISTRATION = ATTACKER + "/api/lti/registrations"
ACCESS = "1~TeacherAccessTokenValue000111"
REFRESH = "1~TeacherRefreshTokenValue222333"
API_SECRET = "district-api-key-secret-444555"
TEACHER = "812"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def district(app: Flask, platform: FakePlatform) -> int:
    """The district as installed: API key stored, a teacher connected (token expiring)."""
    set_api_key(app, platform, "170000000000001", API_SECRET)
    with app.app_context(), session_scope(app) as db:
        row = db.scalars(select(Platform)).one()
        token = StoredToken(
            ACCESS, REFRESH, datetime.now(UTC) - timedelta(minutes=1), TEACHER, platform.canvas_url
        )
        connection.save_token(db, services().keyring, row.id, token)
        return row.id


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of the tenancy and token tables, as text."""
    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        return {
            table: sorted(
                json.dumps([str(v) for v in r])
                for r in conn.execute(text(f"select * from {table}")).all()  # noqa: S608
            )
            for table in ("platform", "deployment", "canvas_api_token", "launch_session")
        }


def attacker_calls(mock: responses.RequestsMock) -> list[Any]:
    return [c for c in mock.calls if url_of(c.request).startswith(ATTACKER)]


def serve_attacker(mock: responses.RequestsMock, platform: FakePlatform, issuer: str) -> None:
    mock.get(
        ATTACKER_CONFIG,
        json=openid_configuration(
            issuer=issuer,
            authorization_endpoint=ATTACKER + "/api/lti/authorize_redirect",
            registration_endpoint=ATTACKER_REGISTRATION,
            jwks_uri=ATTACKER + "/api/lti/security/jwks",
            token_endpoint=ATTACKER + "/login/oauth2/token",
        ),
    )
    mock.post(ATTACKER_REGISTRATION, json={"client_id": platform.client_id})
    for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
        mock.add(method, re.compile(re.escape(ATTACKER) + r"/(?!api/lti/security/openid).*"))


def register(app: Flask, config_url: str) -> Any:
    return app.test_client().post(
        "/lti/register",
        data={"openid_configuration": config_url, "registration_token": REG_TOKEN},
        base_url=TOOL_BASE,
    )


def test_step_2_a_configuration_claiming_the_districts_issuer_changes_nothing(
    app: Flask, platform: FakePlatform, district: int, jwks: responses.RequestsMock
) -> None:
    serve_attacker(jwks, platform, issuer=platform.issuer)
    before = snapshot(app)
    for response in (
        app.test_client().get(
            "/lti/register",
            query_string={"openid_configuration": ATTACKER_CONFIG, "registration_token": "x"},
            base_url=TOOL_BASE,
        ),
        register(app, ATTACKER_CONFIG),
    ):
        assert response.status_code == 400
        assert "issuer on another address" in response.get_data(as_text=True)
    assert snapshot(app) == before
    # Refused before the registration request: nothing was posted anywhere.
    assert [c.request.method for c in attacker_calls(jwks)] == ["GET", "GET"]


def test_step_2_the_districts_own_host_answering_its_client_id_changes_nothing(
    app: Flask, platform: FakePlatform, district: int, jwks: responses.RequestsMock
) -> None:
    """Even a configuration the issuer's host serves cannot change an installed platform."""
    config_url = platform.issuer + "/api/lti/security/openid-configuration"
    registration = platform.canvas_url + "/api/lti/registrations"
    jwks.get(
        config_url,
        json=openid_configuration(
            issuer=platform.issuer,
            authorization_endpoint=ATTACKER + "/api/lti/authorize_redirect",
            registration_endpoint=registration,
            jwks_uri=ATTACKER + "/api/lti/security/jwks",
            token_endpoint=ATTACKER + "/login/oauth2/token",
        ),
    )
    jwks.post(registration, json={"client_id": platform.client_id})
    before = snapshot(app)
    response = register(app, config_url)
    assert response.status_code == 409
    assert "installed already" in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_step_2_an_attackers_own_issuer_is_a_tenant_of_its_own(
    app: Flask, platform: FakePlatform, district: int, jwks: responses.RequestsMock
) -> None:
    serve_attacker(jwks, platform, issuer=ATTACKER)
    before = snapshot(app)
    assert register(app, ATTACKER_CONFIG).status_code == 200
    after = snapshot(app)
    assert set(before["platform"]) <= set(after["platform"])  # the district's row as it was
    assert after["canvas_api_token"] == before["canvas_api_token"]
    with session_scope(app) as db:
        issuers = sorted(p.issuer for p in db.scalars(select(Platform)))
    assert issuers == sorted([platform.issuer, ATTACKER])


@pytest.mark.parametrize("roles", [[INSTRUCTOR], [ADMIN]])
def test_step_3_launches_signed_by_another_key_are_refused(
    app: Flask,
    platform: FakePlatform,
    district: int,
    jwks: responses.RequestsMock,
    roles: list[str],
) -> None:
    serve_attacker(jwks, platform, issuer=platform.issuer)
    register(app, ATTACKER_CONFIG)
    forged = FakePlatform(
        deployment_id="66:attacker-deployment", key_name="attacker", kid="attacker-kid"
    )
    before = snapshot(app)
    response = LtiBrowser(app.test_client(), forged).launch(roles=roles)
    assert 400 <= response.status_code < 500
    after = snapshot(app)
    assert after["launch_session"] == before["launch_session"] == []
    assert after["deployment"] == before["deployment"]


def test_step_4_a_moved_platform_row_gets_no_token_and_no_secret(
    app: Flask, platform: FakePlatform, district: int, jwks: responses.RequestsMock
) -> None:
    serve_attacker(jwks, platform, issuer=platform.issuer)
    # The row changed behind the tool's back (as the old registration did, or a bad edit).
    with session_scope(app) as db:
        db.execute(
            update(Platform).values(
                canvas_url=ATTACKER,
                jwks_url=ATTACKER + "/api/lti/security/jwks",
                auth_token_url=ATTACKER + "/login/oauth2/token",
            )
        )
    # A forged teacher presses Sync now (the sync runs with the real teacher's stored token).
    with app.app_context():
        run_id, _ = start_user_sync(app, district, "101", TEACHER)
    assert runner(app).wait_idle(timeout=60)
    with session_scope(app) as db:
        run = db.get(SyncRun, run_id)
        assert run is not None and run.status == "failed"
        assert db.scalars(select(LaunchSession)).all() == []
    assert attacker_calls(jwks) == []
    for call in jwks.calls:
        sent = f"{call.request.url}{call.request.headers}{call.request.body!r}"
        for secret in (ACCESS, REFRESH, API_SECRET):
            assert secret not in sent, call.request.url


def test_two_first_launches_of_a_new_deployment_find_one_row(
    app: Flask, platform: FakePlatform
) -> None:
    """Right after a Dynamic Registration two teachers open the tool at once: the second
    insert of the same new deployment finds the first one's row instead of failing (500)."""
    with session_scope(app) as db:
        db.execute(update(Platform).values(auto_register_deployments=True))
    engine = app.extensions["db_engine"]
    with Session(engine) as first, Session(engine) as second:
        conf_first, conf_second = DbToolConf(first), DbToolConf(second)
        # Both looked and found nothing; the first commits its new row.
        row = conf_first.deployment(platform.issuer, platform.client_id, "9:new")
        assert row is not None
        first.commit()
        again = conf_second._learn_deployment(row.platform_id, "9:new")
        assert again is not None and again.id == row.id
        second.commit()
    with session_scope(app) as db:
        rows = db.scalars(select(Deployment).where(Deployment.deployment_id == "9:new")).all()
        assert len(rows) == 1 and rows[0].auto_registered
