"""Credentials on the worker: the keys it verifies with, the signal check, decision links.

- ``install_public_keys``: the public keys this worker process holds. Update validators check a
  credential's signature with them directly (validators never run on replay, so what keys the
  worker holds later does not matter).
- ``IdentityActivities.verify_credential``: the same check for a signal, run as a local
  activity so that its verdict is recorded in history: a replay reads the recorded verdict,
  whatever keys the worker holds by then.
- ``IdentityActivities.verify_start``: a start's credential and whether its starter may start
  the process (``workflows/rules/starts.py``, HR staff from the directory), run as an
  activity before the process does anything; its verdict is recorded in history.
- The identity provider's keys from a URL (``JwksSource``) are fetched by the worker outside
  workflow code: at start, in ``verify_credential`` on a key not held, and in the background
  when a validator meets one (``ask_for_newer_keys``).
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

from activities.directory import hr_staff
from schemas.credentials import (
    LINK,
    NO_CREDENTIAL,
    NO_START_CREDENTIAL,
    CredentialCheck,
    CredentialRefused,
    CredentialVerdict,
    IdentityProviderKey,
    StartCheck,
    StartVerdict,
    TrustedKey,
    verify_token,
)
from schemas.identity_tables import DecisionLink
from workflows.rules.starts import start_refusal

if TYPE_CHECKING:
    from service.identity import KeyRing
    from service.oidc import JwksSource

_PUBLIC_KEYS: dict[str, TrustedKey] = {}
_PERSON_CLAIMS: dict[str, str] = {}
"""The identity provider's issuer -> the claim naming the person (Update handlers read an
answer's claims with it, as its validator did)."""

DECISION_TEMPLATES = ("step_opened", "reminder", "escalation")
"""The notices that ask for a decision: each carries a decision link."""


_SOURCES: dict[str, JwksSource] = {}
"""The identity provider's keys fetched from a URL, by issuer (``service/oidc.py``)."""


def install_public_keys(keys: dict[str, TrustedKey], source: JwksSource | None = None) -> None:
    """Adds keys to those this process verifies with (every worker in it shares them): the
    service's own and the identity provider's (whose issuer and person claim it notes); and the
    provider's key source, whose keys as last fetched are trusted in place of the ones it had."""
    if source is not None:
        _SOURCES[source.issuer] = source
        _PERSON_CLAIMS[source.issuer] = source.person_claim
        keys = {kid: key for kid, key in keys.items() if kid not in source.keys}
    _PUBLIC_KEYS.update(keys)
    for key in keys.values():
        if isinstance(key, IdentityProviderKey):
            _PERSON_CLAIMS[key.issuer] = key.person_claim


def worker_public_keys() -> dict[str, TrustedKey]:
    keys: dict[str, TrustedKey] = dict(_PUBLIC_KEYS)
    for source in list(_SOURCES.values()):
        keys.update(source.keys)
    return keys


def ask_for_newer_keys(token: str | None) -> bool:
    """For an Update validator that refused ``token``: when it may be signed by a key of the
    identity provider this worker has not fetched yet, asks for the keys in the background (never
    waiting: validators are workflow code) and returns True. The answer is refused for now."""
    asked = False
    for source in list(_SOURCES.values()):
        if source.may_hold_newer_key(token) and (source.may_fetch() or source.refreshing):
            source.refresh_soon()
            asked = True
    return asked


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
    """``verify_credential``: a signal's credential checked once, its verdict recorded. A token
    of the identity provider signed by a key not fetched yet fetches the keys first (here, in the
    activity, never in workflow code; at most once every ``HR_OIDC_JWKS_MIN_REFRESH_SECONDS``)."""

    def __init__(
        self,
        public_keys: dict[str, TrustedKey],
        jwks: JwksSource | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.public_keys = public_keys
        self.jwks = jwks
        self.engine = engine
        install_public_keys(public_keys, jwks)

    def keys(self) -> dict[str, TrustedKey]:
        return self.public_keys | (self.jwks.keys if self.jwks is not None else {})

    @activity.defn(name="verify_credential")
    def verify_credential(self, inp: CredentialCheck) -> CredentialVerdict:
        verdict = check(inp, self.keys())
        if verdict.credential is None and self.jwks is not None and self.jwks.may_hold_newer_key(inp.token):
            if self.jwks.refresh():
                verdict = check(inp, self.keys())
        return verdict

    @activity.defn(name="verify_start")
    def verify_start(self, inp: StartCheck) -> StartVerdict:
        """A start: its credential good and naming the starter its input names, and that person
        allowed to start the process (HR staff from the directory's roles, or the employee for
        what they may start for themself). The reason never carries anything of the token."""
        if inp.starter is None:
            return StartVerdict(reason=start_refusal(inp.workflow_type, inp.subject, "", ())
                                or "the start names no starter")
        verdict = self.verify_credential(
            CredentialCheck(token=inp.token, audience=inp.audience, workflow_id=inp.workflow_id, at=inp.at)
        )
        if verdict.credential is None:
            reason = verdict.reason or NO_CREDENTIAL
            return StartVerdict(reason=NO_START_CREDENTIAL if reason == NO_CREDENTIAL else reason)
        if verdict.credential.person_id != inp.starter:
            return StartVerdict(
                reason=f"the credential is not {inp.starter}'s: a process is started by the person it names"
            )
        if self.engine is None:
            raise RuntimeError("verify_start needs the directory (IdentityActivities(engine=...))")
        with Session(self.engine) as session:
            staff = hr_staff(session)
        refusal = start_refusal(inp.workflow_type, inp.subject, inp.starter, staff)
        if refusal is not None:
            return StartVerdict(reason=refusal)
        return StartVerdict(token_id=verdict.credential.token_id)


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
