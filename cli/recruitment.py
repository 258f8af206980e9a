"""``hr recruitment …``: a civil-service recruitment from the command line.

Every command maps onto the ``Recruitment`` workflow's Updates (``apply``, ``override_screen``,
``score``, ``make_offer``, ``record_check`` and the human step's ``decide``); a validator's
refusal is printed as ``refused: <reason>``. Steps numbered by round (``selection-2``) are found
from the ``status`` query, so nobody types a step id. Files (applicants, scores) are read whole
and checked before anything is sent (``cli/applicant_csv.py``).

This module also holds what ``hr register …`` (``cli/register.py``) and the scripted
demo (``cli/recruitment_demo.py``) share with it: option parsing, the workflow handles and
their ``status`` queries. Opening a recruitment (the announcement, the store checks, the start)
is ``cli/recruitment_open.py``; what is printed is built in
``cli/recruitment_render.py``. Workflow ids, summaries and search attributes carry ids
and codes only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecution, WorkflowHandle

from cli.applicant_csv import CsvRefused, make_application, parse_applicants, parse_scores, shown
from cli.recruitment_open import (
    check_names,
    closing_time,
    load_announcement,
    opened_text,
    opening_input,
    position_problems,
    start_new_recruitment,
)
from cli.recruitment_render import recruitment_csv, render_recruitment
from cli.render import render_receipt
from cli.store import require_person, store, store_engine
from cli.support import CliError, decision_details, fail, load_settings, parse_date, read_text, run
from cli.temporal import connect, query_status, update
from schemas import recruitment as rc
from schemas.eligibility_register import RegisterStatus
from schemas.human_step import PROCEED, DecisionInput, DecisionReceipt, StepSnapshot

RECRUITMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_IMPORT_BYTES = 1_500_000
"""An import is one Update; Temporal refuses payloads of a few MB, so a bigger file is split."""
SCORING_STEPS = ("supplemental", "oral-board")

recruitment_app = typer.Typer(
    help="Civil-service recruitments: announcement, applications, screen, scores, offer, hire.",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------- parsing options


def require_recruitment_id(recruitment_id: str) -> str:
    if not RECRUITMENT_ID.fullmatch(recruitment_id):
        raise CliError(
            f"recruitment id {shown(recruitment_id)} must be letters, digits, '.', '_' or '-' "
            "(at most 64, no names), e.g. R-2026-ITAT-01"
        )
    return recruitment_id


def applicant(value: str) -> str:
    return value.strip().upper()


# --------------------------------------------------------------------------- offers


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
            actor_id=as_,
            decision=decision,
            step_id=step.step_id,
            comment=comment,
            details=decision_details(applicant_id=applicant_id),
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
    from cli.demo import workflow_url

    settings = load_settings()
    if demo == (file is not None):
        fail("give --file or --demo, not both" if demo else "give --file announcement.json or --demo")
    check_list = check_names(checks)

    async def body() -> None:
        require_recruitment_id(recruitment_id)
        engine = store_engine(settings)
        inp, note = opening_input(
            engine,
            recruitment_id,
            as_,
            file=file,
            demo=demo,
            closes_at=closes_at,
            closes_in=closes_in,
            check_list=check_list,
            hr_reviewer=hr_reviewer,
            hiring_manager=hiring_manager,
            raters=raters,
            panel=panel,
        )
        client = await connect(settings)
        if note:
            typer.echo(note)
        handle = await start_new_recruitment(client, settings, inp)
        typer.echo(opened_text(handle.id, inp, workflow_url(settings, handle.id)))

    run(body())


@recruitment_app.command("revise")
def revise(
    recruitment_id: RidArgument,
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR requester.")],
    file: Annotated[Path, typer.Option("--file", help="JSON: the revised Announcement.")],
    closes_at: Annotated[
        str | None,
        typer.Option(help="Closing time, ISO: 2026-09-01T17:00 (local unless zoned) or a date (its end)."),
    ] = None,
    closes_in: Annotated[str | None, typer.Option(help="Closing after this long: 30s, 15m, 2h, 10d.")] = None,
    comment: Annotated[str | None, typer.Option(help="What changed, for the record.")] = None,
) -> None:
    """Send the revised announcement the HR supervisor asked for (the `revision-N` step)."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        announcement, _ = load_announcement(file, closing_time(closes_at, closes_in), None)
        client = await connect(settings)
        step = await update(
            recruitment_handle(client, recruitment_id),
            "revise_announcement",
            rc.ReviseAnnouncementInput(actor_id=as_, announcement=announcement, comment=comment),
            str,
        )
        typer.echo(f"{step}: revised announcement sent; it goes back to the HR supervisor for approval")

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


@recruitment_app.command("reassign")
def reassign(
    recruitment_id: RidArgument,
    as_: AsOption,
    step: Annotated[str, typer.Option(help="The scoring step: supplemental or oral-board.")],
    from_id: Annotated[str, typer.Option("--from", help="The scorer who cannot finish.")],
    to_id: Annotated[str, typer.Option("--to", help="Who scores their remaining candidates.")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
) -> None:
    """Hand a scorer's unscored candidates to someone else (HR), who joins the step."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        receipt = await update(
            recruitment_handle(client, recruitment_id),
            "reassign_scorer",
            rc.ReassignScorerInput(
                actor_id=as_, step_id=step, from_id=from_id.upper(), to_id=to_id.upper(), reason=reason
            ),
            rc.ScoreReceipt,
        )
        typer.echo(
            f"{receipt.scorer_id} now scores {', '.join(receipt.remaining) or 'nobody'} at {receipt.step_id} "
            f"(reassigned from {from_id.upper()} by {as_})"
        )

    run(body())


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
        recruitment_id, as_, r"candidate-answer-\d+", "candidate answer step", rc.RESPONDED, comment=comment
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
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv",
            help="Print the candidates (screen, scores, rank, disposition) as CSV for a spreadsheet: "
            "HR's own export from the store, with the applicants' names (formulas neutralised).",
        ),
    ] = False,
) -> None:
    """Stage, counts, open steps (who is pending, by when), candidates, certified names, outcome."""
    if as_json and as_csv:
        fail("give --json or --csv, not both")
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, current = await recruitment_status(recruitment_handle(client, recruitment_id))
        if as_csv:
            names = applicant_names(store_engine(settings), current.recruitment_id)
            typer.echo(recruitment_csv(current, names), nl=False)
        else:
            typer.echo(
                current.model_dump_json(indent=2) if as_json else render_recruitment(execution, current)
            )

    run(body())
