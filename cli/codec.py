"""``hr codec-server`` and ``hr admin new-codec-key``: the payload codec from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.support import CliError, load_settings, run, serve_forever, stop_on_sigterm


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


def register(app: typer.Typer, admin_app: typer.Typer) -> None:
    """Adds ``codec-server`` to the ``hr`` app and ``new-codec-key`` to ``hr admin``."""
    app.command("codec-server")(codec_server)
    admin_app.command("new-codec-key")(new_codec_key)
