"""``hr action …``: personnel actions from the command line (issue 9).

``request`` checks the request against the store with the workflow's own check
(``activities.personnel.check_request``) and refuses with the reason before anything starts;
then it starts ``PersonnelAction`` and waits for the workflow to record the request (which
checks again under the employee's lock, so a request racing another is refused there) and
prints the approvals it needs. Approvals and the IT service desk's work orders are answered
with ``hr decide``; ``move`` and ``cancel`` are the workflow's ``move_effective_date`` and
``withdraw`` Updates; ``status`` is the status query, or the employee's actions on record.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from cli.render import fmt_time, render_step
from cli.store import require_person, store, store_engine
from cli.support import CliError, load_settings, one_line, parse_date, run
from cli.temporal import connect, query_status, update
from schemas import personnel_action as pa
from schemas.employment import (
    ACTION_KINDS,
    PERSONNEL_ACTION_TYPE,
    PERSONNEL_ACTION_WORKFLOW,
    PersonnelActionInput,
    action_workflow_id,
)
from schemas.human_step import StepSnapshot, WithdrawInput
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID, HR_STAGE
from service.settings import Settings
from workflows.rules.personnel import effective_at

REQUESTABLE = tuple(k for k in ACTION_KINDS if k != "release")
"""A release is the probation's decision: the ``Probation`` workflow starts it, not ``hr action``."""
OPENING_WAIT = 20.0
"""Seconds ``hr action request`` waits for the workflow to record (or refuse) the request."""

action_app = typer.Typer(
    help="Personnel actions: resignation, termination, retirement, death, promotion, transfer, pay change.",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------- helpers


def default_action_id(kind: str, effective_on: date) -> str:
    """``resignation-20270115``: the kind and the effective date; a death's is ``death`` alone (the
    date of death is personal data: never in a workflow id)."""
    if kind == "death":
        return "death"
    return f"{kind.replace('_', '-')}-{effective_on:%Y%m%d}"


def action_summary(inp: PersonnelActionInput) -> str:
    """The UI summary: ids, codes and the date only (none for a death)."""
    if inp.kind == "death":
        return f"Personnel action: death of {inp.employee_id}"
    return f"Personnel action: {inp.kind.replace('_', ' ')} of {inp.employee_id} effective {inp.effective_on}"


def action_handle(client: Client, employee_id: str, action_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(action_workflow_id(employee_id.upper(), action_id))


def check_request_in_store(engine: Engine, inp: PersonnelActionInput, today: date) -> pa.ActionFacts:
    """What the workflow's opening would refuse, refused here first (nothing is started)."""
    from activities.personnel import check_request
    from workflows.rules.personnel import RuleRefused

    with store(engine) as session:
        try:
            return check_request(session, inp, today)
        except RuleRefused as err:
            raise CliError(f"refused: {err}") from None


async def start_action(
    client: Client, settings: Settings, inp: PersonnelActionInput
) -> WorkflowHandle[Any, pa.PersonnelActionResult]:
    """Starts ``PersonnelAction`` (id ``personnel-action-<employee>-<action>``, used once)."""
    return await client.start_workflow(
        PERSONNEL_ACTION_WORKFLOW,
        inp,
        id=action_workflow_id(inp.employee_id, inp.action_id),
        task_queue=settings.task_queue,
        result_type=pa.PersonnelActionResult,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        static_summary=action_summary(inp),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(HR_ACTION_TYPE, PERSONNEL_ACTION_TYPE),
                SearchAttributePair(HR_EMPLOYEE_ID, inp.employee_id),
                SearchAttributePair(HR_STAGE, pa.OPENING),
            ]
        ),
    )


