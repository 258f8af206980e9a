"""Sign-in through the city's identity provider (OpenID Connect), always outside workflow code.

- ``discover``: the issuer's discovery document (``/.well-known/openid-configuration``), whose
  ``issuer`` must be the configured one.
- ``JwksSource``: the provider's public keys from a URL (``HR_OIDC_JWKS_URL`` or the discovery's
  ``jwks_uri``), fetched when a process starts and again when a token names a key it does not
  hold, at most once every ``HR_OIDC_JWKS_MIN_REFRESH_SECONDS``. Workers fetch in their own
  threads: an Update validator that meets an unknown key only asks for a fetch
  (``refresh_soon``) and refuses the answer for now; a signal's ``verify_credential`` local
  activity fetches before deciding, and its verdict is recorded, so replay never fetches.
- ``SignInFlow``: the authorization-code flow with PKCE (S256), ``state`` and ``nonce`` (Authlib's
  OAuth 2 client): ``begin`` gives the provider's address and what must come back; ``finish``
  checks the state, exchanges the code and verifies the ID token (``verify_id_token``: signature
  by the provider's key, issuer, audience = the client id, expiry, nonce, the person claim).
- ``loopback_sign_in``: the same for a person at a terminal (RFC 8252): a one-shot HTTP server on
  127.0.0.1 and a random port receives the provider's redirect.

Errors are ``OidcError``: a message for the person and the log, never a token, a code or a secret.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import authlib.deprecate  # noqa: F401 (sets its own warning filter on import: before ours)
import httpx
import jwt
import structlog

with warnings.catch_warnings():  # Authlib prefers the httpx2 package; plain httpx works the same
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

from schemas.credentials import (
    IDP_ALGORITHMS,
    Credential,
    CredentialRefused,
    IdentityProviderKey,
    verify_token,
)
from service.settings import Settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT = 10.0
CALLBACK_PATH = "/callback"
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines are not our log's business
_REFRESHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hr-jwks")
"""Fetches keys asked for by validators (never in workflow code): one fetch at a time."""


class OidcError(Exception):
    """A sign-in or key fetch that failed; the message is for the person and the log."""


def _log() -> Any:
    return structlog.get_logger("hr.oidc")


def discover(issuer: str) -> dict[str, Any]:
    """The provider's discovery document; its ``issuer`` must be ``issuer`` exactly."""
    url = issuer.rstrip("/") + DISCOVERY_PATH
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        meta = response.json()
    except (httpx.HTTPError, ValueError):
        raise OidcError("the identity provider's discovery document cannot be fetched") from None
    if not isinstance(meta, dict) or meta.get("issuer") != issuer:
        raise OidcError("the identity provider's discovery document names another issuer")
    return meta


def parse_jwks(
    data: Any, *, issuer: str, audience: str, person_claim: str, source: str
) -> dict[str, IdentityProviderKey]:
    """The usable signing keys of a JWKS (asymmetric, with a ``kid``), each with what a token it
    signed must say. Raises ``OidcError`` naming ``source`` when it holds none."""
    try:
        jwks = jwt.PyJWKSet.from_dict(data) if isinstance(data, dict) else jwt.PyJWKSet.from_json(data)
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        raise OidcError(f"{source} is not a JWKS with a usable key") from None
    keys: dict[str, IdentityProviderKey] = {}
    for jwk in jwks.keys:
        # Only asymmetric signing keys with an id; each verifies the one algorithm it names (or
        # its type implies), so a token cannot choose another (no algorithm confusion).
        usable = jwk.public_key_use in (None, "sig") and jwk.algorithm_name in IDP_ALGORITHMS
        if not jwk.key_id or not usable:
            continue
        keys[jwk.key_id] = IdentityProviderKey(
            key=jwk.key,
            algorithm=jwk.algorithm_name,
            issuer=issuer,
            audience=audience,
            person_claim=person_claim,
        )
    if not keys:
        raise OidcError(f"{source} holds no signing key with a kid")
    return keys


def worker_audience(settings: Settings) -> str:
    """The ``aud`` a provider's token must carry to be an answer's credential."""
    return settings.oidc_audience or settings.oidc_client_id or settings.temporal_namespace


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}, {}


