"""``hr recruitment …``: a civil-service recruitment from the command line.

Every command maps onto the ``Recruitment`` workflow's Updates (``apply``, ``override_screen``,
``score``, ``make_offer``, ``record_check`` and the human step's ``decide``); a validator's
refusal is printed as ``refused: <reason>``. Steps numbered by round (``selection-2``) are found
from the ``status`` query, so nobody types a step id. Files (applicants, scores) are read whole
and checked before anything is sent (``service/applicant_csv.py``).

This module also holds what ``hr register …`` (``service/cli_register.py``) and the scripted
demo (``service/recruitment_demo.py``) share with it: option parsing, the store checks, the
workflow handles and their ``status`` queries. What is printed is built in
``service/cli_recruitment_render.py``. Workflow ids, summaries and search attributes carry ids
and codes only.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from schemas import recruitment as rc
from schemas.eligibility_register import RegisterStatus
from schemas.human_step import PROCEED, DecisionInput, DecisionReceipt, StepSnapshot
from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT, HR_STAGE
from service.applicant_csv import (
    CsvRefused,
    make_application,
    parse_applicants,
    parse_scores,
    short_validation_message,
)
from service.cli_recruitment_render import render_recruitment
from service.cli_recruitment_render import render_register as render_register  # for recruitment_demo
from service.cli_render import fmt_time, render_receipt
from service.cli_store import require_person, store, store_engine
from service.cli_support import CliError, fail, load_settings, parse_date, read_text, run
from service.cli_temporal import connect, query_status, update
from service.settings import Settings

RECRUITMENT_WORKFLOW = "Recruitment"
RECRUITMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
HR_ROLES = ("hr_supervisor", "hr_technician")
DEMO_CLOSES_IN = timedelta(days=14)
MAX_IMPORT_BYTES = 1_500_000
"""An import is one Update; Temporal refuses payloads of a few MB, so a bigger file is split."""
SCORING_STEPS = ("supplemental", "oral-board")
DATETIME = TypeAdapter(datetime)

recruitment_app = typer.Typer(
    help="Civil-service recruitments: announcement, applications, screen, scores, offer, hire.",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------- parsing options


def require_recruitment_id(recruitment_id: str) -> str:
    if not RECRUITMENT_ID.fullmatch(recruitment_id):
        raise CliError(
            f"recruitment id {recruitment_id!r} must be letters, digits, '.', '_' or '-' "
            "(at most 64, no names), e.g. R-2026-ITAT-01"
        )
    return recruitment_id


def parse_duration(text: str, option: str = "--closes-in") -> timedelta:
    """``30s``, ``15m``, ``2h``, ``10d``, ``1w`` or combined (``1d12h``)."""
    compact = text.strip().lower().replace(" ", "")
    parts = DURATION_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise CliError(f"{option} must be a duration such as 30s, 15m, 2h or 10d, not {text!r}")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{DURATION_UNITS[unit]: float(number)})
    if total <= timedelta():
        raise CliError(f"{option} must be longer than zero")
    return total


def parse_moment(text: str, option: str = "--closes-at") -> datetime:
    """An ISO date-time (no zone: local time) or a date (the end of that day, local time)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, datetime.max.time().replace(microsecond=0)).astimezone(timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{option} must be an ISO date or date-time (2026-09-01T17:00), not {text!r}"
        ) from None
    return moment.astimezone(timezone.utc)


def closing_time(closes_at: str | None, closes_in: str | None) -> datetime | None:
    if closes_at and closes_in:
        raise CliError("give --closes-at or --closes-in, not both")
    if closes_in:
        return datetime.now(timezone.utc) + parse_duration(closes_in)
    if closes_at:
        return parse_moment(closes_at)
    return None


def id_list(text: str) -> list[str]:
    """``E1011,E1017`` as a list (order kept, duplicates dropped)."""
    return list(dict.fromkeys(p.strip().upper() for p in text.split(",") if p.strip()))


def applicant(value: str) -> str:
    return value.strip().upper()


# --------------------------------------------------------------------------- opening


def recruitment_summary(recruitment_id: str, announcement: rc.Announcement) -> str:
    """The UI summary: ids, codes and the class title only, never a person's name."""
    n = announcement.vacancies
    return (
        f"Recruitment {recruitment_id} {announcement.class_code}: {announcement.title} "
        f"({n} {'vacancy' if n == 1 else 'vacancies'})"
    )


