"""``hr web``: the approvers' web application on its own (production: behind the city's proxy)."""

from __future__ import annotations

import typer

from cli.store import store_engine
from cli.support import load_settings, run, serve_forever, stop_on_sigterm
from cli.temporal import connect


def web() -> None:
    """Serve the approvers' web application (HR_WEB_HOST, HR_WEB_PORT) until Ctrl-C."""
    settings = load_settings()

    async def body() -> None:
        from web.server import web_running

        stop_on_sigterm()
        client = await connect(settings)
        async with web_running(settings, store_engine(settings), client):
            where = f"{settings.web_host}:{settings.web_port}"
            typer.echo(f"web application at {settings.web_url} (listening on {where})")
            await serve_forever()

    run(body(), interrupt_ok=True)


def register(app: typer.Typer) -> None:
    app.command("web")(web)
