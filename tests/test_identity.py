"""The sign-in's parts on their own: keys made on first start and rotated, credentials checked
for every way they can be wrong, passwords, the CLI's cache, the header, the signer rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from activities.seed import seed_city
from schemas.credentials import LINK, Credential, CredentialRefused, read_claims, verify_token
from schemas.human_step import DecisionInput, Participant, StepSpec, StepState
from schemas.identity_tables import LocalAccount
from service.identity import (
    SignInError,
    cache_token,
    cached_token,
    check_password,
    load_keyring,
    retire_keys,
    rotate_key,
    set_password,
)
from service.settings import Settings
from service.signing import header
from workflows.credentials import header_token
from workflows.rules.human_step import DecisionRefused, check_signer

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)


def settings_in(folder: Path, **values: Any) -> Settings:
    return Settings(auth_key_dir=str(folder / "keys"), auth_token_dir=str(folder / "tokens"), **values)


def test_the_embedded_default_makes_its_key_pair_once_and_keeps_it_private(tmp_path: Path):
    first = load_keyring(settings_in(tmp_path))
    again = load_keyring(settings_in(tmp_path))
    assert first.kid == again.kid and list(again.public_keys) == [first.kid]
    assert (tmp_path / "keys" / "signing.pem").stat().st_mode & 0o077 == 0


def test_rotation_keeps_the_previous_keys_credentials_valid_until_retired(tmp_path: Path):
    settings = settings_in(tmp_path)
    old = load_keyring(settings)
    token, _ = old.issue("E1006", "default", timedelta(hours=1), now=NOW)
    new_kid = rotate_key(tmp_path / "keys")
    rotated = load_keyring(settings)
    assert rotated.kid == new_kid != old.kid
    assert rotated.verify(token, "default", at=NOW).person_id == "E1006"  # still valid
    assert rotated.verify(token, "default", at=NOW + timedelta(minutes=59)).person_id == "E1006"
    with pytest.raises(CredentialRefused, match="expired"):
        rotated.verify(token, "default", at=NOW + timedelta(hours=1))
    assert retire_keys(tmp_path / "keys") == [old.kid]
    with pytest.raises(CredentialRefused, match="not signed by a key this service trusts"):
        load_keyring(settings).verify(token, "default", at=NOW)



def test_hr_admin_rotate_signing_key_then_retire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The command line's rotation: a new key that signs, the old one trusted until ``--retire``."""
    from typer.testing import CliRunner

    from starter import app

    monkeypatch.setenv("HR_AUTH_KEY_DIR", str(tmp_path / "keys"))
    settings = settings_in(tmp_path)
    old = load_keyring(settings)
    token, _ = old.issue("E1006", "default", timedelta(hours=1), now=NOW)
    runner = CliRunner()
    rotated = runner.invoke(app, ["admin", "rotate-signing-key"])
    assert rotated.exit_code == 0, rotated.output
    now = load_keyring(settings)
    assert f"new signing key {now.kid}" in rotated.output and now.kid != old.kid
    assert now.verify(token, "default", at=NOW).person_id == "E1006"
    retired = runner.invoke(app, ["admin", "rotate-signing-key", "--retire"])
    assert (retired.exit_code, retired.output.strip()) == (0, "retired 1 previous key(s)")
    with pytest.raises(CredentialRefused, match="not signed by a key this service trusts"):
        load_keyring(settings).verify(token, "default", at=NOW)

def test_production_keys_from_the_environment_and_a_worker_that_only_verifies(tmp_path: Path):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = tmp_path / "trusted.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    issuer = load_keyring(
        Settings.from_env({"HR_AUTH_PRIVATE_KEY": pem, "HR_AUTH_KEY_DIR": str(tmp_path / "x")})
    )
    worker = load_keyring(Settings.from_env({"HR_AUTH_PUBLIC_KEYS_FILE": str(public)}))
    token, _ = issuer.issue("E1010", "hr-prod", timedelta(minutes=5), now=NOW)
    assert worker.signing_key is None and worker.verify(token, "hr-prod", at=NOW).person_id == "E1010"
    with pytest.raises(SignInError):
        worker.issue("E1010", "hr-prod", timedelta(minutes=5))
    assert not (tmp_path / "x").exists()  # nothing written where keys come from the environment
    assert pem not in repr(Settings.from_env({"HR_AUTH_PRIVATE_KEY": pem}))