def load_announcement(
    path: Path, closes_at: datetime | None, checks: list[str] | None
) -> tuple[rc.Announcement, rc.SelectionPlan]:
    """An ``Announcement`` and its plan from a JSON file (an announcement, or both in an object).

    ``closes_at`` and ``checks``, when given, replace the file's. The file's closing time
    without a time zone is local time (the announcement itself must carry a zone).
    """
    try:
        raw = json.loads(read_text(path, "--file"))
    except json.JSONDecodeError as err:
        raise CliError(f"{path.name} is not JSON: {err.msg} (line {err.lineno})") from None
    if not isinstance(raw, dict):
        raise CliError(f"{path.name} must hold a JSON object (an announcement)")
    plan_raw: Any = None
    if "announcement" in raw:
        extra = sorted(set(raw) - {"announcement", "plan"})
        if extra:
            raise CliError(f"{path.name}: unknown key {extra[0]!r} (expected announcement, plan)")
        ann_raw, plan_raw = raw["announcement"], raw.get("plan")
    else:
        ann_raw = raw
    if not isinstance(ann_raw, dict):
        raise CliError(f"{path.name}: the announcement must be a JSON object")
    ann_raw = dict(ann_raw)
    if closes_at is not None:
        ann_raw["closes_at"] = closes_at.isoformat()
    elif "closes_at" in ann_raw:
        ann_raw["closes_at"] = local_if_naive(ann_raw["closes_at"])
    else:
        raise CliError(f"{path.name} has no closes_at; give it there or with --closes-at / --closes-in")
    if checks is not None:
        ann_raw["background_checks"] = checks
    try:
        announcement = rc.Announcement.model_validate(ann_raw)
        plan = rc.SelectionPlan.model_validate(plan_raw or {})
    except ValidationError as err:
        raise CliError(f"{path.name}: {short_validation_message(err)}") from None
    return announcement, plan


def local_if_naive(value: object) -> object:
    """A date-time without a time zone, given the local one; anything else as it was.

    What is no date-time at all is left for the announcement's validation to refuse.
    """
    try:
        moment = DATETIME.validate_python(value)
    except ValidationError:
        return value
    return moment.astimezone() if moment.tzinfo is None else value


def _require_hr(engine: Engine, person_id: str, what: str) -> None:
    person = require_person(engine, person_id)
    if not any(role in person.roles for role in HR_ROLES):
        raise CliError(f"{person_id} is not HR staff ({' or '.join(HR_ROLES)}) and cannot be {what}")


def position_problems(
    engine: Engine, class_code: str, position_ids: list[str], *, vacant: bool = True
) -> dict[str, str]:
    """Position id -> why it cannot be filled by this recruitment (unknown, other class, filled).

    ``vacant=False`` accepts a position that has an incumbent already (one filled from a register).
    """
    from schemas.tables import Position

    problems: dict[str, str] = {}
    with store(engine) as session:
        for position_id in position_ids:
            position = session.get(Position, position_id)
            if position is None:
                problems[position_id] = f"unknown position {position_id}"
            elif position.class_code != class_code:
                problems[position_id] = f"position {position_id} is of classification {position.class_code}"
            elif vacant and position.incumbent_id is not None:
                problems[position_id] = f"position {position_id} is already filled by {position.incumbent_id}"
    return problems


def offer_position(engine: Engine, recruitment_id: str, class_code: str, position: str | None) -> str | None:
    """The position an offer names: ``position`` if it can be filled, else the first vacant one
    the announcement lists (None when it lists none).

    The hire fails in the store when the position is filled by then, so a filled or foreign
    position is refused here, before the offer is made.
    """
    from activities.recruitment import recruitment_row

    if position is not None:
        problems = position_problems(engine, class_code, [position])
        if problems:
            raise CliError(problems[position])
        return position
    with store(engine):
        row = recruitment_row(engine, recruitment_id)
    named = row.announcement.get("position_ids") if row else None
    listed = [str(p) for p in named] if isinstance(named, list) else []
    if not listed:
        return None
    problems = position_problems(engine, class_code, listed)
    vacant = [p for p in listed if p not in problems]
    if not vacant:
        raise CliError(
            f"every position of the announcement is taken ({'; '.join(problems.values())}); give --position"
        )
    return vacant[0]


