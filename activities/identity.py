"""Credentials on the worker: the keys it verifies with, the signal check, decision links.

- ``install_public_keys``: the public keys this worker process holds. Update validators check a
  credential's signature with them directly (validators never run on replay, so what keys the
  worker holds later does not matter).
- ``IdentityActivities.verify_credential``: the same check for a signal, run as a local
  activity so that its verdict is recorded in history: a replay reads the recorded verdict,
  whatever keys the worker holds by then.
- ``LinkIssuer``: a decision link for a notice that asks for a decision: a signed token bound to
  the person, the workflow, the step and an expiry, whose id is stored (``DecisionLink``) so the
  link can be used once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from schemas.credentials import (
    LINK,
    CredentialCheck,
    CredentialRefused,
    CredentialVerdict,
    IdentityProviderKey,
    TrustedKey,
    verify_token,
)
from schemas.identity_tables import DecisionLink

if TYPE_CHECKING:
    from service.identity import KeyRing

_PUBLIC_KEYS: dict[str, TrustedKey] = {}
_PERSON_CLAIMS: dict[str, str] = {}
"""The identity provider's issuer -> the claim naming the person (Update handlers read an
answer's claims with it, as its validator did)."""

DECISION_TEMPLATES = ("step_opened", "reminder", "escalation")
"""The notices that ask for a decision: each carries a decision link."""


def install_public_keys(keys: dict[str, TrustedKey]) -> None:
    """Adds keys to those this process verifies with (every worker in it shares them): the
    service's own and the identity provider's (whose issuer and person claim it notes)."""
    _PUBLIC_KEYS.update(keys)
    for key in keys.values():
        if isinstance(key, IdentityProviderKey):
            _PERSON_CLAIMS[key.issuer] = key.person_claim


def worker_public_keys() -> dict[str, TrustedKey]:
    return dict(_PUBLIC_KEYS)


def worker_person_claims() -> dict[str, str]:
    return dict(_PERSON_CLAIMS)


def check(inp: CredentialCheck, keys: dict[str, TrustedKey]) -> CredentialVerdict:
    try:
        credential = verify_token(
            inp.token, keys, audience=inp.audience, at=inp.at, workflow_id=inp.workflow_id
        )
    except CredentialRefused as err:
        return CredentialVerdict(reason=str(err))
    return CredentialVerdict(credential=credential)


class IdentityActivities:
    """``verify_credential``: a signal's credential checked once, its verdict recorded."""

    def __init__(self, public_keys: dict[str, TrustedKey]) -> None:
        self.public_keys = public_keys
        install_public_keys(public_keys)

    @activity.defn(name="verify_credential")
    def verify_credential(self, inp: CredentialCheck) -> CredentialVerdict:
        return check(inp, self.public_keys)


@dataclass
class LinkIssuer:
    """Makes decision links for notices (``NotificationActivities``)."""

    engine: Engine
    keyring: KeyRing
    audience: str
    base_url: str
    lifetime: timedelta

    def link(self, person_id: str, workflow_id: str, step_id: str, outbox_key: str) -> str:
        now = datetime.now(timezone.utc)
        token, credential = self.keyring.issue(
            person_id,
            self.audience,
            self.lifetime,
            purpose=LINK,
            workflow_id=workflow_id,
            step_id=step_id,
            now=now,
        )
        with Session(self.engine) as session:
            session.add(
                DecisionLink(
                    token_id=credential.token_id,
                    person_id=person_id,
                    workflow_id=workflow_id,
                    step_id=step_id,
                    outbox_key=outbox_key,
                    expires_at=credential.expires_at,
                    created_at=now,
                )
            )
            session.commit()
        return f"{self.base_url.rstrip('/')}/link/{token}"
