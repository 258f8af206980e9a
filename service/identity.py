"""The service's sign-in: the signing key pair, credentials, local accounts, the CLI's cache.

Keys (``KeyRing``), in order of precedence:

- ``HR_AUTH_PRIVATE_KEY`` (a PEM Ed25519 private key, from the environment or a secrets
  manager) signs; ``HR_AUTH_PUBLIC_KEYS_FILE`` (PEM public keys, one after another) lists every
  key whose credentials are accepted. Workers need only the public keys.
- Otherwise the embedded default: ``HR_AUTH_KEY_DIR`` (``var/auth``) holds ``signing.pem``
  (made on first start, mode 0600) and ``public/<kid>.pem`` for the current and every previous
  key. ``rotate_key`` makes a new signing key and keeps the previous public key, so credentials
  it signed stay valid until they expire; ``retire_keys`` drops old public keys afterwards.

Credentials (``issue``) are JWTs (EdDSA) naming the person, the namespace (audience), an expiry
and an id (``schemas/credentials.py`` verifies them). Passwords are argon2 hashes in the store
(``LocalAccount``). The CLI caches one credential per person under ``HR_AUTH_TOKEN_DIR``
(``hr login``), with its expiry, mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine
from sqlmodel import Session

from schemas.credentials import (
    ALGORITHM,
    ANSWER,
    ISSUER,
    Credential,
    CredentialRefused,
    IdentityProviderKey,
    TrustedKey,
    key_id,
    read_claims,
    verify_token,
)
from schemas.identity_tables import LocalAccount
from schemas.tables import Person
from service.settings import Settings

if TYPE_CHECKING:
    from service.oidc import JwksSource

SIGNING_FILE = "signing.pem"
PUBLIC_DIR = "public"


class SignInError(Exception):
    """A sign-in that failed; the message is for the person (never a password or a token)."""


@dataclass
class KeyRing:
    """The key that signs (None on a worker that only verifies) and every trusted public key."""

    signing_key: Ed25519PrivateKey | None
    public_keys: dict[str, TrustedKey] = field(default_factory=dict)
    jwks: JwksSource | None = None
    """The identity provider's keys from a URL (fetched again on a key not held), if any."""

    def trusted(self) -> dict[str, TrustedKey]:
        """Every key trusted now: the fixed ones and the provider's as last fetched."""
        return self.public_keys | (self.jwks.keys if self.jwks is not None else {})

    @property
    def kid(self) -> str:
        if self.signing_key is None:
            raise SignInError("this process holds no signing key (HR_AUTH_PRIVATE_KEY)")
        return key_id(self.signing_key.public_key())

    def issue(
        self,
        person_id: str,
        audience: str,
        lifetime: timedelta,
        *,
        purpose: str = ANSWER,
        workflow_id: str | None = None,
        step_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[str, Credential]:
        """A signed credential for ``person_id`` and what it says."""
        if self.signing_key is None:
            raise SignInError("this process holds no signing key (HR_AUTH_PRIVATE_KEY)")
        issued = now or datetime.now(timezone.utc)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": person_id,
            "aud": audience,
            "iat": int(issued.timestamp()),
            "exp": int((issued + lifetime).timestamp()),
            "jti": secrets.token_hex(12),
            "purpose": purpose,
        }
        if workflow_id is not None:
            claims["wf"] = workflow_id
        if step_id is not None:
            claims["step"] = step_id
        token = jwt.encode(claims, self.signing_key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, read_claims(token)

    def verify(
        self, token: str | None, audience: str, *, at: datetime | None = None, purpose: str = ANSWER
    ) -> Credential:
        at = at or datetime.now(timezone.utc)
        try:
            return verify_token(token, self.trusted(), audience=audience, at=at, purpose=purpose)
        except CredentialRefused:
            if self.jwks is None or not self.jwks.may_hold_newer_key(token) or not self.jwks.refresh():
                raise
        return verify_token(token, self.trusted(), audience=audience, at=at, purpose=purpose)


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_private(path: Path, data: bytes) -> None:
    """Writes ``data`` mode 0600, atomically (a concurrent first start keeps one key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _load_private(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignInError("the signing key must be an Ed25519 key")
    return key


def _public_keys_from_pem(data: bytes) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    marker = b"-----END PUBLIC KEY-----"
    for block in data.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" not in block:
            continue
        key = serialization.load_pem_public_key(block.strip() + b"\n" + marker + b"\n")
        if isinstance(key, Ed25519PublicKey):
            keys[key_id(key)] = key
    return keys


def _dir_public_keys(key_dir: Path) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted((key_dir / PUBLIC_DIR).glob("*.pem")):
        keys |= _public_keys_from_pem(path.read_bytes())
    return keys


def _install_signing_key(key_dir: Path, key: Ed25519PrivateKey) -> None:
    public = key.public_key()
    (key_dir / PUBLIC_DIR).mkdir(parents=True, exist_ok=True)
    (key_dir / PUBLIC_DIR / f"{key_id(public)}.pem").write_bytes(_public_pem(public))
    _write_private(key_dir / SIGNING_FILE, _private_pem(key))


def load_keyring(settings: Settings, *, create: bool = True, with_provider_source: bool = True) -> KeyRing:
    """The keys ``settings`` name; the embedded default makes its pair on first start. The
    identity provider's keys from a URL are fetched now (``KeyRing.jwks``, refreshed later)."""
    if settings.auth_private_key is not None:
        signing: Ed25519PrivateKey | None = _load_private(
            settings.auth_private_key.get_secret_value().encode()
        )
    else:
        signing = None
    public: dict[str, TrustedKey] = {}
    if settings.auth_public_keys_file:
        public |= _public_keys_from_pem(Path(settings.auth_public_keys_file).read_bytes())
    if signing is None and not settings.auth_public_keys_file:
        key_dir = Path(settings.auth_key_dir)
        path = key_dir / SIGNING_FILE
        if not path.exists() and create:
            _install_signing_key(key_dir, Ed25519PrivateKey.generate())
        if path.exists():
            signing = _load_private(path.read_bytes())
        public |= _dir_public_keys(key_dir)
    if signing is not None:
        public[key_id(signing.public_key())] = signing.public_key()
    public.update(provider_keys(settings))
    source = jwks_source(settings) if with_provider_source else None
    return KeyRing(signing_key=signing, public_keys=public, jwks=source)


def provider_keys(settings: Settings) -> dict[str, IdentityProviderKey]:
    """The city's identity provider's public keys from ``HR_OIDC_JWKS_FILE`` (by ``kid``), each with
    the issuer, audience and person claim its tokens must carry; none when OIDC is not set or its
    keys come from a URL (``jwks_source``)."""
    from service.oidc import OidcError, parse_jwks, worker_audience

    if settings.oidc_jwks_file and not settings.oidc_issuer:
        raise SignInError("HR_OIDC_JWKS_FILE needs HR_OIDC_ISSUER (the issuer its tokens name)")
    if not settings.oidc_issuer or not settings.oidc_jwks_file:
        return {}
    try:
        text = Path(settings.oidc_jwks_file).read_text()
    except OSError:
        raise SignInError("HR_OIDC_JWKS_FILE cannot be read") from None
    try:
        return parse_jwks(
            text,
            issuer=settings.oidc_issuer,
            audience=worker_audience(settings),
            person_claim=settings.oidc_person_claim,
            source="HR_OIDC_JWKS_FILE",
        )
    except OidcError as err:
        raise SignInError(str(err)) from None


def jwks_source(settings: Settings) -> JwksSource | None:
    """The identity provider's keys from ``HR_OIDC_JWKS_URL`` or its discovery document, fetched
    now (``service/oidc.py``); None when they come from a file or OIDC is not set."""
    from service.oidc import OidcError
    from service.oidc import jwks_source as fetch_source

    try:
        return fetch_source(settings)
    except OidcError as err:
        raise SignInError(str(err)) from None


def rotate_key(key_dir: Path) -> str:
    """A new signing key in ``key_dir``; the previous public key stays trusted. Returns its id."""
    key = Ed25519PrivateKey.generate()
    _install_signing_key(key_dir, key)
    return key_id(key.public_key())


def retire_keys(key_dir: Path) -> list[str]:
    """Drops every public key but the current one (once every credential they signed expired)."""
    current = key_id(_load_private((key_dir / SIGNING_FILE).read_bytes()).public_key())
    dropped = []
    for path in sorted((key_dir / PUBLIC_DIR).glob("*.pem")):
        if path.stem != current:
            path.unlink()
            dropped.append(path.stem)
    return dropped


# ----- local accounts ---------------------------------------------------------------------------

_HASHER = PasswordHasher()
MIN_PASSWORD = 10


def set_password(engine: Engine, person_id: str, password: str) -> None:
    """Sets a person's local password (argon2); the person must be in the directory."""
    if len(password) < MIN_PASSWORD:
        raise SignInError(f"a password needs at least {MIN_PASSWORD} characters")
    with Session(engine) as session:
        if session.get(Person, person_id) is None:
            raise SignInError(f"unknown person {person_id}")
        account = session.get(LocalAccount, person_id) or LocalAccount(
            person_id=person_id, password_hash="", updated_at=datetime.now(timezone.utc)
        )
        account.password_hash = _HASHER.hash(password)
        account.updated_at = datetime.now(timezone.utc)
        session.add(account)
        session.commit()


def check_password(engine: Engine, person_id: str, password: str) -> None:
    """Raises ``SignInError`` (one reason for every failure) unless the password is right and
    the person is active."""
    wrong = SignInError("unknown person or wrong password")
    with Session(engine) as session:
        person = session.get(Person, person_id)
        account = session.get(LocalAccount, person_id)
        if person is None or account is None or not person.active:
            _HASHER.hash(password)  # the same work either way: no timing hint of who exists
            raise wrong
        try:
            _HASHER.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise wrong from None


def sign_in(engine: Engine, settings: Settings, person_id: str, password: str) -> tuple[str, Credential]:
    """Checks a local password and issues a credential for ``auth_login_minutes``."""
    check_password(engine, person_id, password)
    return load_keyring(settings).issue(
        person_id, settings.temporal_namespace, timedelta(minutes=settings.auth_login_minutes)
    )


# ----- the CLI's cache --------------------------------------------------------------------------


def _cache_path(settings: Settings, person_id: str) -> Path:
    if not person_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise SignInError(f"not a person id: {person_id!r}")
    return Path(settings.auth_token_dir) / f"{person_id}.json"


def cache_token(settings: Settings, token: str, credential: Credential) -> Path:
    path = _cache_path(settings, credential.person_id)
    data = {
        "token": token,
        "expires_at": credential.expires_at.isoformat(),
        "namespace": settings.temporal_namespace,
    }
    _write_private(path, json.dumps(data).encode())
    return path


def cached_token(settings: Settings, person_id: str) -> str | None:
    """The cached credential of ``person_id`` for this namespace, unless missing or expired."""
    try:
        data = json.loads(_cache_path(settings, person_id).read_text())
        expires = datetime.fromisoformat(data["expires_at"])
    except (OSError, ValueError, KeyError, TypeError, SignInError):
        return None
    if data.get("namespace") != settings.temporal_namespace or expires <= datetime.now(timezone.utc):
        return None
    return str(data["token"])


def forget_token(settings: Settings, person_id: str) -> bool:
    try:
        _cache_path(settings, person_id).unlink()
        return True
    except (OSError, SignInError):
        return False