def position_supervisor(engine: Engine, position_ids: list[str]) -> str | None:
    from schemas.tables import Position

    with store(engine) as session:
        for position_id in position_ids:
            position = session.get(Position, position_id)
            if position is not None and position.supervisor_id:
                return position.supervisor_id
    return None


def check_references(engine: Engine, inp: rc.OpenRecruitmentInput) -> None:
    """What the workflow's first activity would refuse, refused before anything starts."""
    from activities.recruitment import recruitment_row
    from schemas.tables import Classification, Department

    a = inp.announcement
    _require_hr(engine, inp.requested_by, "the requester of a recruitment")
    _require_hr(engine, inp.hr_reviewer_id, "its HR reviewer")
    for person_id in dict.fromkeys([inp.hiring_manager_id, *inp.raters, *inp.panel]):
        require_person(engine, person_id)
    with store(engine) as session:
        if session.get(Classification, a.class_code) is None:
            raise CliError(f"unknown classification {a.class_code}")
        if session.get(Department, a.department_code) is None:
            raise CliError(f"unknown department {a.department_code}")
    problems = position_problems(engine, a.class_code, a.position_ids)
    if problems:
        raise CliError(next(iter(problems.values())))
    if recruitment_row(engine, inp.recruitment_id) is not None:
        raise CliError(f"recruitment {inp.recruitment_id} already exists in the store")
    if a.closes_at <= datetime.now(timezone.utc):
        raise CliError(f"the closing time {fmt_time(a.closes_at)} is not in the future")


async def start_recruitment(
    client: Client, settings: Settings, inp: rc.OpenRecruitmentInput
) -> WorkflowHandle[Any, rc.RecruitmentResult]:
    """Starts ``Recruitment`` (id ``recruitment-<id>``, used once) with its summary and attributes."""
    a = inp.announcement
    return await client.start_workflow(
        RECRUITMENT_WORKFLOW,
        inp,
        id=rc.recruitment_workflow_id(inp.recruitment_id),
        task_queue=settings.task_queue,
        result_type=rc.RecruitmentResult,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        static_summary=recruitment_summary(inp.recruitment_id, a),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(HR_ACTION_TYPE, rc.ACTION_TYPE),
                SearchAttributePair(HR_CLASS_CODE, a.class_code),
                SearchAttributePair(HR_DEPARTMENT, a.department_code),
                SearchAttributePair(HR_STAGE, rc.ANNOUNCEMENT),
            ]
        ),
    )


# --------------------------------------------------------------------------- reading state


