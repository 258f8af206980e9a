"""``hr codec-server``, ``hr admin new-codec-key`` and ``hr admin rotate-key``: the payload codec."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.support import CliError, fail, load_settings, run, serve_forever, stop_on_sigterm


def codec_server(
    host: Annotated[
        str, typer.Option(help="Address to listen on; another than loopback needs HR_CODEC_AUTH_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port; default HR_CODEC_PORT (8234).")] = None,
) -> None:
    """Serve /decode and /encode for the Temporal Web UI with the key in HR_CODEC_KEY, until Ctrl-C."""
    from service.codec_server import CodecServerError, codec_server_for

    settings = load_settings()

    async def body() -> None:
        stop_on_sigterm()
        try:
            server = codec_server_for(settings, host=host, port=port).start()
        except CodecServerError as err:
            raise CliError(str(err)) from None
        try:
            typer.echo(f"codec server at {server.url} (key id {server.codec.key_id})")
            typer.echo(
                f"in the Web UI ({settings.ui_url}) set the codec endpoint to {server.url}, "
                f"or start the dev server with --ui-codec-endpoint {server.url}"
            )
            if server.auth_token:
                typer.echo(
                    "requests need 'Authorization: Bearer <HR_CODEC_AUTH_TOKEN>', or the token in the "
                    f"path: a UI that sends no headers uses the endpoint {server.url}/t/<HR_CODEC_AUTH_TOKEN>"
                )
            else:
                typer.echo(
                    "no HR_CODEC_AUTH_TOKEN: unauthenticated, so it listens on loopback only and answers "
                    f"only the Web UI on this machine ({', '.join(sorted(server.allowed_origins)) or 'none'})"
                )
            typer.echo("press Ctrl-C to stop")
            await serve_forever()
        finally:
            server.stop()

    run(body(), interrupt_ok=True)


def new_codec_key() -> None:
    """Print a fresh random AES-256 key for HR_CODEC_KEY (and nothing else on stdout)."""
    from service.codec import new_key

    typer.echo(new_key())
    typer.echo(
        "set it as HR_CODEC_KEY for every worker, client and codec server; "
        "payloads written with a key can only ever be read with that key",
        err=True,
    )


def rotate_key(
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="Id of the new key; default: after HR_CODEC_KEY_ID's.")
    ] = None,
) -> None:
    """Make the next codec key and print how to roll it out while processes stay open.

    The new key is printed on stdout (a secret: put it in the secrets store); the steps on
    stderr. The current key is never printed.
    """
    from service.codec import codec_from_settings, new_key, next_key_id

    settings = load_settings()
    try:
        codec = codec_from_settings(settings)
    except ValueError as err:
        fail(str(err))
    if codec is None:
        fail("HR_CODEC_KEY is not set: there is no key to rotate; `hr admin new-codec-key` makes one")
    new_id = (key_id or next_key_id(codec.key_id)).strip()
    if not new_id or not new_id.isascii() or not new_id.isprintable() or ":" in new_id or "," in new_id:
        fail(f"--key-id {new_id!r} must be a printable ASCII label without ':' or ',', e.g. hr-2")
    if new_id in codec.key_ids:
        fail(f"--key-id {new_id} is already in use (keys held: {', '.join(codec.key_ids)})")
    key = new_key()
    held = [f"{codec.key_id}:<the current HR_CODEC_KEY>", *(f"{k}:<its key>" for k in codec.key_ids[1:])]
    previous = ",".join(held)
    typer.echo(key)
    steps = [
        f"new key id {new_id}; the key is on stdout above. Roll it out in three steps:",
        f"1. everywhere (workers, CLI, codec server, web): add it as a key that only decrypts, "
        f"HR_CODEC_PREVIOUS_KEYS={new_id}:<new key>,{previous}; restart them one by one",
        f"2. everywhere: HR_CODEC_KEY=<new key> HR_CODEC_KEY_ID={new_id} "
        f"HR_CODEC_PREVIOUS_KEYS={previous}; restart them one by one (now the new key encrypts)",
        f"3. keep {codec.key_id} in HR_CODEC_PREVIOUS_KEYS while any history written with it is kept "
        "(open processes, and closed ones for the namespace's retention); then remove it",
        "a payload whose key is gone fails with an error naming its key id: put that key back",
    ]
    for line in steps:
        typer.echo(line, err=True)


def register(app: typer.Typer, admin_app: typer.Typer) -> None:
    """Adds ``codec-server`` to the ``hr`` app and ``new-codec-key``, ``rotate-key`` to ``hr admin``."""
    app.command("codec-server")(codec_server)
    admin_app.command("new-codec-key")(new_codec_key)
    admin_app.command("rotate-key")(rotate_key)
