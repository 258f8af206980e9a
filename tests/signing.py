"""Real credentials for the tests: a key pair of the session, and clients that sign with it.

The session's key pair lives in a folder named by ``HR_AUTH_KEY_DIR`` (``tests/conftest.py``
sets it), so every ``Settings()`` built by a test, every worker and every ``hr`` subprocess
verifies with it. ``signing_interceptors()`` makes a client sign each Update and signal with a
real credential for the actor its payload names, as a signed-in person's client does;
``unsigned(client)`` is the same client without it (the raw ``temporal workflow update`` path).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from service.identity import KeyRing, cache_token, load_keyring
from service.settings import Settings
from service.signing import SigningInterceptor, issuing

LIFETIME = timedelta(days=365 * 60)
"""Longer than any time-skipping test skips ahead (the workflow's clock decides expiry)."""

CLI_PEOPLE = [f"E{n}" for n in range(1001, 1100)]
"""People whose ``hr login`` is cached for the CLI's subprocesses (the seed and later hires)."""


def session_keyring() -> KeyRing:
    return load_keyring(Settings())


def signing_interceptors(namespace: str = "default") -> list[SigningInterceptor]:
    return [SigningInterceptor(issuing(session_keyring(), namespace, LIFETIME))]


def token_for(person_id: str, namespace: str = "default", **claims: object) -> str:
    token, _ = session_keyring().issue(person_id, namespace, LIFETIME, **claims)  # type: ignore[arg-type]
    return token


def unsigned(client: Client) -> Client:
    """The same connection without the signing interceptor."""
    config = client.config()
    config["interceptors"] = []
    return Client(**config)


def prepare(key_dir: Path, token_dir: Path) -> None:
    """Makes the session's key pair and the CLI's cached sign-ins (``hr login``) of ``CLI_PEOPLE``."""
    settings = Settings(auth_key_dir=str(key_dir), auth_token_dir=str(token_dir))
    keyring = load_keyring(settings)
    for person_id in CLI_PEOPLE:
        token, credential = keyring.issue(person_id, settings.temporal_namespace, LIFETIME)
        cache_token(settings, token, credential)
