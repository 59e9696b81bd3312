"""The sandbox's LTI side as data: developer keys, their placements and deployments.

Kept in ``SandboxState`` tables (plain dicts keyed by id), like every other sandbox entity.
Ids are deterministic: the n-th key installed in a fresh state always gets the same client_id
and deployment_id, so a tool registered against the demo stays valid across restarts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from canvas_sandbox.state import SandboxState

DEVELOPER_KEYS = "lti_developer_keys"
DEPLOYMENTS = "lti_deployments"
# Canvas global ids: shard 1 * 10**13 + local id (the client_id tools see).
GLOBAL_ID_BASE = 10_000_000_000_000
PrivacyLevel = Literal["anonymous", "name_only", "email_only", "public"]
PRIVACY_LEVELS: tuple[PrivacyLevel, ...] = ("anonymous", "name_only", "email_only", "public")


@dataclass
class Placement:
    placement: str
    message_type: str
    target_link_uri: str
    text: str
    icon_url: str = ""
    visibility: str = "public"  # public | members | admins
    default: str = "enabled"  # navigation only: enabled | disabled
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class DeveloperKey:
    """An LTI developer key (the tool's registration on the platform side)."""

    id: int
    client_id: str
    name: str
    description: str
    oidc_initiation_url: str
    target_link_uri: str
    redirect_uris: list[str]
    public_jwk_url: str
    scopes: list[str]
    placements: list[Placement]
    custom_fields: dict[str, str]
    privacy_level: PrivacyLevel
    tool_id: str
    domain: str
    icon_url: str
    installed_via: Literal["config_url", "dynamic_registration"]
    source_url: str = ""
    enabled: bool = True
    registration: dict[str, Any] | None = None  # the Dynamic Registration request, as received

    def placement(self, name: str) -> Placement | None:
        return next((p for p in self.placements if p.placement == name), None)


@dataclass
class Deployment:
    id: int
    deployment_id: str
    developer_key_id: int
    account_id: int


def developer_keys(state: SandboxState) -> dict[int, DeveloperKey]:
    return state.table(DEVELOPER_KEYS)


def deployments(state: SandboxState) -> dict[int, Deployment]:
    return state.table(DEPLOYMENTS)


def add_developer_key(state: SandboxState, **values: Any) -> DeveloperKey:
    with state.lock:
        local_id = state.next_id("lti_developer_key")
        key = DeveloperKey(id=local_id, client_id=str(GLOBAL_ID_BASE + local_id), **values)
        developer_keys(state)[key.id] = key
        return key


def key_by_client_id(state: SandboxState, client_id: str) -> DeveloperKey | None:
    with state.lock:
        return next((k for k in developer_keys(state).values() if k.client_id == client_id), None)


def deploy(state: SandboxState, key: DeveloperKey, account_id: int) -> Deployment:
    """Install the key in an account (idempotent). The id looks like Canvas's
    ``<local id>:<sha1 of the context>`` and depends only on the key and the account."""
    with state.lock:
        for existing in deployments(state).values():
            if existing.developer_key_id == key.id and existing.account_id == account_id:
                return existing
        local_id = state.next_id("lti_deployment", start=12)
        account = state.accounts[account_id]
        context = f"{account.lti_guid or account_id}:{key.client_id}".encode()
        deployment = Deployment(
            id=local_id,
            deployment_id=f"{local_id}:{hashlib.sha1(context, usedforsecurity=False).hexdigest()}",
            developer_key_id=key.id,
            account_id=account_id,
        )
        deployments(state)[deployment.id] = deployment
        return deployment


def account_chain(state: SandboxState, account_id: int) -> list[int]:
    """The account and its parents, nearest first (a tool installed above is visible below)."""
    chain: list[int] = []
    current: int | None = account_id
    while current is not None and current in state.accounts and current not in chain:
        chain.append(current)
        current = state.accounts[current].parent_account_id
    return chain


def tools_for_account(
    state: SandboxState, account_id: int
) -> list[tuple[DeveloperKey, Deployment]]:
    """Enabled keys deployed in this account or above, in install order."""
    chain = account_chain(state, account_id)
    keys = developer_keys(state)
    with state.lock:
        found = [
            (keys[d.developer_key_id], d)
            for d in sorted(deployments(state).values(), key=lambda d: d.id)
            if d.account_id in chain and d.developer_key_id in keys
        ]
    return [(k, d) for k, d in found if k.enabled]


def deployment_for(state: SandboxState, key: DeveloperKey, account_id: int) -> Deployment | None:
    for found_key, deployment in tools_for_account(state, account_id):
        if found_key.id == key.id:
            return deployment
    return None
