"""``hr onboarding …`` and ``hr probation …``: a new employee's tasks and probation from the CLI.

Every command maps onto the ``Onboarding`` and ``Probation`` workflows: the human step's
``decide`` (a task done, the supervisor's decision, HR's concurrence), ``reopen_task`` and
``record_cjis``; a validator's refusal is printed as ``refused: <reason>``. Steps are found from
the ``status`` queries (a task's current step, the open ``decision-N``), so nobody types a step
id. A recruitment's hire starts the onboarding by itself; ``hr onboarding start`` is for a direct
appointment of someone already in the directory (``--position`` puts them in a vacant position).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

import typer
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from cli.applicant_csv import shown
from cli.onboarding_render import render_onboarding, render_probation
from cli.recruitment_open import parse_duration
from cli.render import fmt_time, render_receipt
from cli.store import require_hr_staff, require_person, store, store_engine
from cli.support import CliError, fail, load_settings, parse_date, run
from cli.temporal import connect, query_status, update
from schemas import onboarding as ob
from schemas.decision_details import MAX_EXTENSION_DAYS, OrientationDate, ProbationExtension, as_sent
from schemas.employment import (
    ONBOARDING_ACTION_TYPE,
    ONBOARDING_WORKFLOW,
    PROBATION_ACTION_TYPE,
    SEPARATED,
    OnboardingInput,
    onboarding_workflow_id,
)
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID, HR_STAGE
from service.settings import Settings

EMPLOYEE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

onboarding_app = typer.Typer(
    help="New employees' onboarding: tasks with owners and due dates, then the probation.",
    no_args_is_help=True,
)
probation_app = typer.Typer(
    help="Probations: the end, the supervisor's decision with HR's concurrence, CJIS clearance.",
    no_args_is_help=True,
)

EmployeeArgument = Annotated[str, typer.Argument(help="The employee's id, e.g. E1031.")]
AsOption = Annotated[str, typer.Option("--as", help="Your person id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the status query's JSON.")]


def employee_id(value: str) -> str:
    value = value.strip().upper()
    if not EMPLOYEE_ID.fullmatch(value):
        raise CliError(f"employee id {shown(value)} must be letters, digits, '.', '_' or '-', e.g. E1031")
    return value


def parse_period(text: str) -> int:
    """An extension period in whole days: ``90d``, ``12w`` or ``90``; 1-180 days."""
    value = text.strip().lower()
    period = timedelta(days=int(value)) if value.isdigit() else parse_duration(value, "--period")
    days = period.days
    if period != timedelta(days=days) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise CliError(f"--period must be whole days, 1-{MAX_EXTENSION_DAYS} (e.g. 90d), not {shown(text)}")
    return days


# --------------------------------------------------------------------------- handles and status


def onboarding_handle(client: Client, employee: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(onboarding_workflow_id(employee_id(employee)))


async def onboarding_status(
    handle: WorkflowHandle[Any, Any],
) -> tuple[WorkflowExecution, ob.OnboardingStatus]:
    try:
        execution, raw = await query_status(handle)
    except CliError as err:
        if str(err).startswith("no such workflow"):
            raise CliError(
                f"no onboarding {handle.id} (`hr onboarding start` for a direct appointment)"
            ) from None
        raise
    return execution, ob.OnboardingStatus.model_validate(raw)


async def probation_handle(client: Client, employee: str) -> WorkflowHandle[Any, Any]:
    """The employee's probation: the newest found by its search attributes (a running one first),
    else the one their onboarding started."""
    employee = employee_id(employee)
    query = f"{HR_ACTION_TYPE.name} = '{PROBATION_ACTION_TYPE}' AND {HR_EMPLOYEE_ID.name} = '{employee}'"
    found = [e async for e in client.list_workflows(query)]
    if found:
        running = [e for e in found if e.status is not None and e.status.name == "RUNNING"]
        newest = max(running or found, key=lambda e: e.start_time)
        return client.get_workflow_handle(newest.id)
    _, onboarding = await onboarding_status(onboarding_handle(client, employee))
    if onboarding.probation is None:
        raise CliError(f"{employee}'s probation has not started (the onboarding's tasks are not all done)")
    return client.get_workflow_handle(onboarding.probation.workflow_id)


async def probation_status(
    handle: WorkflowHandle[Any, Any],
) -> tuple[WorkflowExecution, ob.ProbationStatus]:
    execution, raw = await query_status(handle)
    return execution, ob.ProbationStatus.model_validate(raw)


def task_view(status: ob.OnboardingStatus, task: str) -> ob.TaskView:
    for view in status.tasks:
        if view.task == task:
            return view
    raise CliError(f"unknown task {shown(task)}; the tasks are: {', '.join(v.task for v in status.tasks)}")


def open_step_id(status: ob.ProbationStatus, prefix: str, what: str) -> str:
    for step in status.open_steps:
        if step.step_id.startswith(prefix):
            return step.step_id
    raise CliError(
        f"no {what} is open in {status.workflow_id} "
        f"(stage {status.stage}; the probation ends {status.ends_on})"
    )


async def start_onboarding(
    client: Client, settings: Settings, inp: OnboardingInput
) -> WorkflowHandle[Any, ob.OnboardingResult]:
    """Starts ``Onboarding`` (``onboarding-<employee>``; one that failed may be started again)."""
    try:
        return await client.start_workflow(
            ONBOARDING_WORKFLOW,
            inp,
            id=onboarding_workflow_id(inp.employee_id),
            task_queue=settings.task_queue,
            result_type=ob.OnboardingResult,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"Onboarding of {inp.employee_id} from {inp.starts_on}",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(HR_ACTION_TYPE, ONBOARDING_ACTION_TYPE),
                    SearchAttributePair(HR_EMPLOYEE_ID, inp.employee_id),
                    SearchAttributePair(HR_STAGE, ob.TASKS),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        raise CliError(
            f"the onboarding of {inp.employee_id} was already started; "
            f"see `hr onboarding status {inp.employee_id}`"
        ) from None


# --------------------------------------------------------------------------- hr onboarding


@onboarding_app.command("start")
def start(
    employee: EmployeeArgument,
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR staff member appointing.")],
    starts_on: Annotated[str, typer.Option(help="The first day of work, YYYY-MM-DD.")],
    position: Annotated[
        str | None, typer.Option(help="A vacant position to appoint them to (default: the one they hold).")
    ] = None,
    probation: Annotated[
        str | None, typer.Option(help="Probation length, e.g. 90d (default: the classification's months).")
    ] = None,
) -> None:
    """A direct appointment: start the onboarding of someone already in the directory."""
    from activities.onboarding import place_in_position
    from cli.demo import workflow_url

    settings = load_settings()

    async def body() -> None:
        employee_ = employee_id(employee)
        engine = store_engine(settings)
        require_hr_staff(engine, as_, "start an onboarding")
        person = require_person(engine, employee_)
        if person.employment_status == SEPARATED:
            raise CliError(f"{employee_} is separated")
        length = parse_duration(probation, "--probation") if probation else None
        inp = OnboardingInput(
            employee_id=employee_,
            starts_on=parse_date(starts_on, "--starts-on"),
            requested_by=as_,
            probation=length,
        )
        client = await connect(settings)
        if position is not None:
            try:
                with store(engine):
                    place_in_position(engine, employee_, position.strip())
            except ValueError as err:
                raise CliError(str(err)) from None
            typer.echo(f"{employee_} appointed to position {position.strip()}")
        handle = await start_onboarding(client, settings, inp)
        typer.echo(f"started {handle.id}: the tasks open now; see `hr onboarding status {employee_}`")
        typer.echo(workflow_url(settings, handle.id))

    run(body())


@onboarding_app.command("status")
def status(employee: EmployeeArgument, as_json: JsonOption = False) -> None:
    """Every task with its owner, due date and state; the open steps; the probation."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, current = await onboarding_status(onboarding_handle(client, employee))
        if as_json:
            typer.echo(current.model_dump_json(indent=2))
            return
        probation = None
        if current.probation is not None:
            probation = await probation_status(client.get_workflow_handle(current.probation.workflow_id))
        typer.echo(render_onboarding(execution, current, probation))

    run(body())