def test_a_credential_is_refused_for_every_way_it_can_be_wrong(tmp_path: Path):
    keyring = load_keyring(settings_in(tmp_path))
    keys = keyring.public_keys
    good, credential = keyring.issue("E1006", "default", timedelta(minutes=5), now=NOW)
    assert credential == Credential(
        person_id="E1006", token_id=credential.token_id, expires_at=NOW + timedelta(minutes=5)
    )
    assert verify_token(good, keys, audience="default", at=NOW) == credential
    link, _ = keyring.issue("E1006", "default", timedelta(days=1), purpose=LINK, workflow_id="wf-1", now=NOW)
    cases = {
        None: "carries no credential",
        "": "carries no credential",
        "x" * 5000: "malformed",
        "a.b": "malformed",
        good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"): "signature does not match",
        link: "is for opening a decision link, not for answers",
    }
    for token, reason in cases.items():
        with pytest.raises(CredentialRefused, match=reason):
            verify_token(token, keys, audience="default", at=NOW)
    with pytest.raises(CredentialRefused, match="another namespace"):
        verify_token(good, keys, audience="other", at=NOW)
    with pytest.raises(CredentialRefused, match="has expired"):
        verify_token(good, keys, audience="default", at=NOW + timedelta(minutes=5))
    with pytest.raises(CredentialRefused, match="another workflow"):
        verify_token(link, keys, audience="default", at=NOW, purpose=LINK, workflow_id="wf-2")
    assert read_claims(good) == credential  # the claims alone, as a replaying handler reads them


def test_passwords_are_argon2_hashes_and_every_failure_reads_the_same(engine: Engine):
    seed_city(engine)
    with pytest.raises(SignInError, match="at least 10"):
        set_password(engine, "E1006", "short")
    with pytest.raises(SignInError, match="unknown person E9999"):
        set_password(engine, "E9999", "long enough password")
    set_password(engine, "E1006", "long enough password")
    with Session(engine) as s:
        account = s.get(LocalAccount, "E1006")
        assert account is not None and account.password_hash.startswith("$argon2")
        assert "long enough" not in account.password_hash
    check_password(engine, "E1006", "long enough password")
    for person, password in [("E1006", "wrong password"), ("E9999", "long enough password"), ("E1007", "x")]:
        with pytest.raises(SignInError, match="^unknown person or wrong password$"):
            check_password(engine, person, password)


def test_the_cli_cache_holds_a_credential_until_it_expires_for_its_namespace(tmp_path: Path):
    settings = settings_in(tmp_path)
    keyring = load_keyring(settings)
    token, credential = keyring.issue("E1006", "default", timedelta(minutes=5))
    cache_token(settings, token, credential)
    assert cached_token(settings, "E1006") == token
    assert cached_token(settings, "E1007") is None
    assert cached_token(settings_in(tmp_path, temporal_namespace="other"), "E1006") is None
    stale, old = keyring.issue("E1008", "default", timedelta(minutes=5), now=NOW - timedelta(days=1))
    cache_token(settings, stale, old)
    assert cached_token(settings, "E1008") is None
    with pytest.raises(SignInError):
        cache_token(settings, token, credential.model_copy(update={"person_id": "../etc"}))


def test_the_header_carries_one_json_string():
    assert header_token({"hr_credential": header("abc.def.ghi")}) == "abc.def.ghi"
    bad = header("x")
    bad.data = b"{not json"
    assert header_token({"hr_credential": bad}) is None
    number = header("x")
    number.data = b"42"
    assert header_token({"hr_credential": number}) is None
    assert header_token({}) is None and header_token(None) is None


def _state(delegates: dict[str, list[str]] | None = None) -> StepState:
    spec = StepSpec(
        step_id="review-1",
        title="Review",
        participants=[Participant(person_id="E1010", role="supervisor")],
        allowed=["approve"],
        due_at=NOW + timedelta(days=14),
        delegates=delegates or {},
    )
    return StepState(spec=spec, opened_at=NOW)


def _signed_by(person: str, step: str | None = None) -> Credential:
    return Credential(person_id=person, token_id="t1", expires_at=NOW + timedelta(hours=1), step_id=step)


def test_the_signer_must_be_the_actor_or_the_participants_delegate():
    answer = DecisionInput(actor_id="E1010", decision="approve")
    check_signer(_state(), answer, "E1010", _signed_by("E1010"))
    check_signer(_state({"E1030": ["E1010"]}), answer, "E1010", _signed_by("E1030"))  # a delegate
    with pytest.raises(DecisionRefused, match="the credential names E1030, not E1010"):
        check_signer(_state(), answer, "E1010", _signed_by("E1030"))
    with pytest.raises(DecisionRefused, match="the credential is for step union-1, not review-1"):
        check_signer(_state(), answer, "E1010", _signed_by("E1010", step="union-1"))
