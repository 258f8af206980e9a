"""Sign-in through a REAL OpenID provider running here (``oidc-provider-mock``: an Authlib-based
provider server with discovery, a JWKS endpoint, an authorization form and a token endpoint).

- The web application's "sign in with the city's identity provider": the authorization-code flow
  driven with HTTP clients (the app in process, the provider over TCP), the signed-in person's
  answer moving a real job-description review on the dev server, and every refusal (bad state,
  the provider's refusal, an unknown person, a sign-in not started here, another client's ID
  token) giving a clear page, a log line without tokens, and changing nothing.
- ``hr login --oidc`` (a subprocess): the loopback redirect, the provider's ID token cached as
  the CLI credential, and ``hr decide`` with it moving the workflow.
- Workers fetching the provider's keys from its JWKS endpoint (found by discovery): a rotated key
  is fetched again (an Update is refused until the background fetch has run; a signal's local
  activity fetches before deciding), and the minimum interval between fetches holds.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import httpx
import jwt
import oidc_provider_mock
import pytest
import pytest_asyncio
from authlib import jose
from structlog.testing import capture_logs
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from activities import identity as worker_identity
from activities.db import create_schema, make_engine
from activities.seed import seed_city
from schemas.credentials import CredentialRefused
from schemas.human_step import DecisionInput, DecisionReceipt
from service.identity import load_keyring
from service.oidc import JwksSource, OidcError, SignInFlow
from service.settings import Settings
from service.signing import SigningInterceptor
from tests.harness_common import mailer_for_tests, poll_until
from tests.smtp_server import SmtpSink
from tests.web_stack import WebStack
from worker import worker_and_mailer
from workflows.credentials import KEYS_BEING_FETCHED

if TYPE_CHECKING:
    from temporalio.testing import WorkflowEnvironment

pytest_plugins = ["tests.dev_server"]

REPO = Path(__file__).resolve().parents[1]
WEB_URL = "http://hr.test"
WEB_CLIENT = "hr-web"
CLI_CLIENT = "hr-cli"
BOB = "bob@city.example"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Provider:
    """The identity provider, running on a free port of this machine."""

    server: Any
    names_kid: bool

    @property
    def issuer(self) -> str:
        return f"http://localhost:{self.server.server_port}"

    def person(self, subject: str, employee_id: str) -> None:
        """The provider's account ``subject``, whose tokens name ``employee_id``."""
        response = httpx.put(f"{self.issuer}/users/{subject}", json={"employee_id": employee_id})
        assert response.status_code == 204

    def authorize(self, url: str, subject: str) -> str:
        """The person signs in at the provider (its form): the address it sends them back to."""
        response = httpx.post(url, data={"sub": subject})
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def deny(self, url: str) -> str:
        response = httpx.post(url, data={"action": "deny"})
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def rotate(self) -> str:
        """The provider replaces its signing key (its JWKS then lists the new one only)."""
        app: flask.Flask = self.server.app
        with app.test_request_context("/"):
            app.preprocess_request()
            storage = flask.g.oidc_provider_mock_storage
            storage.jwk = jose.RSAKey.generate_key(is_private=True)
        return self.kid()

    def kid(self) -> str:
        return str(httpx.get(f"{self.issuer}/jwks").json()["keys"][0]["kid"])

    def sign_in(self, client_id: str, subject: str) -> str:
        """A whole sign-in of ``subject`` for ``client_id``: the provider's ID token."""
        flow = SignInFlow.from_settings(oidc_settings(self, oidc_client_id=client_id))
        url, pending = flow.begin("http://127.0.0.1:9/callback")
        back = self.authorize(url, subject)
        params = dict(httpx.URL(back).params)
        token, _ = flow.finish(pending, params)
        return token


def oidc_settings(provider: Provider, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": WEB_CLIENT,
        "oidc_client_secret": "web-client-secret",
        "oidc_jwks_min_refresh_seconds": 0,
    }
    return Settings(**(values | more))


def _with_kid(original: Any) -> Any:
    """The provider's ID tokens name their key (``kid``), as production providers' do."""

    def get_jwt_config(self: Any, grant: Any, client: Any = None) -> dict[str, Any]:
        config = dict(original(self, grant, client))
        config["kid"] = jose.KeySet((flask.g.oidc_provider_mock_storage.jwk,)).as_dict()["keys"][0]["kid"]
        return config

    return get_jwt_config


