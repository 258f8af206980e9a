"""``hr leave …``: leaves from the command line.

``request`` checks the dates against the employee's approved leaves in the store and refuses
with the reason before anything starts (the workflow checks again, and once more under the
employee's lock when it is approved), then starts ``Leave``. The other commands answer its steps
(``certify`` is the ``submit_certification`` Update; ``acknowledge``, ``decide``, ``tpa``,
``return`` and ``extend`` are the human step's ``decide``), record absences (``absence``) or
flag a difficult case (``refer``); a validator's refusal prints ``refused: <reason>``. The leave
is found by the employee's id (the running one, by its search attributes), or ``--starts-on``.
``balance`` computes the entitlement from the store with the workflow's own rule.

A certification's diagnosis is read from a file (``--diagnosis-file``), not typed on a command
line that shells keep in their history; it goes to the workflow inside the encrypted payload.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.leave import absences_of, overlap_problem
from cli.onboarding import employee_id
from cli.render import fmt_time, render_receipt, render_step
from cli.store import require_hr_staff, require_person, store_engine
from cli.support import CliError, fail, load_settings, one_line, parse_date, read_text, run
from cli.temporal import connect, query_status, send_update
from schemas import leave as lv
from schemas.decision_details import FitnessForDuty, LeaveExtension, TpaClaim, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID, HR_STAGE
from service.settings import Settings
from workflows.rules import leave as rules

leave_app = typer.Typer(
    help="Leaves: request, certification, approval, absences against the entitlement, return or referral.",
    no_args_is_help=True,
)

EmployeeArgument = Annotated[str, typer.Argument(help="The employee's id, e.g. E1025.")]
AsOption = Annotated[str, typer.Option("--as", help="Your person id.")]
StartsOnOption = Annotated[
    str | None, typer.Option(help="The leave's first day, YYYY-MM-DD (default: the running leave).")
]
CommentOption = Annotated[str | None, typer.Option(help="Comment recorded with the answer.")]


# --------------------------------------------------------------------------- handles and status


async def leave_handle(client: Client, employee: str, starts_on: str | None) -> WorkflowHandle[Any, Any]:
    """The leave that starts on ``starts_on``, else the employee's running (or newest) leave."""
    employee = employee_id(employee)
    if starts_on is not None:
        return client.get_workflow_handle(
            lv.leave_workflow_id(employee, parse_date(starts_on, "--starts-on"))
        )
    query = f"{HR_ACTION_TYPE.name} = '{lv.LEAVE_ACTION_TYPE}' AND {HR_EMPLOYEE_ID.name} = '{employee}'"
    found = [e async for e in client.list_workflows(query)]
    if not found:
        raise CliError(f"{employee} has no leave on record (`hr leave request`)")
    running = [e for e in found if e.status is not None and e.status.name == "RUNNING"]
    return client.get_workflow_handle(max(running or found, key=lambda e: e.start_time).id)


async def leave_status(handle: WorkflowHandle[Any, Any]) -> tuple[WorkflowExecution, lv.LeaveStatus]:
    execution, raw = await query_status(handle)
    return execution, lv.LeaveStatus.model_validate(raw)


def open_step_id(status: lv.LeaveStatus, prefix: str, what: str) -> str:
    for step in status.open_steps:
        if step.step_id.startswith(prefix):
            return step.step_id
    raise CliError(f"no {what} is open in {status.workflow_id} (stage {status.stage})")