@onboarding_app.command("done")
def done(
    employee: EmployeeArgument,
    task: Annotated[str, typer.Argument(help="The task, e.g. it-account (see `hr onboarding status`).")],
    as_: AsOption,
    on: Annotated[
        str | None, typer.Option("--date", help="An orientation's date, YYYY-MM-DD (scheduling only).")
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--detail", "--comment", help="What you did: an extension, a note.")
    ] = None,
    on_behalf_of: Annotated[
        str | None, typer.Option(help="The owner you answer for as their delegate.")
    ] = None,
) -> None:
    """Complete a task as its owner (one of a role's members, HR, or the employee)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = onboarding_handle(client, employee)
        _, current = await onboarding_status(handle)
        view = task_view(current, task.strip().lower())
        if view.state not in (ob.OPEN, ob.REOPENED):
            raise CliError(f"task {view.task} is {view.state}: there is nothing to complete")
        details = None
        if view.decision == ob.SCHEDULED:
            if on is None:
                raise CliError(
                    f"give the orientation's date: hr onboarding done {employee} {view.task} --date …"
                )
            details = as_sent(OrientationDate(on=parse_date(on, "--date")))
        elif on is not None:
            raise CliError("--date goes with scheduling an orientation")
        answer = DecisionInput(
            actor_id=as_,
            decision=view.decision,
            step_id=view.step_id,
            comment=comment,
            on_behalf_of=on_behalf_of,
            details=details,
        )
        receipt = await update(handle, "decide", answer, DecisionReceipt)
        typer.echo(render_receipt(receipt) + (f": {on}" if on else ""))

    run(body())


@onboarding_app.command("reopen")
def reopen(
    employee: EmployeeArgument,
    task: Annotated[str, typer.Argument(help="A done task, e.g. it-phone-directory.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    reason: Annotated[str, typer.Option(help="Why it is re-opened; recorded.")],
    due: Annotated[str | None, typer.Option(help="Due again on, YYYY-MM-DD (default: in 3 days).")] = None,
) -> None:
    """Re-open a done task (HR, with a reason): its owner completes it again."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        inp = ob.ReopenTaskInput(
            actor_id=as_,
            task=task.strip().lower(),
            reason=reason,
            due_on=parse_date(due, "--due") if due else None,
        )
        client = await connect(settings)
        view = await update(onboarding_handle(client, employee), ob.REOPEN_TASK, inp, ob.TaskView)
        typer.echo(
            f"{view.task} re-opened as step {view.step_id}, due {fmt_time(view.due_at)}; "
            f"owners: {', '.join(view.owner_ids)}"
        )

    run(body())


