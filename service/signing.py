"""Signing on the client: every start, Update and signal a client sends carries its person's credential.

``SigningInterceptor(token_for)`` adds the header ``hr_credential`` to each start (for the starter
its input names: ``workflows/rules/starts.py``), Update and signal (for the ``actor_id`` its payload
names); ``token_for(person_id)`` gives that person's credential, or None to send none (the workflow
then refuses the start or the answer). Sources:

- the CLI: the person's cached sign-in (``hr login``; ``cli/temporal.py``);
- the web application: the signed-in person's session credential;
- ``hr demo`` and the tests: ``issuing(keyring, namespace)``, which signs in whoever the payload
  names with the service's own key (they stand for every person of their script).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from schemas.credentials import HEADER
from service.identity import KeyRing
from workflows.rules.starts import starter_of

TokenSource = Callable[[str | None], str | None]


def actor_of(args: Any) -> str | None:
    """The ``actor_id`` of a payload (a contract or a mapping), if it names one."""
    if not args:
        return None
    first = args[0]
    actor = first.get("actor_id") if isinstance(first, Mapping) else getattr(first, "actor_id", None)
    return actor if isinstance(actor, str) else None


def header(token: str) -> Payload:
    """The header payload, as the ``temporal`` CLI's ``--headers hr_credential="..."`` sends it."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(token).encode())


def with_credential(headers: Mapping[str, Payload], token: str | None) -> Mapping[str, Payload]:
    if token is None or HEADER in headers:
        return headers
    return {**headers, HEADER: header(token)}


NOT_READY_PAUSE = 0.5
NOT_READY_PATIENCE = 30.0
"""How long an Update is resent while the run's workflow task is in a failed state (seconds)."""


def workflow_task_failed(err: RPCError) -> bool:
    """The server refuses an Update while the run's workflow task is failed or timed out (a worker
    lost it, or it ran past its timeout under load); the next attempt of that task takes Updates
    again, so the same Update is sent again after a pause rather than shown to the person."""
    return err.status == RPCStatusCode.FAILED_PRECONDITION and "Workflow Task in failed state" in err.message


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, token_for: TokenSource) -> None:
        super().__init__(next)
        self._token_for = token_for

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        starter = starter_of(input.workflow, input.args)
        input.headers = with_credential(input.headers, self._token_for(starter))
        return await super().start_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        input.headers = with_credential(input.headers, self._token_for(actor_of(input.args)))
        # One id for every attempt: the server takes an Update id once, so a resent one is the same.
        input.update_id = input.update_id or str(uuid.uuid4())
        waited = 0.0
        while True:
            try:
                return await super().start_workflow_update(input)
            except RPCError as err:
                if not workflow_task_failed(err) or waited >= NOT_READY_PATIENCE:
                    raise
            await asyncio.sleep(NOT_READY_PAUSE)
            waited += NOT_READY_PAUSE

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.headers = with_credential(input.headers, self._token_for(actor_of(input.args)))
        await super().signal_workflow(input)


class SigningInterceptor(Interceptor):
    """Adds the person's credential (``token_for``) to every start, Update and signal."""

    def __init__(self, token_for: TokenSource) -> None:
        self.token_for = token_for

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self.token_for)


def issuing(keyring: KeyRing, namespace: str, lifetime: timedelta = timedelta(minutes=15)) -> TokenSource:
    """Signs in the payload's actor with ``keyring`` for each message (the demo, tests)."""

    def token_for(actor_id: str | None) -> str | None:
        if actor_id is None:
            return None
        token, _ = keyring.issue(actor_id, namespace, lifetime)
        return token

    return token_for


def signing_client(client: Client, token_for: TokenSource) -> Client:
    """The same connection, signing each Update and signal with ``token_for``."""
    config = client.config()
    config["interceptors"] = [*config.get("interceptors", []), SigningInterceptor(token_for)]
    return Client(**config)