@dataclass
class JwksSource:
    """The provider's keys from ``url``, cached; fetched again on a key it does not hold."""

    url: str
    issuer: str
    audience: str
    person_claim: str
    min_interval: float = 30.0
    keys: dict[str, IdentityProviderKey] = field(default_factory=dict)
    """The keys now held: replaced whole by a fetch, so readers never see half of one."""
    fetches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _fetched_at: float | None = field(default=None, repr=False)
    _pending: bool = field(default=False, repr=False)

    def fetch(self) -> None:
        """Fetches the keys now. Raises ``OidcError`` (the held keys stay) when it cannot."""
        self._fetched_at = time.monotonic()
        try:
            response = httpx.get(self.url, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise OidcError("the identity provider's keys (JWKS) cannot be fetched") from None
        self.keys = parse_jwks(
            data,
            issuer=self.issuer,
            audience=self.audience,
            person_claim=self.person_claim,
            source="the identity provider's JWKS",
        )
        self.fetches += 1

    def refresh(self) -> bool:
        """Fetches again unless the last fetch was less than ``min_interval`` ago; True when the
        held keys changed. A failed fetch keeps the keys and logs one line."""
        with self._lock:
            if not self.may_fetch():
                return False
            before = set(self.keys)
            try:
                self.fetch()
            except OidcError as err:
                _log().warning("oidc.jwks_refresh_failed", reason=str(err))
                return False
            changed = set(self.keys) != before
            if changed:
                _log().info("oidc.jwks_refreshed", kids=sorted(self.keys))
            return changed

    def refresh_soon(self) -> None:
        """Asks for a fetch in the background (for code that must not wait: a validator)."""
        with self._lock:
            if self._pending:
                return
            self._pending = True

        def run() -> None:
            try:
                self.refresh()
            finally:
                self._pending = False

        _REFRESHER.submit(run)

    @property
    def refreshing(self) -> bool:
        """A background fetch asked for is under way."""
        return self._pending

    def may_fetch(self) -> bool:
        """Whether a fetch now would go out (the last one is ``min_interval`` old or more)."""
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= self.min_interval

    def may_hold_newer_key(self, token: str | None) -> bool:
        """Whether ``token`` is this provider's and names a key not held (or, without a ``kid``,
        may be signed by a key that replaced the one held): a fetch may make it verifiable."""
        if not token:
            return False
        header, claims = _unverified(token)
        if claims.get("iss") != self.issuer:
            return False
        kid = header.get("kid")
        return kid is None or str(kid) not in self.keys


def jwks_source(settings: Settings, metadata: Mapping[str, Any] | None = None) -> JwksSource | None:
    """The key source the settings name (``HR_OIDC_JWKS_URL``, else discovery), fetched once;
    None when the keys come from a file or OIDC is not set."""
    if not settings.oidc_issuer or settings.oidc_jwks_file:
        return None
    url = settings.oidc_jwks_url
    if not url:
        meta = metadata if metadata is not None else discover(settings.oidc_issuer)
        url = meta.get("jwks_uri")
        if not isinstance(url, str) or not url:
            raise OidcError("the identity provider's discovery document has no jwks_uri")
    source = JwksSource(
        url=url,
        issuer=settings.oidc_issuer,
        audience=worker_audience(settings),
        person_claim=settings.oidc_person_claim,
        min_interval=settings.oidc_jwks_min_refresh_seconds,
    )
    try:
        source.fetch()
    except OidcError as err:
        # A provider down when a worker starts must not stop the city's processes: the worker
        # starts without its keys (its tokens are refused meanwhile) and fetches them on demand.
        _log().warning("oidc.jwks_unavailable_at_start", reason=str(err))
    return source


# ----- the authorization-code flow ---------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """What must come back with the provider's redirect (kept by the caller, never logged)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass
class SignInFlow:
    """The authorization-code flow with one provider, for one client (the web app or the CLI)."""

    settings: Settings
    metadata: dict[str, Any]
    keys: JwksSource | None = None
    file_keys: dict[str, IdentityProviderKey] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInFlow:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise OidcError("sign-in through the provider needs HR_OIDC_ISSUER and HR_OIDC_CLIENT_ID")
        metadata = discover(settings.oidc_issuer)
        for name in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(metadata.get(name), str):
                raise OidcError(f"the identity provider's discovery document has no {name}")
        flow = cls(settings=settings, metadata=metadata)
        by_client = settings.model_copy(update={"oidc_audience": settings.oidc_client_id})
        flow.keys = jwks_source(by_client, metadata)
        if flow.keys is None and settings.oidc_jwks_file:
            from service.identity import provider_keys

            flow.file_keys = provider_keys(by_client)
        return flow

    def _client(self, redirect_uri: str) -> OAuth2Client:
        secret = self.settings.oidc_client_secret
        return OAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=self.settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT,
        )

    def begin(self, redirect_uri: str) -> tuple[str, PendingSignIn]:
        """The provider's sign-in address, and what its redirect must match."""
        pending = PendingSignIn(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=generate_token(64),
            redirect_uri=redirect_uri,
        )
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return url, pending

    def finish(self, pending: PendingSignIn, params: Mapping[str, str]) -> tuple[str, Credential]:
        """Checks the redirect's ``params`` against ``pending``, exchanges the code, verifies the
        ID token. Returns it with what it says. Raises ``OidcError`` with the reason."""
        if "error" in params:
            error = "".join(c for c in str(params["error"])[:40] if c.isalnum() or c in "_-")
            raise OidcError(f"the identity provider refused the sign-in ({error or 'error'})")
        state = params.get("state") or ""
        if not secrets.compare_digest(state.encode(), pending.state.encode()):
            raise OidcError("the sign-in's state does not match (start the sign-in again)")
        code = params.get("code")
        if not code:
            raise OidcError("the identity provider sent no authorization code")
        try:
            with self._client(pending.redirect_uri) as client:
                token = client.fetch_token(
                    self.metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
        except (OAuthError, httpx.HTTPError, ValueError) as err:
            error = getattr(err, "error", None) or type(err).__name__
            raise OidcError(f"the identity provider did not exchange the code ({error})") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the identity provider sent no ID token")
        return id_token, self.verify_id_token(id_token, nonce=pending.nonce)

    @property
    def _audience(self) -> str:
        return self.settings.oidc_client_id or ""

    def _keys(self) -> Mapping[str, IdentityProviderKey]:
        return self.keys.keys if self.keys is not None else self.file_keys

    def verify_id_token(self, id_token: str, *, nonce: str, at: datetime | None = None) -> Credential:
        """An ID token for this client: signed by the provider (a key fetched again when it is
        not held), its issuer, audience (the client id), unexpired, this sign-in's nonce."""
        now = at or datetime.now(timezone.utc)
        try:
            credential = verify_token(id_token, self._keys(), audience=self._audience, at=now)
        except CredentialRefused as err:
            if self.keys is None or not self.keys.may_hold_newer_key(id_token) or not self.keys.refresh():
                raise OidcError(f"the ID token is refused: {err}") from None
            try:
                credential = verify_token(id_token, self._keys(), audience=self._audience, at=now)
            except CredentialRefused as again:
                raise OidcError(f"the ID token is refused: {again}") from None
        _, claims = _unverified(id_token)  # verified above
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), nonce.encode()):
            raise OidcError("the ID token is refused: its nonce is not this sign-in's")
        return credential


