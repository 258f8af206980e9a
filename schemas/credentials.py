"""Signed credentials: what an answer carries to say who sent it, and how a workflow reads it.

A credential is a JWT signed with EdDSA (Ed25519) by the service's sign-in (``service/identity.py``)
or by the city's identity provider. It names the person (``sub``), the namespace it is good for
(``aud``), an expiry (``exp``) and its own id (``jti``); a sign-in from a decision link also names
the workflow (``wf``) and the step (``step``) it is good for. It travels as the Temporal header
``hr_credential`` of an Update or a signal (``service/signing.py`` adds it on the client; the
``temporal`` CLI takes ``--headers 'hr_credential="<token>"'``), never inside the payload, so
every answer of every process carries it without a field of its own.

``verify_token`` checks a token against public keys (pure: the keys and the moment are given).
``read_claims`` reads a token already verified once (no keys needed), for a handler replaying
an answer whose signature its validator, or its recorded verification, has checked.
``CALL`` holds the credential of the Update or signal being handled (set by the workflow
interceptor in ``workflows/credentials.py``; every handler runs in a task of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

HEADER = "hr_credential"
"""The Temporal header that carries an answer's credential."""

SIGNED_ANSWERS = "signed-answers"
"""The ``workflow.patched`` id of the credential check in handlers: runs that were under way
before it keep replaying as they were recorded."""

ALGORITHM = "EdDSA"
ISSUER = "hr-workflows"
ANSWER = "answer"
"""``purpose`` of a sign-in credential (``hr login``, the web application)."""
LINK = "decision-link"
"""``purpose`` of a single-use decision link mailed with a notice (not a credential for answers)."""

PURPOSES = {ANSWER: "answers", LINK: "opening a decision link"}

NO_CREDENTIAL = "the answer carries no credential; sign in (`hr login --as PERSON`) and send it again"


class CredentialRefused(ValueError):
    """A credential that must not be accepted; the message is the reason, never the token."""


class Credential(BaseModel):
    """What a verified credential says."""

    person_id: str
    token_id: str
    expires_at: datetime
    purpose: str = ANSWER
    workflow_id: str | None = None
    step_id: str | None = None


class CredentialCheck(BaseModel):
    """The input of the ``verify_credential`` local activity: a signal's credential, checked
    at the workflow's time ``at`` for ``audience`` (the namespace) and ``workflow_id``."""

    token: str | None
    audience: str
    workflow_id: str
    at: datetime


class CredentialVerdict(BaseModel):
    """A credential checked once: accepted (``credential``) or refused (``reason``)."""

    credential: Credential | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CallCredential:
    """The credential of the Update or signal a handler is running for."""

    kind: Literal["validator", "update", "signal"]
    token: str | None
    verdict: CredentialVerdict | None = None
    """A signal's verification, as recorded in history (``verify_credential``)."""


CALL: ContextVar[CallCredential | None] = ContextVar("hr_call_credential", default=None)


def _warm_up() -> None:
    """Fails one signature check here, outside any workflow sandbox: the cryptography library
    looks up its ``InvalidSignature`` type on first use and aborts the process when that first
    look-up happens inside the sandbox (an altered credential checked by a validator)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    try:
        key.public_key().verify(b"\0" * 64, b"warm-up")
    except InvalidSignature:
        pass


_warm_up()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A key's id (the token header's ``kid``): a digest of its raw public bytes."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _credential(claims: Mapping[str, Any]) -> Credential:
    try:
        return Credential(
            person_id=str(claims["sub"]),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=timezone.utc),
            purpose=str(claims.get("purpose", ANSWER)),
            workflow_id=claims.get("wf"),
            step_id=claims.get("step"),
        )
    except (KeyError, TypeError, ValueError):
        raise CredentialRefused("the credential is not valid (a claim is missing)") from None


def verify_token(
    token: str | None,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    audience: str,
    at: datetime,
    purpose: str = ANSWER,
    workflow_id: str | None = None,
) -> Credential:
    """Checks a token: signed by one of ``public_keys``, for ``audience``, unexpired at ``at``,
    of ``purpose``, and (when it names one) for ``workflow_id``.

    Raises:
        CredentialRefused: with the reason; the token's text is never part of it.
    """
    if not token:
        raise CredentialRefused(NO_CREDENTIAL)
    if not isinstance(token, str) or len(token) > 4096:
        raise CredentialRefused("the credential is not valid (malformed)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise CredentialRefused("the credential is not valid (malformed)") from None
    key = public_keys.get(str(header.get("kid")))
    if key is None or header.get("alg") != ALGORITHM:
        raise CredentialRefused("the credential is not valid (not signed by a key this service trusts)")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidAudienceError:
        raise CredentialRefused("the credential is for another namespace") from None
    except jwt.PyJWTError:
        raise CredentialRefused(
            "the credential is not valid (altered, or its signature does not match)"
        ) from None
    credential = _credential(claims)
    if credential.expires_at <= at:
        raise CredentialRefused("the credential has expired; sign in again")
    if credential.purpose != purpose:
        given, wanted = (PURPOSES.get(p, p) for p in (credential.purpose, purpose))
        raise CredentialRefused(f"the credential is for {given}, not for {wanted}")
    if workflow_id is not None and credential.workflow_id not in (None, workflow_id):
        raise CredentialRefused("the credential is for another workflow")
    return credential


def read_claims(token: str | None) -> Credential:
    """The claims of a token whose signature was checked before (by a validator, or by the
    recorded ``verify_credential``): pure, so a replay reads the same whatever keys it holds."""
    if not token:
        raise CredentialRefused(NO_CREDENTIAL)
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CredentialRefused("the credential is not valid (malformed)") from None
    return _credential(claims)