# --------------------------------------------------------------------------- hr probation


@probation_app.command("status")
def probation_status_command(employee: EmployeeArgument, as_json: JsonOption = False) -> None:
    """The probation's end, reminders, CJIS clearance, extension, decision and open steps."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, current = await probation_status(await probation_handle(client, employee))
        typer.echo(current.model_dump_json(indent=2) if as_json else render_probation(execution, current))

    run(body())


@probation_app.command("decide")
def decide(
    employee: EmployeeArgument,
    decision: Annotated[str, typer.Argument(help="pass, extend or release.")],
    as_: AsOption,
    period: Annotated[
        str | None, typer.Option(help="How long an extension is, e.g. 90d (extend only).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required to extend or release).")] = None,
) -> None:
    """The supervisor's decision at the end of the probation (HR concurs next)."""
    if decision not in (ob.PASS, ob.EXTEND, ob.RELEASE):
        fail(f"the decision is {ob.PASS}, {ob.EXTEND} or {ob.RELEASE}, not {decision!r}")
    if decision in (ob.EXTEND, ob.RELEASE) and not (reason or "").strip():
        fail(f"--reason is required to {decision}")
    if decision == ob.EXTEND and period is None:
        fail("--period is required to extend, e.g. --period 90d")
    if decision != ob.EXTEND and period is not None:
        fail("--period goes with extend")
    settings = load_settings()

    async def body() -> None:
        days = parse_period(period) if period is not None else None
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = await probation_handle(client, employee)
        _, current = await probation_status(handle)
        answer = DecisionInput(
            actor_id=as_,
            decision=decision,
            step_id=open_step_id(current, "decision-", "decision"),
            comment=reason,
            details=as_sent(ProbationExtension(days=days)) if days is not None else None,
        )
        receipt = await update(handle, "decide", answer, DecisionReceipt)
        typer.echo(render_receipt(receipt) + "; HR concurs next (`hr probation concur`)")

    run(body())


@probation_app.command("concur")
def concur(
    employee: EmployeeArgument,
    answer: Annotated[str, typer.Argument(help="concur, or return (to the supervisor, with a comment).")],
    as_: AsOption,
    comment: Annotated[str | None, typer.Option(help="Comment recorded (required to return).")] = None,
) -> None:
    """HR's concurrence with the supervisor's decision, or its return for a new one."""
    if answer not in (ob.CONCUR, ob.RETURN):
        fail(f"the answer is {ob.CONCUR} or {ob.RETURN}, not {answer!r}")
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = await probation_handle(client, employee)
        _, current = await probation_status(handle)
        inp = DecisionInput(
            actor_id=as_,
            decision=answer,
            step_id=open_step_id(current, "concurrence-", "concurrence"),
            comment=comment,
        )
        typer.echo(render_receipt(await update(handle, "decide", inp, DecisionReceipt)))

    run(body())


@probation_app.command("cjis")
def cjis(
    employee: EmployeeArgument,
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    cleared_on: Annotated[str, typer.Option(help="The day the clearance was granted, YYYY-MM-DD.")],
    comment: Annotated[str | None, typer.Option(help="Comment recorded with it.")] = None,
) -> None:
    """Record the employee's CJIS clearance (positions that require it)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        inp = ob.CjisInput(actor_id=as_, cleared_on=parse_date(cleared_on, "--cleared-on"), comment=comment)
        client = await connect(settings)
        handle = await probation_handle(client, employee)
        current = await update(handle, ob.RECORD_CJIS, inp, ob.ProbationStatus)
        waiting = (
            " (permanent status, which waited for it, follows)" if current.stage == ob.AWAITING_CJIS else ""
        )
        typer.echo(
            f"CJIS clearance of {current.employee_id} recorded: cleared {current.cjis_cleared_on}{waiting}"
        )

    run(body())