def token_digest(token: str) -> str:
    """A short digest to name a token in a log line without the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


# ----- the command line: a loopback redirect (RFC 8252) ------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    received: dict[str, str] | None = None
    answer: Callable[[dict[str, str]], tuple[int, str]] = staticmethod(lambda _p: (200, ""))  # type: ignore[assignment]

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        parsed = urlparse(self.path)
        if parsed.path != CALLBACK_PATH:
            self.send_error(404)
            return
        params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        type(self).received = params
        status, text = type(self).answer(params)
        body = (
            "<!doctype html><meta charset=utf-8><title>HR sign-in</title>"
            f"<p>{html.escape(text)}</p>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the request line holds the authorization code."""


def loopback_sign_in(
    flow: SignInFlow, show: Callable[[str], None], *, timeout: float = 300.0
) -> tuple[str, Credential]:
    """The sign-in of a person at a terminal: ``show`` prints the provider's address to open; the
    browser comes back to ``http://127.0.0.1:<random port>/callback``. Returns the ID token and
    what it says, or raises ``OidcError``."""
    outcome: dict[str, Any] = {}

    class Handler(_Callback):
        received = None

        @staticmethod
        def answer(params: dict[str, str]) -> tuple[int, str]:
            try:
                outcome["result"] = flow.finish(pending, params)
            except OidcError as err:
                outcome["error"] = err
                return 400, f"Sign-in refused: {err}. You can close this window."
            return 200, "Signed in. You can close this window and return to the terminal."

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 1.0
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        url, pending = flow.begin(redirect_uri)
        show(url)
        deadline = time.monotonic() + timeout
        while Handler.received is None and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    if "error" in outcome:
        raise outcome["error"]
    if "result" not in outcome:
        raise OidcError(f"no sign-in came back within {int(timeout)} seconds")
    result: tuple[str, Credential] = outcome["result"]
    return result
