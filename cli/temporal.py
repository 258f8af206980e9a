"""Temporal as the ``hr`` command line uses it: connecting, starts, Updates, the status query, listings.

Failures a user can act on (no server, no such workflow, a refused Update, no worker answering
a query) become ``CliError`` with one line of explanation.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from cli.support import CliError, one_line
from schemas.jd_review import SWEEP_ACTION_TYPE, SweepInput, SweepResult, sweep_workflow_id
from schemas.search_attributes import HR_ACTION_TYPE, HR_PENDING_APPROVERS
from service.settings import Settings

T = TypeVar("T")
QUERY_TIMEOUT = timedelta(seconds=15)


def cached_sign_in(settings: Settings) -> Callable[[str | None], str | None]:
    """The credential source of the CLI: the cached ``hr login`` of the person the payload names
    (the actor of an answer, the starter of a process); refused in one line, exit 2, before
    anything is sent, when that person is not signed in."""
    from service.identity import cached_token

    def token_for(actor_id: str | None) -> str | None:
        if actor_id is None:
            return None
        token = cached_token(settings, actor_id)
        if token is None:
            raise CliError(
                f"{actor_id} is not signed in (or the sign-in expired): run `hr login --as {actor_id}`",
                code=2,
            )
        return token

    return token_for


async def connect(settings: Settings) -> Client:
    """A client on the configured server that signs each Update and signal with the cached sign-in
    of its actor (``hr login``); an unreachable server is one line of advice."""
    from service.client import connect as connect_client
    from service.signing import SigningInterceptor

    try:
        return await connect_client(settings, interceptors=[SigningInterceptor(cached_sign_in(settings))])
    except RuntimeError as err:
        detail = str(err)
        if "onnection refused" in detail or "ConnectionRefused" in detail:
            detail = "connection refused"
        elif "timed out" in detail.lower():
            detail = "timed out"
        raise CliError(
            f"cannot reach Temporal at {settings.temporal_address} ({one_line(detail)[:160]}); "
            "start one with `hr dev`, or set HR_TEMPORAL_ADDRESS"
        ) from None


def rpc_not_found(err: RPCError, workflow_id: str) -> CliError | None:
    """The error to show for a NOT_FOUND reply about ``workflow_id``; None for other replies."""
    if err.status != RPCStatusCode.NOT_FOUND:
        return None
    if "completed" in err.message.lower() or "closed" in err.message.lower():
        return CliError(f"workflow {workflow_id} has already finished")
    return CliError(f"no such workflow: {workflow_id}")


def refusal(err: WorkflowUpdateFailedError) -> str:
    """The reason an Update's validator (or handler) gave, as one line."""
    cause = err.cause
    message = getattr(cause, "message", None) or str(cause)
    return one_line(message)


async def update(handle: WorkflowHandle[Any, Any], name: str, arg: Any, result_type: type[T]) -> T:
    """Sends an Update; a validator's refusal and an unknown workflow become one-line errors."""
    try:
        return await handle.execute_update(name, arg, result_type=result_type)
    except WorkflowUpdateFailedError as err:
        raise CliError(f"refused: {refusal(err)}") from None
    except RPCError as err:
        mapped = rpc_not_found(err, handle.id)
        if mapped:
            raise mapped from None
        raise


Located = WorkflowHandle[Any, Any] | Awaitable[WorkflowHandle[Any, Any]]


async def send_update(
    settings: Settings,
    find: Callable[[Client], Located],
    name: str,
    arg: Any | Callable[[WorkflowHandle[Any, Any]], Awaitable[Any]],
    result_type: type[T],
) -> T:
    """A command's Update, sent: connects (the client signs it with the cached sign-in of the
    person its payload names), finds the workflow (``find``), sends the Update; an unreachable
    server, an unknown workflow and a refusal are each one line (``refused: <reason>``, exit 1).

    ``arg`` is the Update's argument, or a coroutine function making it from the workflow found
    (an answer to the step that is open now)."""
    client = await connect(settings)
    found = find(client)
    handle = await found if inspect.isawaitable(found) else found
    if inspect.iscoroutinefunction(arg):
        arg = await arg(handle)
    return await update(handle, name, arg, result_type)


