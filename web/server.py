"""Serving the approvers' web application: beside the worker (``hr dev``, ``hr demo``) or alone
(``hr web``, production, behind the city's proxy)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from sqlalchemy import Engine
from temporalio.client import Client

from service.identity import load_keyring
from service.settings import Settings
from web.app import create_app


def server_for(
    settings: Settings, engine: Engine, client: Client, *, port: int | None = None
) -> uvicorn.Server:
    app = create_app(settings, engine, client, load_keyring(settings))
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port if port is None else port,
        log_level="warning",
        access_log=False,  # a decision link's path is a token: never logged
        lifespan="off",
    )
    return uvicorn.Server(config)


@contextlib.asynccontextmanager
async def web_running(
    settings: Settings, engine: Engine, client: Client, *, port: int | None = None
) -> AsyncIterator[uvicorn.Server]:
    """The web application served in this event loop until the block ends."""
    server = server_for(settings, engine, client, port=port)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # the CLI owns them
    # Bound here, so that an address in use is an OSError (uvicorn would end the process).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((server.config.host, server.config.port))
    except OSError:
        sock.close()
        raise
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        task.result()  # raises what stopped it (a port in use)
        raise RuntimeError(f"the web application did not start on {settings.web_host}:{settings.web_port}")
    try:
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def web_beside(settings: Settings, engine: Engine, client: Client) -> AsyncIterator[None]:
    """``web_running`` for ``hr dev`` and ``hr demo``; a port already in use is one warning, and
    the rest runs without it."""
    import structlog

    try:
        running = web_running(settings, engine, client)
        await running.__aenter__()
    except (OSError, RuntimeError) as err:
        structlog.get_logger("hr.web").warning(
            "web application not started", address=f"{settings.web_host}:{settings.web_port}", error=str(err)
        )
        yield
        return
    try:
        yield
    finally:
        await running.__aexit__(None, None, None)
