"""``hr benefits …``: plans, enrollments, elections and open enrollment from the CLI.

Every command maps onto the ``BenefitsEnrollment`` and ``OpenEnrollment`` workflows: an
election is the human step's ``decide`` Update with ``benefit_elections`` details (refused at
once with the reason: a plan not open to the employee, a tier that does not match the
dependants, a closed window); open enrollment starts the bulk run, ``pause``/``resume`` are its
Updates. The enrollment an employee answers is found by its search attributes (the running
``benefits_enrollment`` of the employee), so nobody types a workflow id. Dependants' dates of
birth are read from the command line into the payload only (the codec encrypts it); nothing
here prints or logs them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError

from cli.onboarding import employee_id
from cli.render import fmt_time, render_receipt
from cli.store import require_hr_staff, require_person, store, store_engine
from cli.support import CliError, load_settings, parse_date, run
from cli.temporal import connect, query_status, send_update, start_once
from schemas import benefits as bn
from schemas import death_claim as dc
from schemas.benefits_records import EnrollmentStatus
from schemas.benefits_tables import BenefitElection, BenefitEnrollment, BenefitPlan
from schemas.decision_details import BenefitElections, LifeClaimFiled, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID
from service.settings import Settings
from workflows.rules.benefits import LIFE_EVENT_WINDOW_DAYS
from workflows.rules.death_claim import died_on_problem

benefits_app = typer.Typer(
    help="Benefits enrollment: plans, elections, life events, COBRA and open enrollment.",
    no_args_is_help=True,
)
EmployeeArgument = Annotated[str, typer.Argument(help="The employee's id, e.g. E1031.")]
AsOption = Annotated[str, typer.Option("--as", help="Your person id.")]


def parse_plan(text: str) -> bn.PlanChoice:
    """``MED-PPO:family`` -> the plan and its tier."""
    plan, _, tier = text.partition(":")
    try:
        return bn.PlanChoice(plan_id=plan.strip(), tier=tier.strip())  # type: ignore[arg-type]
    except ValidationError:
        raise CliError(
            f"--plan {text!r} must be PLAN:TIER, the tier one of employee_only, employee_spouse, "
            "employee_children, family"
        ) from None


def parse_beneficiary(text: str) -> bn.Beneficiary:
    """``NAME|RELATION|PERCENT|EMAIL[|ADDRESS]`` -> a beneficiary (the refusal never echoes it)."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) not in (4, 5) or not parts[2].isdigit():
        raise CliError("--beneficiary must be NAME|RELATION|PERCENT|EMAIL[|ADDRESS]")
    try:
        return bn.Beneficiary(
            name=parts[0],
            relation=parts[1],  # type: ignore[arg-type]
            percent=int(parts[2]),
            email=parts[3],
            address=parts[4] if len(parts) == 5 else "",
        )
    except ValidationError as err:
        field = err.errors()[0]["loc"][0]
        raise CliError(f"--beneficiary: {field} is not valid") from None


def parse_elections(
    plans: list[str],
    spouse: str | None,
    partner: str | None,
    children: list[str],
    beneficiaries: list[str] | None = None,
) -> dict[str, Any]:
    """The ``benefit_elections`` details from the options, checked before anything is sent."""
    dependants: list[bn.Dependant] = []
    for relation, value in (("spouse", spouse), ("domestic_partner", partner)):
        if value is not None:
            born = parse_date(value, f"--{relation}")
            dependants.append(bn.Dependant(relation=relation, date_of_birth=born))  # type: ignore[arg-type]
    for value in children:
        dependants.append(bn.Dependant(relation="child", date_of_birth=parse_date(value, "--child")))
    try:
        return as_sent(
            BenefitElections(
                plans=[parse_plan(p) for p in plans],
                dependants=dependants,
                beneficiaries=[parse_beneficiary(b) for b in beneficiaries or []],
            )
        )
    except ValidationError as err:
        raise CliError(f"elections: {err.errors()[0]['msg']}") from None


async def enrollment_handle(client: Client, employee: str) -> WorkflowHandle[Any, Any]:
    """The employee's running enrollment (found by its search attributes)."""
    query = (
        f"{HR_ACTION_TYPE.name} = '{bn.BENEFITS_ACTION_TYPE}' AND {HR_EMPLOYEE_ID.name} = '{employee}' "
        "AND ExecutionStatus = 'Running'"
    )
    found = [e async for e in client.list_workflows(query)]
    if not found:
        raise CliError(f"{employee} has no open benefits enrollment")
    newest = max(found, key=lambda e: e.start_time)
    return client.get_workflow_handle(newest.id)