@pytest.fixture(params=["as shipped", "kid in header"])
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    """The provider as shipped (its ID tokens name no ``kid``: allowed while its JWKS holds one
    key) and as production providers issue them (a ``kid`` in every token)."""
    if request.param == "kid in header":
        code = oidc_provider_mock._app.OpenIDCode
        monkeypatch.setattr(code, "get_jwt_config", _with_kid(code.get_jwt_config))
    with oidc_provider_mock.run_server_in_thread() as server:
        yield Provider(server, names_kid=request.param == "kid in header")


@pytest.fixture
def restored_worker_keys() -> Iterator[None]:
    """The worker's keys are the process's: put back what was there before the test."""
    keys, claims = dict(worker_identity._PUBLIC_KEYS), dict(worker_identity._PERSON_CLAIMS)
    sources = dict(worker_identity._SOURCES)
    yield
    for name, saved in (("_PUBLIC_KEYS", keys), ("_PERSON_CLAIMS", claims), ("_SOURCES", sources)):
        table = getattr(worker_identity, name)
        table.clear()
        table.update(saved)


@pytest_asyncio.fixture(loop_scope="session")
async def oidc_stack(
    dev_env: WorkflowEnvironment, tmp_path: Path, provider: Provider, restored_worker_keys: None
) -> AsyncIterator[WebStack]:
    """A seeded store, SMTP, and a worker whose provider keys come from discovery (the JWKS
    endpoint), with the web application set up for the provider."""
    db_url = f"sqlite:///{tmp_path / 'hr.db'}"
    engine = make_engine(db_url)
    create_schema(engine)
    seed_city(engine)
    smtp = SmtpSink().start()
    task_queue = f"oidc-{uuid.uuid4().hex[:8]}"
    settings = oidc_settings(
        provider,
        database_url=db_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        task_queue=task_queue,
        web_url=WEB_URL,
        oidc_audience=CLI_CLIENT,  # the CLI's ID tokens are the workers' credentials
    )
    try:
        async with worker_and_mailer(
            dev_env.client, settings, engine, task_queue=task_queue, mailer=mailer_for_tests(engine, smtp)
        ):
            yield WebStack(env=dev_env, settings=settings, engine=engine, smtp=smtp, task_queue=task_queue)
    finally:
        smtp.stop()
        engine.dispose()


def browser(stack: WebStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=stack.app()), base_url=WEB_URL)


async def to_the_provider(web: httpx.AsyncClient, provider: Provider) -> str:
    """The sign-in page sends the browser to the provider (PKCE, state, nonce): that address."""
    started = await web.get("/login/oidc")
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(f"{provider.issuer}/oauth2/authorize?")
    query = dict(httpx.URL(location).params)
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["client_id"] == WEB_CLIENT
    return location


async def signed_in_at_provider(web: httpx.AsyncClient, provider: Provider, subject: str) -> str:
    """Sign-in page -> the provider, where ``subject`` signs in: the callback address it sends
    the browser back to (with the code and state)."""
    back = await asyncio.to_thread(provider.authorize, await to_the_provider(web, provider), subject)
    assert back.startswith(f"{WEB_URL}/login/oidc/callback?")
    return back


async def provider_round_trip(web: httpx.AsyncClient, provider: Provider, subject: str) -> httpx.Response:
    """Sign-in page -> the provider -> back to the callback: its response."""
    return await web.get((await signed_in_at_provider(web, provider, subject)).removeprefix(WEB_URL))


async def review_with_accounts(
    stack: WebStack, provider: Provider, *subjects: str
) -> tuple[WorkflowHandle, list[str]]:
    """A review waiting in ``review-1``, and its respondents; the provider's accounts
    ``subjects`` name the first of them, in order."""
    handle, status = await stack.open_review()
    pending = list(status.open_steps[0].pending)
    for subject, person in zip(subjects, pending[: len(subjects)], strict=True):
        provider.person(subject, person)
    return handle, pending


def no_secrets_in(logs: Sequence[Mapping[str, Any]], *secrets: str) -> None:
    text = repr(logs)
    for secret in secrets:
        assert secret not in text