async def opened_status(
    handle: WorkflowHandle[Any, Any], timeout: float = OPENING_WAIT
) -> pa.PersonnelActionStatus | None:
    """The status once the workflow has recorded or refused the request; None if no worker did
    within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            status = await handle.query(
                "status", result_type=pa.PersonnelActionStatus, rpc_timeout=timedelta(seconds=5)
            )
        except RPCError:
            status = None
        if status is not None and status.stage != pa.OPENING:
            return status
        await asyncio.sleep(0.2)
    return None


def chain_text(chain: list[pa.ApprovalStage]) -> str:
    if not chain:
        return "none (it executes on its effective date)"
    joiner = {"any": " or ", "all": " and "}
    return ", ".join(f"{s.role.replace('_', ' ')} {joiner[s.mode].join(s.approvers)}" for s in chain)


def requested_text(workflow_id: str, status: pa.PersonnelActionStatus) -> str:
    """What ``hr action request`` prints once the workflow has recorded the request."""
    lines = [
        f"requested {workflow_id}: {status.kind.replace('_', ' ')} of {status.employee_id} "
        f"effective {status.effective_on}",
        f"  approvals: {chain_text(status.chain)}",
    ]
    if status.open_steps:
        step = status.open_steps[0]
        lines.append(
            f"  next: hr decide {workflow_id} approve --as {step.pending[0] if step.pending else '…'}"
        )
    return "\n".join(lines)


def render_action(execution: WorkflowExecution, status: pa.PersonnelActionStatus) -> str:
    """The status query's result for people."""
    state = execution.status.name.title() if execution.status else "Unknown"
    lines = [f"{execution.id}  {execution.workflow_type}  {state}"]
    lines.append(
        f"  {status.kind.replace('_', ' ')} of {status.employee_id}, requested by {status.requested_by}, "
        f"effective {status.effective_on}"
    )
    if status.reason:
        lines.append(f"  reason: {one_line(status.reason)}")
    when = ""
    if status.stage == pa.SCHEDULED:
        when = f" (executes {fmt_time(effective_at(status.effective_on))})"
    lines.append(f"  stage: {status.stage}{when}")
    lines.append(f"  approvals: {chain_text(status.chain)}")
    for move in status.moves:
        lines.append(
            f"  moved {move.from_on} -> {move.to_on} by {move.actor_id} at {fmt_time(move.at)}: "
            f"{one_line(move.reason)}"
        )
    if status.outcome:
        reason = f" ({one_line(status.outcome_reason)})" if status.outcome_reason else ""
        lines.append(f"  outcome: {status.outcome}{reason}")
    if status.executed_at:
        lines.append(f"  executed at {fmt_time(status.executed_at)}")
    if status.work_orders:
        lines.append("  work orders: " + ", ".join(f"{k} #{v}" for k, v in status.work_orders.items()))
    if status.probation_workflow_id:
        lines.append(f"  new probation: {status.probation_workflow_id}")
    for label, steps, open_ in (
        ("open steps", status.open_steps, True),
        ("closed steps", status.closed_steps, False),
    ):
        lines.append(f"  {label}:" + ("" if steps else " none"))
        for step in steps:
            lines += render_step(StepSnapshot.model_validate(step), open_=open_)
    return "\n".join(lines)


def render_actions(employee_id: str, engine: Engine) -> str:
    """The employee's actions on record (the store), oldest first."""
    from activities.personnel import actions_of

    with store(engine):
        rows = actions_of(engine, employee_id)
    if not rows:
        return f"no personnel actions on record for {employee_id}"
    lines = [f"{'ACTION':<28} {'KIND':<12} {'STATUS':<10} {'EFFECTIVE':<10}  {'BY':<6} WORKFLOW"]
    prefix = f"{employee_id}-"
    for row in rows:
        lines.append(
            f"{row.id.removeprefix(prefix):<28} {row.kind:<12} {row.status:<10} {row.effective_on}  "
            f"{row.requested_by:<6} {row.workflow_id}"
        )
    return "\n".join(lines)


def today_utc() -> date:
    from activities.personnel import today_utc as today

    return today()


# --------------------------------------------------------------------------- commands