async def decide_in_enrollment(settings: Settings, employee: str, answer: DecisionInput) -> DecisionReceipt:
    """The human step's ``decide`` Update to the employee's running enrollment."""
    return await send_update(
        settings, lambda client: enrollment_handle(client, employee), "decide", answer, DecisionReceipt
    )


@benefits_app.command("plans")
def plans() -> None:
    """List the plans: kind, carrier, tiers and monthly premiums, who may join."""
    settings = load_settings()
    engine = store_engine(settings)
    with store(engine) as session:
        rows = session.exec(select(BenefitPlan).order_by(col(BenefitPlan.kind), col(BenefitPlan.id))).all()
    typer.echo(
        f"{'PLAN':<12} {'KIND':<11} {'CARRIER':<28} {'WINDOW':<7} {'COBRA':<6} TIERS (monthly, $)  OPEN TO"
    )
    for p in rows:
        tiers = ", ".join(f"{t} {p.monthly_premium_cents.get(t, 0) / 100:.2f}" for t in p.tiers)
        typer.echo(
            f"{p.id:<12} {p.kind:<11} {p.carrier:<28} {p.new_hire_window_days:<7} "
            f"{'yes' if p.cobra else 'no':<6} {tiers}  {', '.join(p.departments) or 'everyone'}"
        )


@benefits_app.command("start")
def start(
    employee: EmployeeArgument,
    as_: AsOption,
    event: Annotated[
        str, typer.Option(help="new_hire or life_event (COBRA and open enrollment start themselves).")
    ],
    on: Annotated[str, typer.Option(help="The hire date or the life event's date, YYYY-MM-DD.")],
    life_event: Annotated[
        str | None, typer.Option(help="marriage, birth_adoption or loss_of_coverage.")
    ] = None,
) -> None:
    """HR starts an employee's enrollment for a new hire or a qualifying life event."""
    settings = load_settings()

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        event_on = parse_date(on, "--on")
        engine = store_engine(settings)
        require_hr_staff(engine, as_, "start a benefits enrollment")
        require_person(engine, employee)
        if event not in (bn.NEW_HIRE, bn.LIFE_EVENT):
            raise CliError("--event must be new_hire or life_event")
        if event == bn.LIFE_EVENT:
            if life_event not in LIFE_EVENT_WINDOW_DAYS:
                raise CliError("--life-event must be marriage, birth_adoption or loss_of_coverage")
            if event_on > date.today():
                raise CliError(f"the life event's date {event_on} is in the future")
            closes = event_on + timedelta(days=LIFE_EVENT_WINDOW_DAYS[life_event])
            if closes < date.today():
                raise CliError(f"the window of a {life_event} on {event_on} closed on {closes}")
        inp = bn.EnrollmentInput(
            employee_id=employee,
            event=event,  # type: ignore[arg-type]
            event_on=event_on,
            requested_by=as_,
            life_event=life_event if event == bn.LIFE_EVENT else None,  # type: ignore[arg-type]
        )
        workflow_id = bn.enrollment_workflow_id(employee, event, event_on)
        client = await connect(settings)
        await start_once(
            client,
            bn.BENEFITS_WORKFLOW,
            inp,
            workflow_id,
            settings,
            f"Benefits enrollment of {employee} ({event} {event_on})",
        )
        typer.echo(
            f"started {workflow_id}; the employee elects with "
            f"`hr benefits elect {employee} --as {employee} …`"
        )

    run(body())