async def test_signed_in_by_the_provider_the_persons_answer_moves_the_workflow(
    oidc_stack: WebStack, provider: Provider
):
    handle, (supervisor, *_) = await review_with_accounts(oidc_stack, provider, "alice@city.example")
    with capture_logs() as logs:
        async with browser(oidc_stack) as web:
            form = await web.get("/login")
            assert "identity provider</a>" in form.text and "Sign in with the city" in form.text
            assert 'href="/login/oidc"' in form.text
            back = await provider_round_trip(web, provider, "alice@city.example")
            assert back.status_code == 303 and back.headers["location"] == "/", back.text
            assert "hr_session" in back.cookies

            inbox = await web.get("/")
            assert inbox.status_code == 200 and handle.id in inbox.text and supervisor in inbox.text
            page = await web.get(f"/steps/{handle.id}/review-1")
            csrf = CSRF.search(page.text)
            assert csrf is not None
            done = await web.post(
                f"/steps/{handle.id}/review-1", data={"decision": "approve", "csrf": csrf.group(1)}
            )
            assert done.status_code == 200 and "approve recorded" in done.text
    after = await oidc_stack.status(handle)
    assert supervisor not in after.open_steps[0].pending
    signed = [e for e in logs if e["event"] == "web.signed_in"]
    assert [(e["person_id"], e["method"]) for e in signed] == [(supervisor, "oidc")]
    await handle.terminate("done")


async def test_every_refused_sign_in_gets_a_clear_page_a_log_line_and_changes_nothing(
    oidc_stack: WebStack, provider: Provider
):
    handle, pending = await review_with_accounts(oidc_stack, provider, BOB)
    provider.person("stranger@city.example", "E9999")
    secrets: list[str] = []
    with capture_logs() as logs:
        async with browser(oidc_stack) as web:
            # the state sent back is not this sign-in's
            url = httpx.URL(await signed_in_at_provider(web, provider, BOB))
            secrets.append(url.params["code"])
            forged = url.copy_set_param("state", "not-the-state")
            page = await web.get(str(forged).removeprefix(WEB_URL))
            assert page.status_code == 400 and "state does not match" in page.text
            assert "hr_session" not in web.cookies
            # the person refused at the provider
            denied = await asyncio.to_thread(provider.deny, await to_the_provider(web, provider))
            page = await web.get(denied.removeprefix(WEB_URL))
            assert page.status_code == 401
            assert "the identity provider refused the sign-in (access_denied)" in page.text
            # a person the provider knows but the city's directory does not
            page = await provider_round_trip(web, provider, "stranger@city.example")
            assert page.status_code == 403 and "E9999 is not an active person" in page.text
            assert "hr_session" not in web.cookies
            assert (await web.get("/")).headers["location"] == "/login"
        # a callback for a sign-in this browser never started (no pending cookie)
        async with browser(oidc_stack) as other:
            back = await signed_in_at_provider(other, provider, BOB)
            secrets.append(httpx.URL(back).params["code"])
        async with browser(oidc_stack) as fresh:
            page = await fresh.get(back.removeprefix(WEB_URL))
            assert page.status_code == 400 and "not started here" in page.text
    refused = [e for e in logs if e["event"] == "web.oidc_refused"]
    assert len(refused) == 4 and not [e for e in logs if e["event"] == "web.signed_in"]
    no_secrets_in(logs, *secrets)
    assert (await oidc_stack.status(handle)).open_steps[0].pending == pending  # nothing changed
    await handle.terminate("done")


def test_another_clients_id_token_is_refused_for_its_audience(provider: Provider):
    provider.person("carol@city.example", "E1003")
    token = provider.sign_in("another-app", "carol@city.example")
    assert ("kid" in jwt.get_unverified_header(token)) == provider.names_kid
    ours = SignInFlow.from_settings(oidc_settings(provider))
    with pytest.raises(OidcError, match=r"for another service \(audience\)") as err:
        ours.verify_id_token(token, nonce="any")
    assert token not in str(err.value)
    # the same token for its own client, but another sign-in's nonce
    theirs = SignInFlow.from_settings(oidc_settings(provider, oidc_client_id="another-app"))
    with pytest.raises(OidcError, match="nonce is not this sign-in's"):
        theirs.verify_id_token(token, nonce="another-sign-in")