def render_leave(execution: WorkflowExecution | None, s: lv.LeaveStatus) -> str:
    """The leave for people: dates, eligibility, the certification's state (never its
    contents), decisions, the entitlement's balance, absences, outcome and open steps."""
    state = execution.status.name.title() if execution is not None and execution.status else "Unknown"
    lines = [
        f"{s.workflow_id}  Leave  {state}",
        f"  employee: {s.employee_id}; {s.leave_type}, {s.schedule}, {s.starts_on} to {s.ends_on}, "
        f"{s.requested_hours:g} hours; requested by {s.requested_by}",
        f"  stage: {s.stage}" + (f"; outcome: {s.outcome}" if s.outcome else ""),
    ]
    if s.outcome_reason:
        lines.append(f"  why: {one_line(s.outcome_reason)}")
    if s.eligible is not None:
        eligible = "yes" if s.eligible else "no: " + "; ".join(s.eligibility_reasons)
        lines.append(f"  eligible: {eligible} ({s.service_months} months, {s.hours_worked:g} hours worked)")
    if s.certification_due_at is not None:
        got = (
            f"received from {s.certified_by} {fmt_time(s.certified_at)}" if s.certified_by else "not received"
        )
        lines.append(f"  certification: due {fmt_time(s.certification_due_at)}; {got}")
    if s.tpa_claim_number:
        lines.append(f"  third-party administrator: claim {s.tpa_claim_number}, {s.tpa_decision}")
    for label, value in (("acknowledged by", s.acknowledged_by), ("approved by", s.approved_by)):
        if value:
            lines.append(f"  {label}: {value}")
    if s.designated_on:
        lines.append(f"  designated: {s.designated_on}")
    lines.append(
        f"  entitlement: {s.remaining_hours:g} of {s.entitlement_hours:g} hours left "
        f"({s.used_hours:g} used in the twelve months to {s.balance_on})"
    )
    if s.absences:
        lines.append("  absences: " + ", ".join(f"{a.on} {a.hours:g}h" for a in s.absences))
    for e in s.extensions:
        lines.append(f"  extended: {e.from_ends_on} to {e.to_ends_on} by {e.by}")
    if s.fitness_for_duty_required:
        lines.append("  fitness-for-duty certificate: required at return")
    if s.referred_to:
        lines.append(f"  referred to: {s.referred_to}" + (" (flagged difficult)" if s.difficult else ""))
    if s.returned_on:
        lines.append(f"  returned: {s.returned_on}")
    lines.append("  open steps:" + ("" if s.open_steps else " none"))
    for step in s.open_steps:
        lines += render_step(step, open_=True)
    return "\n".join(lines)


async def answer_step(
    employee: str,
    starts_on: str | None,
    prefix: str,
    what: str,
    inp: DecisionInput,
) -> None:
    settings = load_settings()
    require_person(store_engine(settings), inp.actor_id)

    async def answer(handle: WorkflowHandle[Any, Any]) -> DecisionInput:
        _, current = await leave_status(handle)
        return inp.model_copy(update={"step_id": open_step_id(current, prefix, what)})

    receipt = await send_update(
        settings, lambda client: leave_handle(client, employee, starts_on), "decide", answer, DecisionReceipt
    )
    typer.echo(render_receipt(receipt))


async def leave_update(
    settings: Settings, employee: str, starts_on: str | None, name: str, arg: Any
) -> lv.LeaveStatus:
    """One of the leave's own Updates (certification, absence, referral) to the employee's leave."""
    return await send_update(
        settings, lambda client: leave_handle(client, employee, starts_on), name, arg, lv.LeaveStatus
    )


# --------------------------------------------------------------------------- commands