@benefits_app.command("elect")
def elect(
    employee: EmployeeArgument,
    as_: AsOption,
    plan: Annotated[list[str], typer.Option("--plan", help="PLAN:TIER, once per plan kind.")] = [],  # noqa: B006
    spouse: Annotated[str | None, typer.Option(help="The spouse's date of birth, YYYY-MM-DD.")] = None,
    domestic_partner: Annotated[str | None, typer.Option(help="The partner's date of birth.")] = None,
    child: Annotated[list[str], typer.Option("--child", help="A child's date of birth; repeat.")] = [],  # noqa: B006
    beneficiary: Annotated[
        list[str],
        typer.Option(
            "--beneficiary",
            help="A life-plan beneficiary, NAME|RELATION|PERCENT|EMAIL[|ADDRESS]; repeat (total 100).",
        ),
    ] = [],  # noqa: B006
    waive: Annotated[bool, typer.Option(help="Waive coverage instead.")] = False,
    carry_over: Annotated[bool, typer.Option(help="Open enrollment: keep the current elections.")] = False,
    comment: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
) -> None:
    """The employee's elections (one validated answer), or a waiver, or keeping what is there."""
    settings = load_settings()
    decision = bn.WAIVE if waive else bn.CARRY_OVER if carry_over else bn.ELECT

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        if sum((waive, carry_over, bool(plan))) != 1:
            raise CliError("give --plan (one or more), or --waive, or --carry-over")
        if beneficiary and not plan:
            raise CliError("--beneficiary goes with an election (--plan)")
        details = parse_elections(plan, spouse, domestic_partner, child, beneficiary) if plan else None
        require_person(store_engine(settings), as_)
        answer = DecisionInput(
            actor_id=as_, decision=decision, step_id="elections", comment=comment, details=details
        )
        typer.echo(render_receipt(await decide_in_enrollment(settings, employee, answer)))

    run(body())


@benefits_app.command("status")
def status(employee: EmployeeArgument) -> None:
    """The employee's enrollments on record, current elections, and the open one's window."""
    settings = load_settings()

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        engine = store_engine(settings)
        require_person(engine, employee)
        with store(engine) as session:
            enrollments = session.exec(
                select(BenefitEnrollment)
                .where(BenefitEnrollment.employee_id == employee)
                .order_by(col(BenefitEnrollment.id))
            ).all()
            current = session.exec(
                select(BenefitElection)
                .where(BenefitElection.employee_id == employee)
                .where(BenefitElection.status == "current")
                .order_by(col(BenefitElection.kind))
            ).all()
        typer.echo(f"{employee}: current elections")
        for e in current:
            typer.echo(
                f"  {e.kind:<11} {e.plan_id:<12} {e.tier:<18} from {e.coverage_on}"
                + (" (COBRA)" if e.cobra else "")
            )
        typer.echo("enrollments:")
        for r in enrollments:
            closes = fmt_time(r.window_closes_at) if r.window_closes_at else "-"
            typer.echo(
                f"  {r.workflow_id:<40} {r.status:<13} closes {closes}{' (default)' if r.defaulted else ''}"
            )
        client = await connect(settings)
        try:
            handle = await enrollment_handle(client, employee)
        except CliError:
            return
        _, raw = await query_status(handle)
        open_ = EnrollmentStatus.model_validate(raw)
        typer.echo(
            f"open: {open_.workflow_id} ({open_.event}), offered {', '.join(open_.offered)}; "
            f"elect by {fmt_time(open_.window_closes_at)} with "
            f"`hr benefits elect {employee} --as {employee} …`"
        )

    run(body())


@benefits_app.command("open-enrollment")
def open_enrollment(
    year: Annotated[int, typer.Argument(help="The coverage year.")],
    as_: AsOption,
    closes_on: Annotated[
        str | None, typer.Option(help="Last day to elect; default 30 days from now.")
    ] = None,
    window: Annotated[int, typer.Option(help="Child starts in flight at once.")] = 100,
    per_run: Annotated[int, typer.Option(help="Children per run before it continues as new.")] = 1000,
) -> None:
    """Open enrollment for every eligible employee (the bulk run); twice for a year starts nothing twice."""
    settings = load_settings()

    async def body() -> None:
        require_hr_staff(store_engine(settings), as_, "start open enrollment")
        closes_at = None
        if closes_on is not None:
            day = parse_date(closes_on, "--closes-on")
            if day <= date.today():
                raise CliError("--closes-on must be in the future")
            closes_at = datetime(day.year, day.month, day.day, 23, 59, tzinfo=timezone.utc)
        try:
            inp = bn.OpenEnrollmentInput(
                year=year, requested_by=as_, closes_at=closes_at, window=window, per_run_limit=per_run
            )
        except ValidationError as err:
            raise CliError(f"{err.errors()[0]['loc'][0]}: {err.errors()[0]['msg']}") from None
        client = await connect(settings)
        workflow_id = bn.open_enrollment_workflow_id(year)
        try:
            await client.start_workflow(
                bn.OPEN_ENROLLMENT_WORKFLOW,
                inp,
                id=workflow_id,
                task_queue=settings.task_queue,
                static_summary=f"Open enrollment {year}",
            )
        except WorkflowAlreadyStartedError:
            raise CliError(f"{workflow_id} is running already (`hr status {workflow_id}`)") from None
        typer.echo(f"started {workflow_id}; progress: `hr status {workflow_id}`")

    run(body())