# ----- hr login --oidc ------------------------------------------------------------------------------


def cli_env(provider: Provider, tmp_path: Path, **more: str) -> dict[str, str]:
    """An ``hr`` subprocess's environment: the session's keys, a token folder of the test's own,
    and the provider as the CLI's client sees it (``more`` on top)."""
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("HR_")}
        | {
            "HR_AUTH_KEY_DIR": os.environ["HR_AUTH_KEY_DIR"],
            "HR_AUTH_TOKEN_DIR": str(tmp_path / "tokens"),
            "HR_OIDC_ISSUER": provider.issuer,
            "HR_OIDC_CLIENT_ID": CLI_CLIENT,
            # this provider authenticates every client at its token endpoint (client_secret_basic);
            # without a secret the CLI is a public client, with PKCE alone
            "HR_OIDC_CLIENT_SECRET": "cli-client-secret",
        }
        | more
    )


async def hr(env: Mapping[str, str], *args: str) -> asyncio.subprocess.Process:
    """``python starter.py ARGS`` in a subprocess, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "starter.py", *args,
        cwd=REPO, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def hr_done(env: Mapping[str, str], *args: str, timeout: float) -> tuple[int | None, str, str]:
    """``hr ARGS`` run to its end: exit code, stdout, stderr."""
    proc = await hr(env, *args)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def oidc_login_started(env: Mapping[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """``hr login --oidc`` running, and the provider's address it printed for the browser."""
    proc = await hr(env, "login", "--oidc", "--timeout", "60")
    assert proc.stdout is not None
    url = ""
    while not url.startswith("http"):
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, "hr login --oidc printed no address"
        url = line.decode().strip()
    return proc, url


async def test_hr_login_oidc_caches_the_providers_id_token_and_hr_decide_sends_it(
    oidc_stack: WebStack, provider: Provider, tmp_path: Path
):
    handle, (supervisor, *_) = await review_with_accounts(oidc_stack, provider, "dana@city.example")
    env = cli_env(
        provider,
        tmp_path,
        HR_TEMPORAL_ADDRESS=oidc_stack.env.client.service_client.config.target_host,
        HR_DATABASE_URL=oidc_stack.settings.database_url,
        HR_TASK_QUEUE=oidc_stack.task_queue,
        HR_LOG_LEVEL="WARNING",
    )
    proc, url = await oidc_login_started(env)
    assert url.startswith(f"{provider.issuer}/oauth2/authorize?")
    redirect = dict(httpx.URL(url).params)["redirect_uri"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", redirect)
    back = await asyncio.to_thread(provider.authorize, url, "dana@city.example")
    assert back.startswith(redirect)
    browser_page = await asyncio.to_thread(httpx.get, back)
    assert browser_page.status_code == 200 and "Signed in" in browser_page.text
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert f"signed in as {supervisor} through the identity provider until" in out.decode()
    cached = tmp_path / "tokens" / f"{supervisor}.json"
    assert cached.stat().st_mode & 0o077 == 0
    token = __import__("json").loads(cached.read_text())["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == provider.issuer and CLI_CLIENT in claims["aud"]  # the provider's own

    code, out_text, err_text = await hr_done(
        env, "decide", handle.id, "approve", "--as", supervisor, "--step", "review-1", timeout=90
    )
    assert code == 0, err_text
    assert f"recorded approve by {supervisor}" in out_text
    assert supervisor not in (await oidc_stack.status(handle)).open_steps[0].pending
    await handle.terminate("done")


async def test_hr_login_oidc_refused_by_the_provider_caches_nothing(provider: Provider, tmp_path: Path):
    env = cli_env(provider, tmp_path)
    proc, url = await oidc_login_started(env)
    back = await asyncio.to_thread(provider.deny, url)
    page = await asyncio.to_thread(httpx.get, back)
    assert page.status_code == 400 and "refused" in page.text
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert err.decode().strip() == (
        "sign-in refused: the identity provider refused the sign-in (access_denied)"
    )
    assert not (tmp_path / "tokens").exists() or not list((tmp_path / "tokens").iterdir())
    # a password sign-in must say who: one line, exit 2
    code, _, err_text = await hr_done(env, "login", timeout=60)
    assert code == 2
    assert err_text.strip() == "say who you are: hr login --as PERSON (or hr login --oidc)"


# ----- the provider's keys from its JWKS endpoint -------------------------------------------------


def test_keys_are_fetched_again_on_a_new_key_but_not_more_often_than_the_minimum_interval(
    provider: Provider,
):
    provider.person("erin@city.example", "E1003")
    first = provider.kid()
    source = JwksSource(
        url=f"{provider.issuer}/jwks",
        issuer=provider.issuer,
        audience=CLI_CLIENT,
        person_claim="employee_id",
        min_interval=3600,
    )
    source.fetch()
    assert list(source.keys) == [first] and source.fetches == 1
    provider.rotate()
    token = provider.sign_in(CLI_CLIENT, "erin@city.example")
    assert source.may_hold_newer_key(token)
    assert source.refresh() is False and source.fetches == 1  # fetched less than an hour ago
    source.min_interval = 0
    assert source.refresh() is True and source.fetches == 2 and list(source.keys) == [provider.kid()]
    assert first not in source.keys  # the provider's retired key is no longer trusted


async def rotated_and_signed_in(stack: WebStack, provider: Provider, subject: str) -> Client:
    """The provider rotates its key, then ``subject`` signs in for the CLI's client: the test's
    connection sending that ID token with everything."""
    provider.rotate()
    token = await asyncio.to_thread(provider.sign_in, CLI_CLIENT, subject)
    config = stack.client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: token)]
    return Client(**config)