async def start_once(
    client: Client, workflow: str, arg: Any, workflow_id: str, settings: Settings, summary: str
) -> None:
    """Starts ``workflow`` under ``workflow_id`` unless a run with that id was ever started (an
    id is used once); that is one line, "<id> already started"."""
    try:
        await client.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError:
        raise CliError(f"{workflow_id} already started") from None


async def query_status(handle: WorkflowHandle[Any, Any]) -> tuple[WorkflowExecution, dict[str, Any]]:
    """The workflow's description and the result of its ``status`` query."""
    workflow_id = handle.id
    try:
        execution = await handle.describe()
    except RPCError as err:
        mapped = rpc_not_found(err, workflow_id)
        raise (mapped or CliError(f"status of {workflow_id} failed: {err.message}")) from None
    try:
        raw = await handle.query("status", rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        mapped = rpc_not_found(err, workflow_id)
        if mapped is None and (
            err.status == RPCStatusCode.DEADLINE_EXCEEDED or "timeout" in err.message.lower()
        ):
            mapped = CliError(
                f"no worker answered the status query of {workflow_id} within "
                f"{QUERY_TIMEOUT.total_seconds():.0f} s; is a worker (`hr worker` or `hr dev`) "
                f"polling task queue {execution.task_queue}?"
            )
        raise (mapped or CliError(f"status of {workflow_id} failed: {err.message}")) from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        raise CliError(f"status of {workflow_id} failed: {err}") from None
    return execution, raw


async def waiting_for(client: Client, person_id: str) -> list[WorkflowExecution]:
    """Running workflows whose open steps wait for ``person_id`` (from visibility)."""
    query = f"ExecutionStatus = 'Running' AND {HR_PENDING_APPROVERS.name} = '{person_id}'"
    return [execution async for execution in client.list_workflows(query)]


async def inbox_rows(
    client: Client, person_id: str, delegators: list[str]
) -> list[tuple[WorkflowExecution, str | None]]:
    """What waits for ``person_id`` (None) and for each delegator (their id), oldest first."""
    rows: list[tuple[WorkflowExecution, str | None]] = []
    for execution in await waiting_for(client, person_id):
        rows.append((execution, None))
    for delegator in delegators:
        for execution in await waiting_for(client, delegator):
            rows.append((execution, delegator))
    rows.sort(key=lambda row: (row[0].start_time, row[0].id))
    return rows


async def start_review(
    client: Client,
    settings: Settings,
    *,
    class_code: str,
    cycle: str,
    requested_by: str,
    draft_text: str | None,
) -> WorkflowHandle[Any, Any]:
    """Starts the review of ``class_code`` in ``cycle``; one already started is a ``CliError``."""
    from cli.demo import start_review as start

    try:
        return await start(
            client,
            settings,
            class_code=class_code,
            cycle=cycle,
            requested_by=requested_by,
            draft_text=draft_text,
        )
    except WorkflowAlreadyStartedError as err:
        raise CliError(
            f"review {err.workflow_id} was already started; see `hr status {err.workflow_id}`"
        ) from None


async def start_sweep(
    client: Client,
    settings: Settings,
    *,
    cycle: str,
    requested_by: str,
    older_than_years: int,
    batch_size: int,
) -> WorkflowHandle[Any, SweepResult]:
    """Starts the review sweep of ``cycle``, or returns the one of that cycle already running."""
    from cli.demo import SWEEP_WORKFLOW

    return await client.start_workflow(
        SWEEP_WORKFLOW,
        SweepInput(
            cycle=cycle, requested_by=requested_by, older_than_years=older_than_years, batch_size=batch_size
        ),
        id=sweep_workflow_id(cycle),
        task_queue=settings.task_queue,
        result_type=SweepResult,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        # A sweep of this cycle already under way: wait for that one instead.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"Job-description review sweep (cycle {cycle}, older than {older_than_years} years)",
        search_attributes=TypedSearchAttributes([SearchAttributePair(HR_ACTION_TYPE, SWEEP_ACTION_TYPE)]),
    )
