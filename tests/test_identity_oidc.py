"""Sign-in by the city's identity provider (OIDC): its tokens are answers' credentials.

The provider here is real cryptography: an RSA (and an EC) key pair made in the test, its public
keys written as the JWKS file the provider publishes at its ``jwks_uri``, and tokens issued with
PyJWT as the provider issues them. Checked through ``verify_token``, through the keys the settings
name (``load_keyring``), through ``read_claims`` (what an Update's handler reads), and on the
time-skipping server with a real workflow and the real activities.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from temporalio.client import Client

from activities import identity as worker_identity
from activities.seed import seed_city
from schemas.credentials import LINK, CredentialRefused, IdentityProviderKey, read_claims, verify_token
from schemas.human_step import DecisionInput, DecisionReceipt
from service.identity import SignInError, load_keyring, provider_keys
from service.settings import Settings
from service.signing import SigningInterceptor
from tests.harness_common import mailer_for_tests
from tests.review_harness import Review
from tests.test_signed_answers import altered, refusal
from worker import worker_and_mailer

ISSUER = "https://login.city.example/realms/staff"
AUDIENCE = "hr-workflows-prod"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LONG = timedelta(days=365 * 60)
"""Longer than any time-skipping test skips ahead (the workflow's clock decides expiry)."""


class Provider:
    """The identity provider: its signing keys, and tokens as it issues them."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid = f"rsa-{uuid.uuid4().hex[:8]}"
        self.ec_kid = f"ec-{uuid.uuid4().hex[:8]}"

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        return {
            "keys": [
                rsa_jwk | {"kid": self.rsa_kid, "use": "sig", "alg": "RS256"},
                ec_jwk | {"kid": self.ec_kid, "use": "sig", "alg": "ES256"},
            ]
        }

    def token(
        self,
        *,
        kid: str | None = None,
        algorithm: str = "RS256",
        now: datetime = NOW,
        lifetime: timedelta = timedelta(minutes=5),
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "5f0c2a9e-opaque-subject",
            "employee_id": "E1003",
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        } | claims
        for name in drop:
            body.pop(name)
        key = self.ec if algorithm == "ES256" else self.rsa
        default_kid = self.ec_kid if algorithm == "ES256" else self.rsa_kid
        return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid or default_kid})


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def oidc_settings(provider: Provider, tmp_path: Path) -> Settings:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    return Settings(
        auth_key_dir=str(tmp_path / "auth"),
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_file=str(jwks),
    )


def test_the_settings_name_the_providers_keys_beside_the_services_own(oidc_settings: Settings, provider):
    keyring = load_keyring(oidc_settings)
    idp = {kid: key for kid, key in keyring.public_keys.items() if isinstance(key, IdentityProviderKey)}
    assert sorted(idp) == sorted([provider.rsa_kid, provider.ec_kid])
    assert {(k.issuer, k.audience, k.person_claim) for k in idp.values()} == {
        (ISSUER, AUDIENCE, "employee_id")
    }
    assert {k.algorithm for k in idp.values()} == {"RS256", "ES256"}
    assert keyring.signing_key is not None and keyring.kid in keyring.public_keys  # own key still there
    # the audience defaults to the namespace; without the settings there is no provider at all
    default = oidc_settings.model_copy(update={"oidc_audience": None, "temporal_namespace": "hr-prod"})
    assert {k.audience for k in provider_keys(default).values()} == {"hr-prod"}
    assert provider_keys(Settings(auth_key_dir=oidc_settings.auth_key_dir)) == {}


def test_a_providers_token_is_accepted_with_its_person_claim(oidc_settings: Settings, provider):
    keys = load_keyring(oidc_settings).public_keys
    for algorithm in ("RS256", "ES256"):
        jti = uuid.uuid4().hex
        token = provider.token(algorithm=algorithm, jti=jti)
        credential = verify_token(token, keys, audience="default", at=NOW)
        assert (credential.person_id, credential.token_id, credential.purpose) == ("E1003", jti, "answer")
        assert credential.expires_at == NOW + timedelta(minutes=5) and credential.workflow_id is None
        # an Update's handler reads the same claims, with the worker's person claims
        assert read_claims(token, {ISSUER: "employee_id"}) == credential
    # the person claim is a setting: where the provider's subject is the employee id, "sub"
    by_sub = oidc_settings.model_copy(update={"oidc_person_claim": "sub"})
    token = provider.token(sub="E1005", drop=("employee_id",))
    credential = verify_token(token, provider_keys(by_sub), audience="default", at=NOW)
    assert credential.person_id == "E1005"
    assert read_claims(token, {ISSUER: "sub"}).person_id == "E1005"


def test_a_providers_token_without_jti_gets_a_stable_id_from_its_signature(oidc_settings, provider):
    keys = load_keyring(oidc_settings).public_keys
    token = provider.token(drop=("jti",))
    credential = verify_token(token, keys, audience="default", at=NOW)
    assert credential.token_id.startswith("sig-") and credential.token_id not in token
    assert read_claims(token, {ISSUER: "employee_id"}).token_id == credential.token_id


def test_every_bad_providers_token_is_refused_with_its_reason(oidc_settings: Settings, provider):
    keys = load_keyring(oidc_settings).public_keys
    stranger = Provider()  # another provider's key, under our provider's kid
    cases = {
        provider.token(iss="https://login.elsewhere.example"): "from an issuer this service does not trust",
        provider.token(aud="another-service"): "for another service (audience)",
        provider.token(now=NOW - timedelta(hours=1)): "has expired",
        altered(provider.token()): "not valid (altered, or its signature does not match)",
        stranger.token(kid=provider.rsa_kid): "not valid (altered, or its signature does not match)",
        provider.token(kid="unknown-kid"): "not signed by a key this service trusts",
        provider.token(drop=("employee_id",)): "does not name the person (no 'employee_id' claim)",
        provider.token(employee_id=""): "does not name the person",
        provider.token(drop=("exp",)): "not valid (a claim is missing)",
        provider.token(drop=("iss",)): "not valid (a claim is missing)",
        # the RSA key verifies RS256 only: a token may not pick another algorithm for it
        provider.token(algorithm="RS384"): "not signed by a key this service trusts",
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "employee_id": "E1003", "exp": 2**40},
            "s" * 32,
            algorithm="HS256",
            headers={"kid": provider.rsa_kid},
        ): "not signed by a key this service trusts",
    }
    for token, reason in cases.items():
        with pytest.raises(CredentialRefused) as err:
            verify_token(token, keys, audience="default", at=NOW)
        assert reason in str(err.value), reason
        assert token not in str(err.value)
    # a sign-in is good for answers, never as a decision link (links stay the service's own)
    with pytest.raises(CredentialRefused, match="for answers, not for opening a decision link"):
        verify_token(provider.token(), keys, audience="default", at=NOW, purpose=LINK)
    # the service's own refusals are unchanged: its tokens still need its own keys
    own = load_keyring(oidc_settings)
    token, _ = own.issue("E1003", "default", timedelta(minutes=5), now=NOW)
    assert verify_token(token, keys, audience="default", at=NOW).person_id == "E1003"
    with pytest.raises(CredentialRefused, match="for another namespace"):
        verify_token(token, keys, audience="other", at=NOW)


def test_oidc_settings_that_cannot_work_are_refused_at_start(tmp_path: Path, provider):
    key_dir = str(tmp_path / "auth")
    with pytest.raises(SignInError, match="needs HR_OIDC_ISSUER"):
        provider_keys(Settings(auth_key_dir=key_dir, oidc_jwks_file=str(tmp_path / "jwks.json")))
    # the issuer alone: its keys come from its discovery document, which must be reachable
    with pytest.raises(SignInError, match="discovery document cannot be fetched"):
        load_keyring(Settings(auth_key_dir=key_dir, oidc_issuer="http://127.0.0.1:9/realms/staff"))
    with pytest.raises(SignInError, match="cannot be read"):
        provider_keys(
            Settings(auth_key_dir=key_dir, oidc_issuer=ISSUER, oidc_jwks_file=str(tmp_path / "missing.json"))
        )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(SignInError, match="not a JWKS"):
        provider_keys(Settings(auth_key_dir=key_dir, oidc_issuer=ISSUER, oidc_jwks_file=str(garbage)))
    symmetric = tmp_path / "hmac.json"
    symmetric.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h1"}]}))
    with pytest.raises(SignInError, match="no signing key"):
        provider_keys(Settings(auth_key_dir=key_dir, oidc_issuer=ISSUER, oidc_jwks_file=str(symmetric)))
    from_env = Settings.from_env(
        {"HR_OIDC_ISSUER": ISSUER, "HR_OIDC_AUDIENCE": AUDIENCE, "HR_OIDC_PERSON_CLAIM": "upn"}
    )
    assert (from_env.oidc_issuer, from_env.oidc_audience, from_env.oidc_person_claim) == (
        ISSUER,
        AUDIENCE,
        "upn",
    )


# ----- on the time-skipping server ----------------------------------------------------------------


@pytest.fixture
def restored_worker_keys() -> Iterator[None]:
    """The worker's keys are the process's: put back what was there before the test."""
    keys, claims = dict(worker_identity._PUBLIC_KEYS), dict(worker_identity._PERSON_CLAIMS)
    yield
    worker_identity._PUBLIC_KEYS.clear()
    worker_identity._PUBLIC_KEYS.update(keys)
    worker_identity._PERSON_CLAIMS.clear()
    worker_identity._PERSON_CLAIMS.update(claims)


@pytest_asyncio.fixture(loop_scope="session")
async def oidc_review(time_skipping_env, engine, db_url, smtp, provider, tmp_path, restored_worker_keys):
    """Job-description reviews, on a worker configured with the identity provider."""
    seed_city(engine)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    settings = Settings(
        database_url=db_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_file=str(jwks),
    )
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    mailer = mailer_for_tests(engine, smtp)
    async with worker_and_mailer(
        time_skipping_env.client, settings, engine, task_queue=task_queue, mailer=mailer
    ):
        yield Review(env=time_skipping_env, engine=engine, smtp=smtp, task_queue=task_queue)


def as_signed_in(client: Client, token: str) -> Client:
    config = client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: token)]
    return Client(**config)


async def test_a_decision_signed_by_the_provider_is_taken_and_its_jti_audited(oidc_review: Review, provider):
    review = oidc_review
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    first, second, *_ = status.open_steps[0].pending
    now = datetime.now(timezone.utc)

    wrong_issuer = provider.token(employee_id=first, iss="https://evil.example", now=now, lifetime=LONG)
    answer = DecisionInput(actor_id=first, decision="approve", step_id="review-1")
    reason = await refusal(as_signed_in(review.client, wrong_issuer), handle, answer)
    assert "from an issuer this service does not trust" in reason
    # nothing changed: the step's opening (written by its activity, maybe still under way) only
    assert [row.action for row in await review.wait_for_audit(handle.id, 1)] == ["opened"]

    jti = uuid.uuid4().hex
    token = provider.token(employee_id=first, jti=jti, now=now, lifetime=LONG)
    receipt = (
        await as_signed_in(review.client, token)
        .get_workflow_handle(handle.id)
        .execute_update("decide", answer, result_type=DecisionReceipt)
    )
    assert receipt.actor_id == first
    rows = await review.wait_for_audit(handle.id, 2)
    taken = [row for row in rows if row.action == "approve"]
    assert [(row.actor_id, row.token_id) for row in taken] == [(first, jti)]

    # a signal signed by the provider: checked in the local activity, taken, its jti audited
    signal_jti = uuid.uuid4().hex
    signed = provider.token(algorithm="ES256", employee_id=second, jti=signal_jti, now=now, lifetime=LONG)
    await (
        as_signed_in(review.client, signed)
        .get_workflow_handle(handle.id)
        .signal("decide", DecisionInput(actor_id=second, decision="approve", step_id="review-1"))
    )
    rows = await review.wait_for_audit(handle.id, 3)
    taken = [row for row in rows if row.action == "approve"]
    assert [(row.actor_id, row.token_id) for row in taken] == [(first, jti), (second, signal_jti)]
    await handle.terminate("done")
