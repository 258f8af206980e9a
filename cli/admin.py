"""``hr admin``: set-up and operation of a Temporal cluster (namespace, search attributes)."""

from __future__ import annotations

import typer

from cli.support import load_settings, run
from cli.temporal import connect

admin_app = typer.Typer(help="Set-up of a production Temporal cluster.", no_args_is_help=True)


@admin_app.command("setup")
def admin_setup() -> None:
    """Register the namespace (if missing) and the custom search attributes on the configured server."""
    from service.devserver import ensure_namespace, ensure_search_attributes

    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        if await ensure_namespace(client, settings.temporal_namespace):
            typer.echo(f"namespace {settings.temporal_namespace} registered")
        added = await ensure_search_attributes(client, settings.temporal_namespace)
        if added:
            typer.echo(f"search attributes added: {', '.join(added)}")
        else:
            typer.echo("search attributes already registered")

    run(body())