async def test_a_rotated_provider_key_is_fetched_by_the_worker_outside_the_workflow(
    oidc_stack: WebStack, provider: Provider
):
    handle, (first, second, *_) = await review_with_accounts(
        oidc_stack, provider, "frank@city.example", "gina@city.example"
    )
    source = worker_identity._SOURCES[provider.issuer]
    fetched = source.fetches
    old_kid = provider.kid()
    assert list(source.keys) == [old_kid]  # fetched by discovery when the worker started

    signer = await rotated_and_signed_in(oidc_stack, provider, "frank@city.example")
    signed = signer.get_workflow_handle(handle.id)
    answer = DecisionInput(actor_id=first, decision="approve", step_id="review-1")
    # the validator (workflow code) does not fetch: it refuses for now and asks for the keys
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await signed.execute_update("decide", answer, result_type=DecisionReceipt)
    assert KEYS_BEING_FETCHED in str(getattr(err.value.cause, "message", err.value.cause))
    await poll_until(lambda: asyncio.sleep(0, source.keys), lambda keys: old_kid not in keys, 20)
    receipt = await signed.execute_update("decide", answer, result_type=DecisionReceipt)
    assert receipt.actor_id == first

    # rotated again: a signal's local activity fetches the keys before deciding
    signer = await rotated_and_signed_in(oidc_stack, provider, "gina@city.example")
    await signer.get_workflow_handle(handle.id).signal(
        "decide", DecisionInput(actor_id=second, decision="approve", step_id="review-1")
    )
    await oidc_stack.wait_for(handle, lambda s: not s.open_steps or second not in s.open_steps[0].pending)
    assert source.fetches >= fetched + 2
    await handle.terminate("done")


def test_a_provider_down_when_a_process_starts_is_fetched_from_once_it_answers(provider: Provider):
    provider.person("hal@city.example", "E1003")
    token = provider.sign_in(CLI_CLIENT, "hal@city.example")
    jwks = f"{provider.issuer}/jwks"
    down = oidc_settings(provider, oidc_jwks_url="http://127.0.0.1:9/jwks", oidc_audience=CLI_CLIENT)
    with capture_logs() as logs:
        keyring = load_keyring(down)  # starts anyway, without the provider's keys
    assert keyring.jwks is not None and keyring.jwks.keys == {}
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["oidc.jwks_unavailable_at_start"]
    with pytest.raises(CredentialRefused, match="not signed by a key this service trusts"):
        keyring.verify(token, "default")
    keyring.jwks.url = jwks  # the provider answers again: the next token fetches its keys
    assert keyring.verify(token, "default").person_id == "E1003"
    assert keyring.jwks.fetches == 1
