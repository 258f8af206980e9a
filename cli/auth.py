"""Sign-in for the command line: ``hr login``, ``hr logout``, ``hr user set-password``,
``hr admin rotate-signing-key``.

``hr login --as E1008`` checks the person's local password (the embedded default; argon2 hashes
in the store, set by ``hr user set-password``); ``hr login --oidc`` signs in through the city's
identity provider (authorization code with PKCE and a loopback redirect, RFC 8252) and caches
its ID token instead. Either way the CLI keeps one credential per person with its expiry
(``HR_AUTH_TOKEN_DIR``, one file per person, mode 0600). Every Update and signal the CLI
then sends as that person carries it (``cli/temporal.py``); with none cached, the CLI refuses in
one line before sending anything.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.store import require_person, store_engine
from cli.support import CliError, fail, load_settings, run
from service.identity import (
    SignInError,
    cache_token,
    forget_token,
    retire_keys,
    rotate_key,
    set_password,
    sign_in,
)
from service.settings import Settings

user_app = typer.Typer(help="Local accounts of the embedded sign-in.", no_args_is_help=True)

AsOption = Annotated[str, typer.Option("--as", help="Your person id (e.g. E1008).")]


def _password(stdin: bool, prompt: str, confirm: bool = False) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def login(
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Your person id (e.g. E1008); with --oidc, the provider names you."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    oidc: Annotated[
        bool,
        typer.Option(
            "--oidc",
            help=(
                "Sign in through the city's identity provider (OpenID Connect, HR_OIDC_ISSUER and "
                "HR_OIDC_CLIENT_ID) instead of a local password: prints an address to open in your "
                "browser, receives the provider's answer on 127.0.0.1, and caches the provider's "
                "ID token as your CLI credential until it expires."
            ),
        ),
    ] = False,
    timeout: Annotated[
        int, typer.Option("--timeout", help="With --oidc: seconds to wait for the browser.", min=5)
    ] = 300,
) -> None:
    """Sign in and cache a credential for the CLI: a local password (the embedded default, for
    HR_AUTH_LOGIN_MINUTES), or with --oidc the city's identity provider (its ID token)."""
    settings = load_settings()
    if oidc:
        _login_oidc(settings, as_, timeout)
        return
    if as_ is None:
        fail("say who you are: hr login --as PERSON (or hr login --oidc)", code=2)
    person_id: str = as_
    password = _password(password_stdin, "Password")

    async def body() -> None:
        engine = store_engine(settings)
        try:
            token, credential = await asyncio.to_thread(sign_in, engine, settings, person_id, password)
        except SignInError as err:
            raise CliError(f"sign-in refused: {err}") from None
        cache_token(settings, token, credential)
        typer.echo(f"signed in as {person_id} until {credential.expires_at:%Y-%m-%d %H:%M} UTC")

    run(body())


def _login_oidc(settings: Settings, as_: str | None, timeout: int) -> None:
    from service.oidc import OidcError, SignInFlow, loopback_sign_in

    def show(url: str) -> None:
        typer.echo("Open this address in your browser to sign in with the city's identity provider:")
        typer.echo(url)
        sys.stdout.flush()

    async def body() -> None:
        try:
            flow = await asyncio.to_thread(SignInFlow.from_settings, settings)
            token, credential = await asyncio.to_thread(loopback_sign_in, flow, show, timeout=timeout)
        except OidcError as err:
            raise CliError(f"sign-in refused: {err}") from None
        if as_ is not None and credential.person_id != as_:
            who = credential.person_id
            raise CliError(f"sign-in refused: the identity provider signed in {who}, not {as_}")
        engine = store_engine(settings)
        try:
            await asyncio.to_thread(require_person, engine, credential.person_id)
        finally:
            engine.dispose()
        cache_token(settings, token, credential)
        typer.echo(
            f"signed in as {credential.person_id} through the identity provider"
            f" until {credential.expires_at:%Y-%m-%d %H:%M} UTC"
        )

    run(body())


def logout(as_: AsOption) -> None:
    """Forget your cached credential."""
    settings = load_settings()
    typer.echo(f"signed out {as_}" if forget_token(settings, as_) else f"{as_} was not signed in")


@user_app.command("set-password")
def user_set_password(
    person_id: Annotated[str, typer.Argument(help="The person's id (e.g. E1008).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Set a person's password for the embedded sign-in (argon2-hashed in the store)."""
    settings = load_settings()
    password = _password(password_stdin, "New password", confirm=True)

    async def body() -> None:
        engine = store_engine(settings)
        await asyncio.to_thread(require_person, engine, person_id)
        try:
            await asyncio.to_thread(set_password, engine, person_id, password)
        except SignInError as err:
            raise CliError(str(err)) from None
        typer.echo(f"password set for {person_id}")

    run(body())


def rotate(
    retire: Annotated[
        bool,
        typer.Option(
            "--retire", help="Instead, drop every previous public key (once their credentials expired)."
        ),
    ] = False,
) -> None:
    """Make a new signing key under HR_AUTH_KEY_DIR; credentials of the previous one stay valid."""
    settings = load_settings()
    key_dir = Path(settings.auth_key_dir)
    if retire:
        dropped = retire_keys(key_dir)
        typer.echo(f"retired {len(dropped)} previous key(s)")
    else:
        typer.echo(f"new signing key {rotate_key(key_dir)}; restart the workers and the web application")


def register(app: typer.Typer, admin_app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)
    app.add_typer(user_app, name="user")
    admin_app.command("rotate-signing-key")(rotate)