def _toggle(year: int, as_: str, name: str) -> None:
    settings = load_settings()

    async def body() -> None:
        workflow_id = bn.open_enrollment_workflow_id(year)
        progress = await send_update(
            settings,
            lambda client: client.get_workflow_handle(workflow_id),
            name,
            bn.PauseInput(actor_id=as_),
            bn.OpenEnrollmentProgress,
        )
        typer.echo(
            f"{progress.workflow_id}: {progress.stage}; started {progress.started}, "
            f"already started {progress.already_started}, in flight {progress.in_flight}"
        )

    run(body())


@benefits_app.command("pause")
def pause(year: Annotated[int, typer.Argument(help="The coverage year.")], as_: AsOption) -> None:
    """HR pauses the bulk run: no new enrollment starts until it is resumed."""
    _toggle(year, as_, "pause")


@benefits_app.command("resume")
def resume(year: Annotated[int, typer.Argument(help="The coverage year.")], as_: AsOption) -> None:
    """HR resumes a paused bulk run."""
    _toggle(year, as_, "resume")


@benefits_app.command("audit")
def audit(
    employee: EmployeeArgument,
    as_: AsOption,
    approve: Annotated[bool, typer.Option("--approve", help="The election stands: record it.")] = False,
    return_: Annotated[
        bool, typer.Option("--return", help="Return the election to the employee (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why it is returned (the employee is told).")] = None,
) -> None:
    """HR benefits staff audit an employee's election: approve it, or return it with a reason."""
    settings = load_settings()

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        if approve == return_:
            raise CliError("give --approve or --return")
        if return_ and not (reason or "").strip():
            raise CliError("--return needs --reason")
        require_hr_staff(store_engine(settings), as_, "audit a benefits election")
        answer = DecisionInput(
            actor_id=as_, decision=bn.AUDIT_RETURN if return_ else bn.AUDIT_APPROVE, comment=reason
        )
        typer.echo(render_receipt(await decide_in_enrollment(settings, employee, answer)))

    run(body())


@benefits_app.command("death-claim")
def death_claim(
    employee: EmployeeArgument,
    as_: AsOption,
    died_on: Annotated[str, typer.Option(help="The date of death, YYYY-MM-DD (kept in the store only).")],
) -> None:
    """HR opens an employee's death claim: coverage and deductions end, the life claim is filed,
    the beneficiaries are told."""
    settings = load_settings()

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        day = parse_date(died_on, "--died-on")
        problem = died_on_problem(day, date.today())
        if problem:
            raise CliError(problem)
        engine = store_engine(settings)
        require_hr_staff(engine, as_, "open a death claim")
        require_person(engine, employee)
        workflow_id = dc.death_claim_workflow_id(employee)
        client = await connect(settings)
        await start_once(
            client,
            dc.DEATH_CLAIM_WORKFLOW,
            dc.DeathClaimInput(employee_id=employee, died_on=day, requested_by=as_),
            workflow_id,
            settings,
            f"Death claim of {employee}",
        )
        typer.echo(
            f"started {workflow_id}; file the life claim with "
            f"`hr benefits claim-filed {employee} --as {as_} --claim-number … --filed-on …`"
        )

    run(body())


@benefits_app.command("claim-filed")
def claim_filed(
    employee: EmployeeArgument,
    as_: AsOption,
    claim_number: Annotated[str, typer.Option(help="The carrier's claim number.")],
    filed_on: Annotated[str | None, typer.Option(help="The filing day, YYYY-MM-DD; default today.")] = None,
    comment: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
) -> None:
    """HR benefits staff record the life-insurance claim filed with the carrier."""
    settings = load_settings()

    async def body() -> None:
        nonlocal employee
        employee = employee_id(employee)
        day = parse_date(filed_on, "--filed-on") if filed_on else date.today()
        try:
            details = as_sent(LifeClaimFiled(claim_number=claim_number, filed_on=day))
        except ValidationError:
            raise CliError("--claim-number must be letters, digits, '.', '_' or '-'") from None
        require_person(store_engine(settings), as_)
        answer = DecisionInput(
            actor_id=as_, decision=dc.FILED, step_id=dc.FILE_STEP, comment=comment, details=details
        )
        claim_id = dc.death_claim_workflow_id(employee)
        receipt = await send_update(
            settings, lambda client: client.get_workflow_handle(claim_id), "decide", answer, DecisionReceipt
        )
        typer.echo(render_receipt(receipt))

    run(body())