@leave_app.command("request")
def request(
    employee: EmployeeArgument,
    as_: Annotated[str, typer.Option("--as", help="Person id of HR staff, or the employee.")],
    leave_type: Annotated[str, typer.Option("--type", help=f"One of {', '.join(rules.LEAVE_TYPES)}.")],
    from_: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    schedule: Annotated[str, typer.Option(help="continuous or intermittent.")] = rules.CONTINUOUS,
    hours: Annotated[float | None, typer.Option(help="Hours an intermittent leave expects to take.")] = None,
    weekly_hours: Annotated[float, typer.Option(help="The employee's weekly schedule.")] = 40.0,
    reason_file: Annotated[Path | None, typer.Option(help="A file with the reason (kept private).")] = None,
) -> None:
    """Request a leave: eligibility, then the certification (due in 15 days) and approvals."""
    if leave_type not in rules.LEAVE_TYPES:
        fail(f"--type is one of {', '.join(rules.LEAVE_TYPES)}, not {leave_type!r}")
    if schedule not in rules.SCHEDULES:
        fail(f"--schedule is {rules.CONTINUOUS} or {rules.INTERMITTENT}, not {schedule!r}")
    settings = load_settings()

    async def body() -> None:
        employee_ = employee_id(employee)
        engine = store_engine(settings)
        require_person(engine, employee_)
        if as_ != employee_:
            require_hr_staff(engine, as_, "request a leave for someone else")
        starts_on, ends_on = parse_date(from_, "--from"), parse_date(to, "--to")
        problem = rules.request_problem(schedule, starts_on, ends_on, hours, weekly_hours)
        wid = lv.leave_workflow_id(employee_, starts_on)
        with Session(engine) as session:
            problem = problem or overlap_problem(session, employee_, wid, starts_on, ends_on)
        if problem:
            raise CliError(f"refused: {problem}")
        try:
            inp = lv.LeaveInput(
                employee_id=employee_,
                leave_type=leave_type,  # type: ignore[arg-type]
                schedule=schedule,  # type: ignore[arg-type]
                starts_on=starts_on,
                ends_on=ends_on,
                hours=hours if schedule == rules.INTERMITTENT else None,
                weekly_hours=weekly_hours,
                requested_by=as_,
                reason=read_text(reason_file, "--reason-file") if reason_file else None,
            )
        except ValueError as err:
            raise CliError(f"refused: {one_line(str(err))}") from None
        client = await connect(settings)
        try:
            handle = await client.start_workflow(
                lv.LEAVE_WORKFLOW,
                inp,
                id=wid,
                task_queue=settings.task_queue,
                result_type=lv.LeaveResult,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"Leave of {employee_} from {starts_on}",
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(HR_ACTION_TYPE, lv.LEAVE_ACTION_TYPE),
                        SearchAttributePair(HR_EMPLOYEE_ID, employee_),
                        SearchAttributePair(HR_STAGE, lv.REQUESTED),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            raise CliError(f"a leave of {employee_} from {starts_on} exists; see `hr leave status`") from None
        typer.echo(f"started {handle.id}; see `hr leave status {employee_}`")

    run(body())


@leave_app.command("status")
def status(
    employee: EmployeeArgument,
    starts_on: StartsOnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status query's JSON.")] = False,
) -> None:
    """The leave's stage, eligibility, decisions, entitlement balance, absences and open steps."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, current = await leave_status(await leave_handle(client, employee, starts_on))
        typer.echo(current.model_dump_json(indent=2) if as_json else render_leave(execution, current))

    run(body())


@leave_app.command("certify")
def certify(
    employee: EmployeeArgument,
    as_: Annotated[str, typer.Option("--as", help="The employee, or HR staff.")],
    provider: Annotated[str, typer.Option(help="The certifying provider (or the issuer of orders).")],
    diagnosis_file: Annotated[Path, typer.Option(help="A file with the diagnosis or the orders' text.")],
    incapacity_from: Annotated[str | None, typer.Option(help="Incapacity from, YYYY-MM-DD.")] = None,
    incapacity_to: Annotated[str | None, typer.Option(help="Incapacity to, YYYY-MM-DD.")] = None,
    fitness_for_duty: Annotated[
        bool | None,
        typer.Option("--fitness-for-duty/--no-fitness-for-duty", help="Certificate required at return?"),
    ] = None,
    starts_on: StartsOnOption = None,
) -> None:
    """Submit the certification (from the employee or HR only)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        try:
            inp = lv.CertificationInput(
                actor_id=as_,
                provider=provider,
                diagnosis=read_text(diagnosis_file, "--diagnosis-file"),
                incapacity_from=parse_date(incapacity_from, "--incapacity-from") if incapacity_from else None,
                incapacity_to=parse_date(incapacity_to, "--incapacity-to") if incapacity_to else None,
                fitness_for_duty_required=fitness_for_duty,
            )
        except ValueError as err:
            raise CliError(f"refused: {one_line(str(err))}") from None
        current = await leave_update(settings, employee, starts_on, lv.SUBMIT_CERTIFICATION, inp)
        typer.echo(
            f"certification of {current.workflow_id} received from {as_}; the supervisor acknowledges next"
        )

    run(body())


@leave_app.command("acknowledge")
def acknowledge(
    employee: EmployeeArgument, as_: AsOption, comment: CommentOption = None, starts_on: StartsOnOption = None
) -> None:
    """The supervisor acknowledges the leave (HR approves next)."""
    inp = DecisionInput(actor_id=as_, decision=lv.ACKNOWLEDGED, comment=comment)
    run(answer_step(employee, starts_on, lv.ACKNOWLEDGEMENT_STEP, "acknowledgement", inp))


@leave_app.command("decide")
def decide(
    employee: EmployeeArgument,
    decision: Annotated[str, typer.Argument(help="approve or deny.")],
    as_: AsOption,
    comment: Annotated[str | None, typer.Option(help="Why (required to deny).")] = None,
    starts_on: StartsOnOption = None,
) -> None:
    """HR approves (the designation notice goes out) or denies the leave."""
    if decision not in (lv.APPROVE, lv.DENY):
        fail(f"the decision is {lv.APPROVE} or {lv.DENY}, not {decision!r}")
    inp = DecisionInput(actor_id=as_, decision=decision, comment=comment)
    run(answer_step(employee, starts_on, lv.APPROVAL_STEP, "approval", inp))


@leave_app.command("tpa")
def tpa(
    employee: EmployeeArgument,
    decision: Annotated[str, typer.Argument(help="accept or deny.")],
    as_: AsOption,
    claim: Annotated[str, typer.Option(help="The third-party administrator's claim number.")],
    comment: CommentOption = None,
    starts_on: StartsOnOption = None,
) -> None:
    """The third-party administrator's decision on a workers' compensation claim."""
    if decision not in (lv.ACCEPT, lv.DENY):
        fail(f"the decision is {lv.ACCEPT} or {lv.DENY}, not {decision!r}")
    try:
        details = as_sent(TpaClaim(claim_number=claim))
    except ValueError:
        fail(f"--claim must be letters, digits, '.', '_' or '-', not {claim!r}")
    inp = DecisionInput(actor_id=as_, decision=decision, comment=comment, details=details)
    run(answer_step(employee, starts_on, lv.TPA_STEP, "claim decision", inp))


@leave_app.command("absence")
def absence(
    employee: EmployeeArgument,
    as_: AsOption,
    on: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD.")],
    hours: Annotated[float, typer.Option(help="Hours of leave that day (each day of --through).")],
    through: Annotated[str | None, typer.Option(help="Last day of a span of workdays.")] = None,
    starts_on: StartsOnOption = None,
) -> None:
    """Record an absence; refused beyond the remaining entitlement, with the balance."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        try:
            inp = lv.AbsenceInput(
                actor_id=as_,
                on=parse_date(on, "--date"),
                through=parse_date(through, "--through") if through else None,
                hours=hours,
            )
        except ValueError as err:
            raise CliError(f"refused: {one_line(str(err))}") from None
        current = await leave_update(settings, employee, starts_on, lv.RECORD_ABSENCE, inp)
        typer.echo(
            f"absence recorded; {current.remaining_hours:g} of {current.entitlement_hours:g} hours left"
            + (
                " (exhausted: referred to the benefits representative)"
                if current.remaining_hours <= 0
                else ""
            )
        )

    run(body())


@leave_app.command("return")
def return_to_work(
    employee: EmployeeArgument,
    as_: AsOption,
    fitness_on: Annotated[
        str | None, typer.Option(help="The fitness-for-duty certificate's date, where required.")
    ] = None,
    comment: CommentOption = None,
    starts_on: StartsOnOption = None,
) -> None:
    """HR records the employee's return to work at the end of the leave."""
    details = (
        as_sent(FitnessForDuty(certified_on=parse_date(fitness_on, "--fitness-on"))) if fitness_on else None
    )
    inp = DecisionInput(actor_id=as_, decision=lv.RETURNED, comment=comment, details=details)
    run(answer_step(employee, starts_on, lv.RETURN_PREFIX, "return to work", inp))


@leave_app.command("extend")
def extend(
    employee: EmployeeArgument,
    as_: AsOption,
    to: Annotated[str, typer.Option("--to", help="The new last day, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
    starts_on: StartsOnOption = None,
) -> None:
    """HR extends the leave at its end (instead of a return)."""
    details = as_sent(LeaveExtension(ends_on=parse_date(to, "--to")))
    inp = DecisionInput(actor_id=as_, decision=lv.EXTEND, comment=reason, details=details)
    run(answer_step(employee, starts_on, lv.RETURN_PREFIX, "return to work", inp))


@leave_app.command("refer")
def refer(
    employee: EmployeeArgument,
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    reason: Annotated[str, typer.Option(help="Why the case is difficult; recorded.")],
    starts_on: StartsOnOption = None,
) -> None:
    """HR flags the case as difficult: it goes to the benefits representative."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        inp = lv.DifficultInput(actor_id=as_, reason=reason)
        current = await leave_update(settings, employee, starts_on, lv.FLAG_DIFFICULT, inp)
        typer.echo(f"{current.workflow_id} flagged as difficult; it goes to the benefits representative")

    run(body())


@leave_app.command("balance")
def balance(
    employee: EmployeeArgument,
    on: Annotated[str | None, typer.Option("--on", help="As of this day (default: today).")] = None,
    weekly_hours: Annotated[float, typer.Option(help="The employee's weekly schedule.")] = 40.0,
) -> None:
    """The entitlement left, from the absences on record (rolling twelve months)."""
    settings = load_settings()
    engine = store_engine(settings)
    employee_ = employee_id(employee)
    require_person(engine, employee_)
    day = parse_date(on, "--on") if on else date.today()
    with Session(engine) as session:
        taken = absences_of(session, employee_, rules.one_year_before(day))
    absences = [rules.Absence(a.on, a.hours) for a in taken if a.on <= day]
    entitlement = rules.entitlement_hours(weekly_hours)
    used = rules.used_in_window(absences, day)
    typer.echo(
        f"{employee_}: {rules.remaining_on(absences, day, entitlement):g} of {entitlement:g} hours left "
        f"on {day} ({used:g} used in the twelve months to {day}, {len(absences)} absences)"
    )