@action_app.command("request")
def request(
    employee: Annotated[str, typer.Argument(help="The employee's id, e.g. E1016.")],
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(REQUESTABLE)}.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id: HR staff, or the employee resigning.")],
    effective_on: Annotated[str, typer.Option("--effective-on", help="YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
    class_code: Annotated[str | None, typer.Option("--class", help="New classification (promotion).")] = None,
    position: Annotated[str | None, typer.Option(help="New position (promotion, transfer).")] = None,
    pay_step: Annotated[
        int | None, typer.Option(help="New pay step (pay change; promotion, transfer).")
    ] = None,
    action_id: Annotated[
        str | None, typer.Option(help="The action's id; default <kind>-<effective yyyymmdd>.")
    ] = None,
    probation_days: Annotated[
        int | None, typer.Option(help="A promotion's new probation in days; default the class's months.")
    ] = None,
) -> None:
    """Request a personnel action; it waits for its approvals, then for its effective date."""
    settings = load_settings()
    kind = kind.strip().lower().replace("-", "_")

    async def body() -> None:
        if kind == "release":
            raise CliError(
                "a release comes from the probation's decision (the Probation workflow starts it), "
                "not from hr action request"
            )
        if kind not in REQUESTABLE:
            raise CliError(f"kind must be one of {', '.join(REQUESTABLE)}")
        if not reason.strip():
            raise CliError("--reason must not be empty")
        engine = store_engine(settings)
        actor = as_.upper()
        require_person(engine, actor)
        day = parse_date(effective_on, "--effective-on")
        inp = PersonnelActionInput(
            action_id=action_id or default_action_id(kind, day),
            employee_id=employee.upper(),
            kind=kind,  # type: ignore[arg-type]
            requested_by=actor,
            effective_on=day,
            reason=reason,
            new_class_code=class_code,
            new_position_id=position.upper() if position else None,
            new_pay_step=pay_step,
            probation=timedelta(days=probation_days) if probation_days is not None else None,
        )
        check_request_in_store(engine, inp, today_utc())
        client = await connect(settings)
        try:
            handle = await start_action(client, settings, inp)
        except WorkflowAlreadyStartedError as err:
            raise CliError(
                f"action {inp.action_id} of {inp.employee_id} was requested before ({err.workflow_id}); "
                "give another --action-id"
            ) from None
        status = await opened_status(handle)
        if status is None:
            typer.echo(f"started {handle.id}; no worker has recorded it yet: see hr action status")
            return
        if status.outcome == pa.REFUSED:
            raise CliError(f"refused: {status.outcome_reason}")
        typer.echo(requested_text(handle.id, status))

    run(body())


@action_app.command("status")
def status(
    employee: Annotated[str, typer.Argument(help="The employee's id.")],
    action_id: Annotated[
        str | None, typer.Argument(help="The action's id; without it, all on record.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status query's JSON.")] = False,
) -> None:
    """An action's stage, approvals, effective date and steps; or the employee's actions on record."""
    settings = load_settings()

    async def body() -> None:
        if action_id is None:
            typer.echo(render_actions(employee.upper(), store_engine(settings)))
            return
        client = await connect(settings)
        execution, raw = await query_status(action_handle(client, employee, action_id))
        found = pa.PersonnelActionStatus.model_validate(raw)
        typer.echo(found.model_dump_json(indent=2) if as_json else render_action(execution, found))

    run(body())


@action_app.command("move")
def move(
    employee: Annotated[str, typer.Argument(help="The employee's id.")],
    action_id: Annotated[str, typer.Argument(help="The action's id.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    to: Annotated[str, typer.Option(help="The new effective date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
) -> None:
    """Move the effective date of an action that has not executed yet."""
    from workflows.rules.personnel import date_refusal

    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_.upper())
        day = parse_date(to, "--to")
        problem = date_refusal(day, today_utc())
        if problem:
            raise CliError(f"refused: {problem}")
        moving = pa.MoveEffectiveDateInput(actor_id=as_.upper(), effective_on=day, reason=reason)
        client = await connect(settings)
        handle = action_handle(client, employee, action_id)
        found = await update(handle, pa.MOVE_EFFECTIVE_DATE, moving, pa.PersonnelActionStatus)
        last = found.moves[-1]
        typer.echo(f"{handle.id}: effective date moved from {last.from_on} to {last.to_on}")

    run(body())


@action_app.command("cancel")
def cancel(
    employee: Annotated[str, typer.Argument(help="The employee's id.")],
    action_id: Annotated[str, typer.Argument(help="The action's id.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
) -> None:
    """Cancel an action before it executes (the ``withdraw`` Update; recorded with the reason)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_.upper())
        client = await connect(settings)
        handle = action_handle(client, employee, action_id)
        _, raw = await query_status(handle)
        found = pa.PersonnelActionStatus.model_validate(raw)
        if found.outcome is not None:
            raise CliError(f"refused: the action has already ended ({found.outcome})")
        if found.executed_at is not None:
            raise CliError(f"refused: the action took effect on {found.effective_on}; it cannot be cancelled")
        answer = await update(handle, "withdraw", WithdrawInput(actor_id=as_.upper(), reason=reason), str)
        typer.echo(f"{handle.id}: {answer}")

    run(body())
