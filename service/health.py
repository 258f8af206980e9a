"""``hr admin health``: one check per part the service needs, each one line.

Checks, in order: the Temporal frontend, the namespace, its custom search attributes, the
store and its schema version, the SMTP relay and the codec key. Each returns a ``Check``
(ok or not, and one line of detail that says what to fix); ``hr admin health`` exits
non-zero when any fails. Nothing is changed by a check.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from schemas.search_attributes import indexed_types
from service.settings import Settings

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<18} {self.detail}"


async def check_temporal(client: Client | None, error: str | None, settings: Settings) -> list[Check]:
    """The frontend, the namespace and the search attributes (three checks)."""
    address, namespace = settings.temporal_address, settings.temporal_namespace
    if client is None:
        return [
            Check("temporal", False, f"cannot connect to {address}: {error}"),
            Check("namespace", False, f"{namespace}: not checked (no frontend)"),
            Check("search attributes", False, "not checked (no frontend)"),
        ]
    checks: list[Check] = []
    try:
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=_timeout())
        checks.append(Check("temporal", True, f"{address} (server {info.server_version or 'unknown'})"))
    except RPCError as err:
        checks.append(Check("temporal", False, f"{address} does not answer: {err.message}"))
        skipped = [Check("namespace", False, "not checked"), Check("search attributes", False, "not checked")]
        return [*checks, *skipped]
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=_timeout()
        )
        checks.append(Check("namespace", True, namespace))
    except RPCError as err:
        hint = "; run `hr admin setup`" if err.status == RPCStatusCode.NOT_FOUND else ""
        checks.append(Check("namespace", False, f"{namespace}: {err.message}{hint}"))
        return [*checks, Check("search attributes", False, "not checked (no namespace)")]
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=_timeout()
        )
    except RPCError as err:
        return [*checks, Check("search attributes", False, f"cannot list them: {err.message}")]
    have = dict(listed.custom_attributes)
    wanted = indexed_types()
    missing = sorted(name for name in wanted if name not in have)
    wrong = sorted(name for name, kind in wanted.items() if name in have and have[name] != kind)
    if missing or wrong:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"wrong type {', '.join(wrong)}"] if wrong else []
        )
        checks.append(Check("search attributes", False, f"{'; '.join(parts)}; run `hr admin setup`"))
    else:
        checks.append(Check("search attributes", True, f"{len(wanted)} registered"))
    return checks


def check_store(engine: Engine, shown_url: str) -> Check:
    """The store answers and its schema is at the newest migration."""
    from sqlalchemy.exc import SQLAlchemyError

    from activities.db import _current_revision, head_revision

    head = head_revision()
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():  # connecting would create it: a check writes nothing
            return Check("store", False, f"{shown_url}: no such file; run `hr db upgrade` (or `hr seed`)")
    try:
        with engine.connect() as connection:
            current = _current_revision(connection)
    except SQLAlchemyError as err:
        detail = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return Check("store", False, f"{shown_url}: {detail}")
    if current is None:
        return Check("store", False, f"{shown_url}: no schema; run `hr db upgrade` (or `hr seed`)")
    if current != head:
        detail = f"schema {current}, the code needs {head}; run `hr db upgrade`"
        return Check("store", False, f"{shown_url}: {detail}")
    return Check("store", True, f"{shown_url} (schema {current}, the newest)")


def check_smtp(settings: Settings) -> Check:
    """The relay answers an SMTP NOOP; no relay configured is fine (the outbox is the delivery)."""
    if not settings.smtp_host:
        return Check("smtp", True, "no relay configured (HR_SMTP_HOST): notices stay in the outbox")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            code, _ = smtp.noop()
    except (OSError, smtplib.SMTPException) as err:
        return Check("smtp", False, f"{where}: {getattr(err, 'strerror', None) or type(err).__name__}")
    if code != 250:
        return Check("smtp", False, f"{where}: NOOP answered {code}")
    return Check("smtp", True, where)


def check_codec(settings: Settings) -> Check:
    """The key encrypts and decrypts a payload; no key is reported (not encrypted), not failed."""
    from service.codec import codec_from_settings

    try:
        codec = codec_from_settings(settings)
    except ValueError as err:
        return Check("codec key", False, str(err))
    if codec is None:
        return Check("codec key", True, "none (HR_CODEC_KEY unset): payloads are NOT encrypted")
    probe = Payload(metadata={"encoding": b"binary/plain"}, data=b"health")
    try:
        back = codec.decode_sync(codec.encode_sync([probe]))
    except ValueError as err:
        return Check("codec key", False, str(err))
    if back != [probe]:
        return Check("codec key", False, "a payload does not come back the same")
    ids = ", ".join(codec.key_ids)
    return Check("codec key", True, f"encrypts with {codec.key_id}; decrypts {ids}")


def _timeout():  # noqa: ANN202
    from datetime import timedelta

    return timedelta(seconds=TIMEOUT_SECONDS)


async def run_checks(
    settings: Settings, client: Client | None, error: str | None, engine: Engine
) -> list[Check]:
    """Every check, in order."""
    from sqlalchemy.engine import make_url

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    checks = await check_temporal(client, error, settings)
    checks.append(await asyncio.to_thread(check_store, engine, shown))
    checks.append(await asyncio.to_thread(check_smtp, settings))
    checks.append(check_codec(settings))
    return checks
