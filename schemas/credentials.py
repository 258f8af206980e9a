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

In production the sign-in may be the city's identity provider (OIDC): its public keys (from its
JWKS, by ``kid``) are ``IdentityProviderKey`` entries among the trusted keys, each saying the
issuer, the audience and the claim that names the person; ``verify_token`` checks such a token
(RS256, ES256 or EdDSA) against them, and it is good for answers only.
``CALL`` holds the credential of the Update or signal being handled (set by the workflow
interceptor in ``workflows/credentials.py``; every handler runs in a task of its own).
"""

from __future__ import annotations

import hashlib
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

SIGNED_STARTS = "signed-starts"
"""The ``workflow.patched`` id of the start check (``workflows/credentials.py``): runs started
before it replay as they were recorded."""

START_REFUSED = "StartRefused"
"""The ``ApplicationError`` type of a start that is refused (nothing was done)."""

NO_START_CREDENTIAL = (
    "the start carries no credential; sign in (`hr login --as PERSON`) and start it again"
)

ALGORITHM = "EdDSA"
ISSUER = "hr-workflows"
ANSWER = "answer"
"""``purpose`` of a sign-in credential (``hr login``, the web application)."""
LINK = "decision-link"
"""``purpose`` of a single-use decision link mailed with a notice (not a credential for answers)."""

PURPOSES = {ANSWER: "answers", LINK: "opening a decision link"}

IDP_ALGORITHMS = ("RS256", "ES256", "EdDSA")
"""The algorithms accepted from the city's identity provider (OIDC); the service's own
credentials are EdDSA only."""

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


class StartCheck(BaseModel):
    """The input of the ``verify_start`` local activity: a start's credential, checked at the
    workflow's time ``at`` for ``audience`` and ``workflow_id``; the starter the input names, and
    the few fields of the input the self-service rules read (``workflows/rules/starts.py``)."""

    token: str | None
    audience: str
    workflow_id: str
    workflow_type: str
    at: datetime
    starter: str | None
    subject: dict[str, str] = {}


class StartVerdict(BaseModel):
    """A start checked once: allowed (``reason`` None; ``token_id`` the credential's id) or
    refused (``reason``; never anything of the token)."""

    reason: str | None = None
    token_id: str | None = None


@dataclass(frozen=True)
class CallCredential:
    """The credential of the Update or signal a handler is running for."""

    kind: Literal["validator", "update", "signal"]
    token: str | None
    verdict: CredentialVerdict | None = None
    """A signal's verification, as recorded in history (``verify_credential``)."""


@dataclass(frozen=True)
class IdentityProviderKey:
    """A public key of the city's identity provider (one entry of its JWKS, ``kid`` its id) and
    what a token it signed must say: its issuer (``iss``), this service's audience (``aud``) and
    the claim that names the person (``service/identity.py`` builds these from the settings)."""

    key: Any
    """The key as PyJWT uses it (``jwt.PyJWK(...).key``: RSA, EC or Ed25519)."""
    algorithm: str | None
    """The JWK's ``alg`` when it names one (a token must then use it)."""
    issuer: str
    audience: str
    person_claim: str = "employee_id"


TrustedKey = Ed25519PublicKey | IdentityProviderKey
"""A key a worker verifies with: the service's own (Ed25519) or the identity provider's."""


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
    public_keys: Mapping[str, TrustedKey],
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
    kid = header.get("kid")
    key = public_keys.get(str(kid)) if kid is not None else _only_provider_key(public_keys)
    if isinstance(key, IdentityProviderKey):
        return _verify_provider_token(token, header, key, at=at, purpose=purpose)
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


def _only_provider_key(public_keys: Mapping[str, TrustedKey]) -> IdentityProviderKey | None:
    """The identity provider's key for a token without a ``kid``: allowed only while the provider
    publishes exactly one signing key (OpenID Connect Core, 10.1); the service's own tokens
    always name theirs."""
    provider = [key for key in public_keys.values() if isinstance(key, IdentityProviderKey)]
    return provider[0] if len(provider) == 1 else None


def _provider_credential(token: str, claims: Mapping[str, Any], person_claim: str) -> Credential:
    """What an identity provider's token says: the person from ``person_claim``; its id from
    ``jti`` (or, for a provider that sets none, a digest of its signature: never the token)."""
    person = claims.get(person_claim)
    if person is None or isinstance(person, (dict, list, bool)) or not str(person).strip():
        raise CredentialRefused(f"the credential does not name the person (no {person_claim!r} claim)")
    token_id = claims.get("jti")
    if not token_id:
        token_id = "sig-" + hashlib.sha256(token.rsplit(".", 1)[-1].encode()).hexdigest()[:24]
    try:
        return Credential(
            person_id=str(person).strip(),
            token_id=str(token_id),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=timezone.utc),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        raise CredentialRefused("the credential is not valid (a claim is missing)") from None


def _verify_provider_token(
    token: str, header: Mapping[str, Any], key: IdentityProviderKey, *, at: datetime, purpose: str
) -> Credential:
    """A sign-in by the city's identity provider: its key, issuer, this service's audience,
    unexpired at ``at``, naming the person. It is good for answers only (decision links are
    the service's own)."""
    algorithm = header.get("alg")
    if algorithm not in IDP_ALGORITHMS or (key.algorithm and algorithm != key.algorithm):
        raise CredentialRefused("the credential is not valid (not signed by a key this service trusts)")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[str(algorithm)],
            audience=key.audience,
            issuer=key.issuer,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "aud", "exp"],
            },
        )
    except jwt.InvalidAudienceError:
        raise CredentialRefused("the credential is for another service (audience)") from None
    except jwt.InvalidIssuerError:
        raise CredentialRefused("the credential is from an issuer this service does not trust") from None
    except jwt.MissingRequiredClaimError:
        raise CredentialRefused("the credential is not valid (a claim is missing)") from None
    except jwt.PyJWTError:
        raise CredentialRefused(
            "the credential is not valid (altered, or its signature does not match)"
        ) from None
    credential = _provider_credential(token, claims, key.person_claim)
    if credential.expires_at <= at:
        raise CredentialRefused("the credential has expired; sign in again")
    if purpose != ANSWER:
        wanted = PURPOSES.get(purpose, purpose)
        raise CredentialRefused(f"the credential is for {PURPOSES[ANSWER]}, not for {wanted}")
    return credential


def read_claims(token: str | None, person_claims: Mapping[str, str] | None = None) -> Credential:
    """The claims of a token whose signature was checked before (by a validator, or by the
    recorded ``verify_credential``): pure, so a replay reads the same whatever keys it holds.

    ``person_claims`` maps an identity provider's issuer to the claim naming the person (the
    worker's ``worker_person_claims()``), so a provider's token reads as ``verify_token`` read it.
    """
    if not token:
        raise CredentialRefused(NO_CREDENTIAL)
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CredentialRefused("the credential is not valid (malformed)") from None
    issuer = claims.get("iss")
    if person_claims and issuer != ISSUER and isinstance(issuer, str) and issuer in person_claims:
        return _provider_credential(token, claims, person_claims[issuer])
    return _credential(claims)