def recruitment_handle(client: Client, recruitment_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(rc.recruitment_workflow_id(require_recruitment_id(recruitment_id)))


def register_handle(client: Client, recruitment_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(rc.register_workflow_id(require_recruitment_id(recruitment_id)))


async def recruitment_status(
    handle: WorkflowHandle[Any, Any],
) -> tuple[WorkflowExecution, rc.RecruitmentStatus]:
    execution, raw = await query_status(handle)
    return execution, rc.RecruitmentStatus.model_validate(raw)


async def register_status(handle: WorkflowHandle[Any, Any]) -> tuple[WorkflowExecution, RegisterStatus]:
    try:
        execution, raw = await query_status(handle)
    except CliError as err:
        raise no_register(err, handle.id) from None
    return execution, RegisterStatus.model_validate(raw)


def no_register(err: CliError, workflow_id: str) -> CliError:
    """``no such workflow`` about a register, said as what it means."""
    if str(err).startswith("no such workflow"):
        return CliError(
            f"no eligibility register {workflow_id} (a recruitment establishes it after the oral board)"
        )
    return err


def open_step(status: rc.RecruitmentStatus, pattern: str, what: str) -> StepSnapshot:
    """The open step whose id matches ``pattern`` (``selection-\\d+``); a ``CliError`` if none."""
    for step in status.open_steps:
        if re.fullmatch(pattern, step.step_id):
            return step
    raise CliError(f"no {what} is open in {status.workflow_id} (stage {status.stage})")


def applicant_names(engine: Engine, recruitment_id: str) -> dict[str, str]:
    """Applicant id -> name, from the store (the only place names are kept)."""
    from activities.recruitment import applicants_for

    with store(engine):
        return {a.applicant_id: a.name for a in applicants_for(engine, recruitment_id)}


# --------------------------------------------------------------------------- shared command bodies

AsOption = Annotated[str, typer.Option("--as", help="Your person id.")]
RidArgument = Annotated[str, typer.Argument(help="The recruitment's id, e.g. R-2026-ITAT-01.")]


def _decide_step(
    recruitment_id: str,
    as_: str,
    pattern: str,
    what: str,
    decision: str,
    *,
    comment: str | None = None,
    applicant_id: str | None = None,
) -> None:
    """Answers the open step matching ``pattern`` with the human step's ``decide`` Update."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = recruitment_handle(client, recruitment_id)
        _, status = await recruitment_status(handle)
        step = open_step(status, pattern, what)
        answer = DecisionInput(
            actor_id=as_, decision=decision, step_id=step.step_id, comment=comment, applicant_id=applicant_id
        )
        receipt = await update(handle, "decide", answer, DecisionReceipt)
        typer.echo(render_receipt(receipt) + (f": {applicant_id}" if applicant_id else ""))

    run(body())


def _send_scores(recruitment_id: str, as_: str, scores: list[rc.CandidateScore], step: str | None) -> None:
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = recruitment_handle(client, recruitment_id)
        receipt = await update(
            handle, "score", rc.ScoreInput(actor_id=as_, scores=scores, step_id=step), rc.ScoreReceipt
        )
        done = (
            f"still to score: {', '.join(receipt.remaining)}"
            if receipt.remaining
            else f"{receipt.scorer_id} has scored every assigned candidate"
        )
        typer.echo(
            f"recorded {len(receipt.recorded)} score(s) by {receipt.scorer_id} at {receipt.step_id} "
            f"({', '.join(receipt.recorded)}); {done}"
        )

    run(body())


def _refused_file(path: Path, refused: CsvRefused) -> CliError:
    return CliError(f"{path.name} refused, nothing sent: {refused}")


# --------------------------------------------------------------------------- recruitment commands


@recruitment_app.command("open")
def open_recruitment(
    recruitment_id: RidArgument,
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR requester.")],
    file: Annotated[
        Path | None, typer.Option("--file", help="JSON: an Announcement, or {announcement, plan}.")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed 001's ITAT announcement (1 vacancy, position P-ITAT-02).")
    ] = False,
    closes_at: Annotated[
        str | None,
        typer.Option(help="Closing time, ISO: 2026-09-01T17:00 (local unless zoned) or a date (its end)."),
    ] = None,
    closes_in: Annotated[
        str | None, typer.Option(help="Closing after this long: 30s, 15m, 2h, 10d (--demo: 14d).")
    ] = None,
    raters: Annotated[
        str | None,
        typer.Option(help="Supplemental raters, e.g. E1011,E1017 (--demo: those; else the HR supervisor)."),
    ] = None,
    panel: Annotated[
        str | None,
        typer.Option(
            help="Oral board panel, e.g. E1010,E1015,E1016 (--demo: those; else the HR supervisor)."
        ),
    ] = None,
    hr_reviewer: Annotated[
        str | None, typer.Option(help="Screens, offers, records checks (--demo: E1006; else --as).")
    ] = None,
    hiring_manager: Annotated[
        str | None,
        typer.Option(help="Selects from the certified names (default: the position's supervisor)."),
    ] = None,
    checks: Annotated[
        str | None,
        typer.Option(help="Background checks after the offer: criminal,education,employment,mvr or none."),
    ] = None,
) -> None:
    """Open a recruitment: the HR supervisor approves the announcement, then it is posted."""
    from activities.seed_recruitment import (
        DEMO_HIRING_MANAGER_ID,
        DEMO_HR_REVIEWER_ID,
        DEMO_PANEL,
        DEMO_RATERS,
        itat_announcement,
    )
    from service.demo import workflow_url

    settings = load_settings()
    if demo == (file is not None):
        fail("give --file or --demo, not both" if demo else "give --file announcement.json or --demo")
    check_list = None
    if checks is not None:
        check_list = [c.strip().lower() for c in checks.split(",") if c.strip().lower() not in ("", "none")]

    async def body() -> None:
        require_recruitment_id(recruitment_id)
        engine = store_engine(settings)
        closes = closing_time(closes_at, closes_in)
        note = ""
        if demo:
            announcement = itat_announcement(closes or datetime.now(timezone.utc) + DEMO_CLOSES_IN)
            if check_list is not None:
                try:
                    announcement = rc.Announcement.model_validate(
                        announcement.model_dump() | {"background_checks": check_list}
                    )
                except ValidationError as err:
                    raise CliError(f"--checks: {short_validation_message(err)}") from None
            taken = position_problems(engine, announcement.class_code, announcement.position_ids)
            if taken:  # run again after a hire: the seed's position is filled
                note = f"note: {'; '.join(taken.values())}; the announcement names no position"
                vacant = [p for p in announcement.position_ids if p not in taken]
                announcement = announcement.model_copy(update={"position_ids": vacant})
            plan = rc.SelectionPlan()
        else:
            assert file is not None
            announcement, plan = load_announcement(file, closes, check_list)
        manager = hiring_manager or (DEMO_HIRING_MANAGER_ID if demo else None)
        manager = manager or position_supervisor(engine, announcement.position_ids)
        if manager is None:
            raise CliError("give --hiring-manager (the announcement names no position with a supervisor)")
        inp = rc.OpenRecruitmentInput(
            recruitment_id=recruitment_id,
            requested_by=as_.upper(),
            announcement=announcement,
            plan=plan,
            hr_reviewer_id=(hr_reviewer or (DEMO_HR_REVIEWER_ID if demo else as_)).upper(),
            hiring_manager_id=manager.upper(),
            raters=id_list(raters) if raters is not None else (list(DEMO_RATERS) if demo else []),
            panel=id_list(panel) if panel is not None else (list(DEMO_PANEL) if demo else []),
        )
        check_references(engine, inp)
        client = await connect(settings)
        if note:
            typer.echo(note)
        try:
            handle = await start_recruitment(client, settings, inp)
        except WorkflowAlreadyStartedError:
            raise CliError(
                f"recruitment {recruitment_id} was already opened; "
                f"see `hr recruitment status {recruitment_id}`"
            ) from None
        a = inp.announcement
        typer.echo(f"started {handle.id}: {recruitment_summary(recruitment_id, a)}")
        typer.echo(
            f"  applications close {fmt_time(a.closes_at)}; "
            f"checks: {', '.join(a.background_checks) or 'none'}; "
            f"positions: {', '.join(a.position_ids) or 'none named'}"
        )
        typer.echo(
            f"  HR reviewer {inp.hr_reviewer_id}, hiring manager {inp.hiring_manager_id}, "
            f"raters {', '.join(inp.raters) or '(HR supervisor)'}, "
            f"panel {', '.join(inp.panel) or '(HR supervisor)'}"
        )
        typer.echo(f"  next: the HR supervisor approves it: hr decide {handle.id} approve --as <id>")
        typer.echo(f"  {workflow_url(settings, handle.id)}")

    run(body())


@recruitment_app.command("apply")
def apply_one(
    recruitment_id: RidArgument,
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR staff member entering it.")],
    name: Annotated[str, typer.Option(help="The applicant's name (kept in the store only).")],
    email: Annotated[str, typer.Option(help="The applicant's e-mail address.")],
    education: Annotated[
        str, typer.Option(help="none, high_school, vocational, associate, bachelor, master, doctorate.")
    ],
    experience: Annotated[str, typer.Option(help="Years per area: bookkeeping=3,clerical=2.")] = "",
    answers_file: Annotated[
        Path | None,
        typer.Option(
            help="Text file with the supplemental answers, one per paragraph (blank-line separated)."
        ),
    ] = None,
) -> None:
    """Enter one application (before the close)."""
    settings = load_settings()

    async def body() -> None:
        answers: list[str] = []
        if answers_file is not None:
            text = read_text(answers_file, "--answers-file")
            answers = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        try:
            application = make_application(name, email, education, experience, answers)
        except CsvRefused as refused:
            raise CliError(f"application refused, nothing sent: {refused}") from None
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        receipt = await update(
            recruitment_handle(client, recruitment_id),
            "apply",
            rc.ApplyInput(actor_id=as_, applications=[application]),
            rc.ApplyReceipt,
        )
        typer.echo(
            f"application received as {receipt.applicant_ids[0]} "
            f"in {rc.recruitment_workflow_id(recruitment_id)}"
        )

    run(body())


@recruitment_app.command("import")
def import_applicants(
    recruitment_id: RidArgument,
    file: Annotated[
        Path, typer.Argument(help="CSV: name,email,education,experience[,answer_1,…]; experience a=3;b=2.")
    ],
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR staff member importing.")],
) -> None:
    """Import applications from a CSV file: every row is checked first; one bad row refuses the file."""
    settings = load_settings()

    async def body() -> None:
        try:
            applications = parse_applicants(read_text(file, "the file"))
        except CsvRefused as refused:
            raise _refused_file(file, refused) from None
        inp = rc.ApplyInput(actor_id=as_, applications=applications, source=file.name)
        if len(inp.model_dump_json()) > MAX_IMPORT_BYTES:
            raise CliError(f"{file.name} is too large for one import ({len(applications)} rows); split it")
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = recruitment_handle(client, recruitment_id)
        try:
            receipt = await update(handle, "apply", inp, rc.ApplyReceipt)
        except CliError as err:
            if str(err).startswith("refused: "):
                raise CliError(f"{file.name} {err}; nothing imported") from None
            raise
        ids = receipt.applicant_ids
        typer.echo(f"imported {len(ids)} application(s) from {file.name} into {handle.id}: {', '.join(ids)}")

    run(body())


@recruitment_app.command("screen")
def screen(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="Applicant id, e.g. A009.")],
    reason: Annotated[str, typer.Option(help="Why the automatic screen is overridden; recorded.")],
    qualified: Annotated[
        bool | None,
        typer.Option("--qualified/--not-qualified", help="The verdict that replaces the screen's."),
    ] = None,
) -> None:
    """Override the automatic minimum-qualification screen for one applicant, with a reason."""
    settings = load_settings()

    async def body() -> None:
        if qualified is None:
            raise CliError("give --qualified or --not-qualified")
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        view = await update(
            recruitment_handle(client, recruitment_id),
            "override_screen",
            rc.ScreenOverrideInput(
                actor_id=as_, applicant_id=applicant(applicant_id), qualified=qualified, reason=reason
            ),
            rc.CandidateView,
        )
        verdict = "qualified" if view.qualified else "not qualified"
        typer.echo(f"{view.applicant_id} now {verdict} (override by {as_}: {view.override_reason})")

    run(body())


@recruitment_app.command("confirm-screen")
def confirm_screen(
    recruitment_id: RidArgument,
    as_: AsOption,
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the confirmation.")] = None,
) -> None:
    """Confirm the minimum-qualification screen (with any overrides made); the selection goes on."""
    _decide_step(
        recruitment_id, as_, "mq-review", "minimum-qualification review", rc.CONFIRM, comment=comment
    )


@recruitment_app.command("score")
def score(
    recruitment_id: RidArgument,
    as_: AsOption,
    step: Annotated[
        str | None, typer.Option(help="supplemental or oral-board (default: the open scoring step).")
    ] = None,
    applicant_id: Annotated[str | None, typer.Option("--applicant", help="Applicant id, e.g. A003.")] = None,
    value: Annotated[float | None, typer.Option("--score", help="The score, 0-100.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="CSV of applicant_id,score; all or nothing.")
    ] = None,
) -> None:
    """Record a rater's or panel member's scores: one (--applicant, --score) or a CSV (--file)."""
    if step is not None and step not in SCORING_STEPS:
        fail(f"--step must be one of {', '.join(SCORING_STEPS)}, not {step!r}")
    if file is not None:
        if applicant_id is not None or value is not None:
            fail("give --file, or --applicant with --score, not both")
        try:
            scores = parse_scores(read_text(file, "--file"))
        except (CsvRefused, CliError) as err:
            fail(str(_refused_file(file, err) if isinstance(err, CsvRefused) else err))
    elif applicant_id is None or value is None:
        fail("give --applicant and --score, or --file scores.csv")
    else:
        scores = [rc.CandidateScore(applicant_id=applicant(applicant_id), score=value)]
    _send_scores(recruitment_id, as_, scores, step)


@recruitment_app.command("select")
def select(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="A certified applicant, e.g. A004.")],
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the selection.")] = None,
) -> None:
    """The hiring manager selects one of the certified names."""
    _decide_step(
        recruitment_id,
        as_,
        r"selection-\d+",
        "selection step",
        rc.SELECT,
        comment=comment,
        applicant_id=applicant(applicant_id),
    )


@recruitment_app.command("offer")
def offer(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="The selected applicant.")],
    start_date: Annotated[str, typer.Option(help="First day of work, YYYY-MM-DD (in the future).")],
    position: Annotated[str | None, typer.Option(help="Position id (default: the first open one).")] = None,
    pay_step: Annotated[int, typer.Option("--step", min=1, help="Pay step offered.")] = 1,
) -> None:
    """HR makes the conditional offer to the department's selection."""
    settings = load_settings()

    async def body() -> None:
        starts = parse_date(start_date, "--start-date")
        engine = store_engine(settings)
        require_person(engine, as_)
        client = await connect(settings)
        handle = recruitment_handle(client, recruitment_id)
        _, current = await recruitment_status(handle)
        position_id = offer_position(engine, recruitment_id, current.class_code, position)
        made = await update(
            handle,
            "make_offer",
            rc.OfferInput(
                actor_id=as_,
                applicant_id=applicant(applicant_id),
                position_id=position_id,
                start_date=starts,
                pay_step=pay_step,
            ),
            rc.OfferInput,
        )
        typer.echo(
            f"conditional offer made to {made.applicant_id}: position {made.position_id or '(first open)'}, "
            f"start {made.start_date}, pay step {made.pay_step}; record the answer with `answer-offer`"
        )

    run(body())


@recruitment_app.command("answer-offer")
def answer_offer(
    recruitment_id: RidArgument,
    answer: Annotated[str, typer.Argument(help="accept or decline.")],
    as_: AsOption,
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the answer.")] = None,
) -> None:
    """Record the candidate's answer to the conditional offer."""
    if answer not in (rc.ACCEPT, rc.DECLINE):
        fail(f"the answer is {rc.ACCEPT} or {rc.DECLINE}, not {answer!r}")
    _decide_step(recruitment_id, as_, r"offer-answer-\d+", "offer answer", answer, comment=comment)


@recruitment_app.command("check")
def check(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="The applicant with the accepted offer.")],
    check_name: Annotated[str, typer.Option("--check", help="criminal, education, employment or mvr.")],
    result: Annotated[str, typer.Option(help="clear or potentially_disqualifying.")],
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the result.")] = None,
) -> None:
    """Record one background-check result (only after an accepted conditional offer)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        checks = await update(
            recruitment_handle(client, recruitment_id),
            "record_check",
            rc.CheckResultInput(
                actor_id=as_,
                applicant_id=applicant(applicant_id),
                check=check_name.strip().lower(),
                result=result.strip().lower(),
                comment=comment,
            ),
            dict[str, str],
        )
        so_far = ", ".join(f"{k} {v}" for k, v in checks.items())
        typer.echo(f"recorded {check_name} {result} for {applicant(applicant_id)}; checks so far: {so_far}")

    run(body())


@recruitment_app.command("candidate-answer")
def candidate_answer(
    recruitment_id: RidArgument,
    as_: AsOption,
    comment: Annotated[str, typer.Option(help="What the candidate answered about the record.")],
) -> None:
    """Record the candidate's answer to a potentially disqualifying background record."""
    _decide_step(
        recruitment_id, as_, r"candidate-answer-\d+", "candidate answer step", "responded", comment=comment
    )


@recruitment_app.command("decide-background")
def decide_background(
    recruitment_id: RidArgument,
    decision: Annotated[str, typer.Argument(help="proceed or disqualify.")],
    as_: AsOption,
    comment: Annotated[str | None, typer.Option(help="Why (required to disqualify).")] = None,
) -> None:
    """The HR supervisor decides after a background record: proceed to hire, or disqualify."""
    if decision not in (PROCEED, rc.DISQUALIFY):
        fail(f"the decision is {PROCEED} or {rc.DISQUALIFY}, not {decision!r}")
    _decide_step(
        recruitment_id, as_, r"background-decision-\d+", "background decision", decision, comment=comment
    )


@recruitment_app.command("status")
def status(
    recruitment_id: RidArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status query's JSON.")] = False,
) -> None:
    """Stage, counts, open steps (who is pending, by when), candidates, certified names, outcome."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, current = await recruitment_status(recruitment_handle(client, recruitment_id))
        typer.echo(current.model_dump_json(indent=2) if as_json else render_recruitment(execution, current))

    run(body())
