"""The ``hr`` command line: start processes, answer steps, look at what is waiting.

Installed as ``hr`` by ``pyproject.toml``; ``python starter.py …`` works the same. Settings
come from ``HR_*`` environment variables (``service/settings.py``). Every user-facing error is
one line on stderr and a non-zero exit code.

This module holds the Typer app and its generic commands; the process command groups and
what the commands lean on live in the ``cli/`` package: ``cli.support`` (errors, exit codes,
settings, option parsing), ``cli.store`` (the store), ``cli.temporal`` (the Temporal calls),
``cli.render`` (what is printed), ``cli.records`` (the read-only audit, outbox and document
commands), ``cli.recruitment`` and ``cli.register`` (their command groups) and the demos.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from cli import auth as cli_auth
from cli import codec as cli_codec
from cli import records as cli_records
from cli import web as cli_web
from cli.action import action_app
from cli.admin import admin_app
from cli.benefits import benefits_app
from cli.leave import leave_app
from cli.onboarding import onboarding_app, probation_app
from cli.recruitment import recruitment_app
from cli.register import register_app
from cli.render import (
    fmt_time,
    render_inbox,
    render_receipt,
    render_seeded,
    render_status,
    render_sweep,
)
from cli.store import (
    active_delegators,
    add_delegation,
    require_classification,
    require_hr_staff,
    require_person,
    safe_url,
    seed_store,
    store_engine,
    upgrade_schema,
)
from cli.support import (
    CliError,
    HardExitTyper,
    decision_details,
    default_keep_running,
    end_of_day,
    fail,
    load_settings,
    parse_date,
    quiet_logging,
    read_text,
    run,
    serve_forever,
    stop_on_sigterm,
)
from cli.temporal import connect, inbox_rows, query_status, start_review, start_sweep, update
from schemas.human_step import (
    MAX_EXTENSION,
    DecisionInput,
    DecisionReceipt,
    DelegationRequest,
    ExtendDueInput,
    StepSnapshot,
    WithdrawInput,
)
from schemas.jd_review import StartReviewInput

app = HardExitTyper(
    help="Personnel-action workflows on Temporal: start, decide, status, inbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
review_app = typer.Typer(help="Job-description review cycles.", no_args_is_help=True)
db_app = typer.Typer(help="The store's database schema.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")
cli_records.register(app)
cli_codec.register(app, admin_app)
app.add_typer(recruitment_app, name="recruitment")
app.add_typer(register_app, name="register")
app.add_typer(action_app, name="action")
app.add_typer(onboarding_app, name="onboarding")
app.add_typer(probation_app, name="probation")
app.add_typer(leave_app, name="leave")
cli_auth.register(app, admin_app)
cli_web.register(app)
app.add_typer(benefits_app, name="benefits")


# --------------------------------------------------------------------------- seed, db


@app.command()
def seed() -> None:
    """Create the store's tables and load the city's people, classifications and descriptions."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        seeded = await asyncio.to_thread(seed_store, engine)
        typer.echo(f"store: {safe_url(settings.database_url)}")
        typer.echo(render_seeded(seeded))

    run(body())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the configured database (HR_DATABASE_URL) to the latest schema."""
    settings = load_settings()

    async def body() -> None:
        typer.echo(f"store: {safe_url(settings.database_url)}")
        await asyncio.to_thread(upgrade_schema, store_engine(settings))
        typer.echo("schema is up to date")

    run(body())


# --------------------------------------------------------------------------- review


@review_app.command("start")
def review_start(
    class_code: Annotated[str, typer.Argument(help="Classification code, e.g. 1821.")],
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR requester.")],
    cycle: Annotated[str | None, typer.Option(help="Review cycle; default the current year.")] = None,
    draft: Annotated[
        Path | None, typer.Option(help="File with the proposed text; without it HR drafts first.")
    ] = None,
) -> None:
    """Start the review cycle of one classification."""
    from cli.demo import workflow_url

    settings = load_settings()
    cycle = cycle or str(date.today().year)

    async def body() -> None:
        engine = store_engine(settings)
        require_classification(engine, class_code)
        require_hr_staff(engine, as_, "request a review")
        draft_text = read_text(draft, "--draft") if draft else None
        # the contract checks the cycle (an id: it becomes part of the workflow id and of mail
        # headers) and the draft (not empty, not over the limit) before anything is sent
        StartReviewInput(class_code=class_code, cycle=cycle, requested_by=as_, draft_text=draft_text)
        client = await connect(settings)
        handle = await start_review(
            client, settings, class_code=class_code, cycle=cycle, requested_by=as_, draft_text=draft_text
        )
        typer.echo(f"started {handle.id}")
        typer.echo(workflow_url(settings, handle.id))

    run(body())


@review_app.command("sweep")
def review_sweep(
    as_: Annotated[str, typer.Option("--as", help="Person id of the HR requester.")],
    years: Annotated[
        int, typer.Option(help="Review descriptions last revised more than this many years ago.")
    ] = 10,
    cycle: Annotated[str | None, typer.Option(help="Review cycle; default the current year.")] = None,
    batch_size: Annotated[int, typer.Option(help="Reviews started per batch.")] = 10,
) -> None:
    """Start a review of every classification whose description is older than --years."""
    from cli.demo import workflow_url

    settings = load_settings()
    cycle = cycle or str(date.today().year)

    async def body() -> None:
        require_hr_staff(store_engine(settings), as_, "start a review sweep")
        client = await connect(settings)
        handle = await start_sweep(
            client, settings, cycle=cycle, requested_by=as_, older_than_years=years, batch_size=batch_size
        )
        typer.echo(f"sweep {handle.id} running; waiting for it")
        typer.echo(workflow_url(settings, handle.id))
        typer.echo(render_sweep(await handle.result()))

    run(body())


# --------------------------------------------------------------------------- decide, cancel, extend


@app.command()
def decide(
    workflow_id: Annotated[str, typer.Argument(help="The workflow waiting for the decision.")],
    decision: Annotated[
        str, typer.Argument(help="approve, request_changes, reject, agreeable, objection, …")
    ],
    as_: Annotated[str, typer.Option("--as", help="Your person id.")],
    step: Annotated[str | None, typer.Option(help="Step id, when more than one is open.")] = None,
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the decision.")] = None,
    text_file: Annotated[Path | None, typer.Option(help="File with a proposed text (HR drafting).")] = None,
    resolution: Annotated[str | None, typer.Option(help="Board resolution number.")] = None,
    meeting_date: Annotated[str | None, typer.Option(help="Board meeting date, YYYY-MM-DD.")] = None,
    on_behalf_of: Annotated[str | None, typer.Option(help="Person you answer for as their delegate.")] = None,
) -> None:
    """Answer an open step (sent as an Update: a wrong answer is refused with a reason)."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        require_person(engine, as_)
        if on_behalf_of:
            require_person(engine, on_behalf_of)
        answer = DecisionInput(
            actor_id=as_,
            decision=decision,
            step_id=step,
            on_behalf_of=on_behalf_of,
            comment=comment,
            details=decision_details(
                text=read_text(text_file, "--text-file") if text_file else None,
                resolution=resolution,
                meeting_date=parse_date(meeting_date, "--meeting-date") if meeting_date else None,
            ),
        )
        client = await connect(settings)
        receipt = await update(client.get_workflow_handle(workflow_id), "decide", answer, DecisionReceipt)
        typer.echo(render_receipt(receipt))

    run(body())


@app.command()
def cancel(
    workflow_id: Annotated[str, typer.Argument(help="The process to withdraw.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    reason: Annotated[str, typer.Option(help="Why it ends; recorded.")],
) -> None:
    """Withdraw a running process, recording who and why."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        handle = client.get_workflow_handle(workflow_id)
        answer = await update(handle, "withdraw", WithdrawInput(actor_id=as_, reason=reason), str)
        typer.echo(f"{workflow_id}: {answer}")

    run(body())


@app.command()
def extend(
    workflow_id: Annotated[str, typer.Argument(help="The workflow.")],
    step_id: Annotated[str, typer.Argument(help="The open step whose due date moves.")],
    as_: Annotated[str, typer.Option("--as", help="Your person id (HR).")],
    due: Annotated[str, typer.Option(help="New due date, YYYY-MM-DD (end of that day, local time).")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
) -> None:
    """Move an open step's due date."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        day = parse_date(due, "--due")
        if day > date.today() + MAX_EXTENSION:
            raise CliError(f"--due {day} is more than {MAX_EXTENSION.days} days ahead")
        extension = ExtendDueInput(actor_id=as_, step_id=step_id, new_due_at=end_of_day(day), reason=reason)
        client = await connect(settings)
        handle = client.get_workflow_handle(workflow_id)
        snapshot = await update(handle, "extend_due", extension, StepSnapshot)
        typer.echo(f"{workflow_id} step {snapshot.step_id} now due {fmt_time(snapshot.due_at)}")

    run(body())


# --------------------------------------------------------------------------- status, inbox, delegate


@app.command()
def status(
    workflow_id: Annotated[str, typer.Argument(help="The workflow.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status query's JSON.")] = False,
) -> None:
    """Show a workflow's stage, open steps (who is pending, by when) and answers so far."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        execution, raw = await query_status(client.get_workflow_handle(workflow_id))
        typer.echo(json.dumps(raw, indent=2, default=str) if as_json else render_status(execution, raw))

    run(body())


@app.command()
def inbox(
    as_: Annotated[str, typer.Option("--as", help="Your person id.")],
) -> None:
    """List what is waiting for you (and for the people you are a delegate for), oldest first."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        require_person(engine, as_)
        delegators = active_delegators(engine, as_, date.today())
        client = await connect(settings)
        rows = await inbox_rows(client, as_, delegators)
        typer.echo(render_inbox(as_, rows, datetime.now(timezone.utc)))

    run(body())


@app.command()
def delegate(
    from_: Annotated[str, typer.Option("--from", help="Person who is away.")],
    to: Annotated[str, typer.Option("--to", help="Person who answers for them.")],
    until: Annotated[str, typer.Option(help="Last day of the delegation, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why; recorded.")],
) -> None:
    """Record a time-bounded delegation, starting today."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        require_person(engine, from_)
        require_person(engine, to)
        today = date.today()
        ends_on = parse_date(until, "--until")
        if ends_on < today:
            raise CliError(f"--until {ends_on} is in the past")
        request = DelegationRequest(
            delegator_id=from_, delegate_id=to, starts_on=today, ends_on=ends_on, reason=reason
        )
        row = add_delegation(engine, request)
        typer.echo(f"delegation {row.id}: {to} answers for {from_} from {today} until {ends_on}")
        typer.echo("steps opened from now on count it; steps already open keep their delegates")

    run(body())


# --------------------------------------------------------------------------- worker


@app.command("worker")
def run_worker() -> None:
    """Run a worker on the configured task queue until Ctrl-C."""
    load_settings()

    async def body() -> None:
        import worker

        stop_on_sigterm()
        await worker.main()

    run(body(), interrupt_ok=True)


@app.command("mailer")
def run_mailer() -> None:
    """Deliver the outbox over SMTP (HR_SMTP_HOST) until Ctrl-C; every worker does this too."""
    settings = load_settings()

    async def body() -> None:
        from activities.db import create_schema
        from activities.mailer import Mailer, mailer_running

        stop_on_sigterm()
        engine = store_engine(settings)
        mailer = Mailer.from_settings(settings, engine)
        if mailer is None:
            raise CliError("HR_SMTP_HOST is not set: without an SMTP server the outbox is the delivery")
        await asyncio.to_thread(create_schema, engine)
        async with mailer_running(mailer):
            typer.echo(
                f"mailer delivering the outbox of {safe_url(settings.database_url)} "
                f"to {settings.smtp_host}:{settings.smtp_port}; press Ctrl-C to stop"
            )
            await serve_forever()

    run(body(), interrupt_ok=True)


# --------------------------------------------------------------------------- dev, demo


@app.command()
def dev() -> None:
    """Run the embedded Temporal server, seed the store and run a worker, until Ctrl-C."""
    from service.devserver import start_dev_server
    from web.server import web_beside

    settings = load_settings()

    async def body() -> None:
        from worker import worker_and_mailer

        stop_on_sigterm()
        server, client = await start_dev_server(settings)
        try:
            engine = store_engine(settings)
            typer.echo(render_seeded(await asyncio.to_thread(seed_store, engine)))
            async with worker_and_mailer(client, settings, engine), web_beside(settings, engine, client):
                how = "started" if server.started_here else "reused"
                typer.echo(
                    f"Temporal dev server {how} at {server.address} (state in {settings.dev_db_filename})"
                )
                typer.echo(f"Web UI: {settings.ui_url}")
                typer.echo(f"approvers' inbox: {settings.web_url}")
                if server.codec_endpoint:  # the token is masked: it is in the UI's settings
                    typer.echo(f"codec server for the Web UI: {server.codec_endpoint}")
                typer.echo(f"worker polling {settings.task_queue}; store {safe_url(settings.database_url)}")
                typer.echo(
                    f"mailer delivering to {settings.smtp_host}:{settings.smtp_port}"
                    if settings.smtp_host
                    else "no SMTP host (HR_SMTP_HOST): notices stay in the outbox (hr outbox)"
                )
                typer.echo("press Ctrl-C to stop")
                await serve_forever()
        finally:
            server.stop()

    run(body(), interrupt_ok=True)


@app.command()
def demo(
    keep_running: Annotated[
        bool | None,
        typer.Option(
            "--keep-running/--no-keep-running",
            help="Keep the server and worker up after the demo (default: yes in a terminal, no under CI).",
        ),
    ] = None,
    recruitment: Annotated[
        bool, typer.Option("--recruitment", help="Run seed 001's recruitment, announcement to hire, instead.")
    ] = False,
    onboarding: Annotated[
        bool,
        typer.Option(
            "--onboarding",
            help="Run the recruitment's hire through onboarding and probation (HR_DEMO_PROBATION) instead.",
        ),
    ] = False,
    leave: Annotated[
        bool, typer.Option("--leave", help="Run a leave, request to referral, instead.")
    ] = False,
    open_enrollment: Annotated[
        bool, typer.Option("--open-enrollment", help="Run open enrollment for the demo city instead.")
    ] = False,
) -> None:
    """Run a whole job-description review of classification 1821 with scripted answers.

    With --recruitment: seed 001's recruitment instead, from the announcement to the hire.
    With --onboarding: that recruitment's hire, then its onboarding and probation to permanent status.
    """
    from cli.demo import leave_one_pending, run_demo
    from cli.recruitment_demo import run_recruitment_demo
    from service.devserver import start_dev_server
    from service.identity import load_keyring
    from service.signing import issuing, signing_client
    from web.server import web_beside

    settings = load_settings()
    quiet_logging(settings)
    keep = default_keep_running() if keep_running is None else keep_running

    async def body() -> str:
        from worker import worker_and_mailer

        stop_on_sigterm()
        server, client = await start_dev_server(settings)
        try:
            how = "started" if server.started_here else "reused"
            typer.echo(f"Temporal dev server {how} at {server.address}")
            engine = store_engine(settings)
            typer.echo(render_seeded(await asyncio.to_thread(seed_store, engine)))
            async with worker_and_mailer(client, settings, engine), web_beside(settings, engine, client):
                client = signing_client(client, issuing(load_keyring(settings), settings.temporal_namespace))
                if leave:
                    from cli.leave_demo import run_leave_demo

                    outcome = (await run_leave_demo(client, settings, engine, echo=typer.echo)).outcome
                elif open_enrollment:
                    from cli.benefits_demo import run_open_enrollment_demo

                    outcome = (
                        await run_open_enrollment_demo(client, settings, engine, echo=typer.echo)
                    ).stage
                elif onboarding:
                    from cli.onboarding_demo import run_onboarding_demo

                    outcome = (await run_onboarding_demo(client, settings, engine, echo=typer.echo)).outcome
                elif recruitment:
                    outcome = (await run_recruitment_demo(client, settings, engine, echo=typer.echo)).outcome
                else:
                    outcome = (await run_demo(client, settings, engine, echo=typer.echo)).outcome
                if keep:
                    if not (onboarding or recruitment or leave or open_enrollment):
                        await leave_one_pending(client, settings, engine, echo=typer.echo)
                    typer.echo(
                        f"the server and worker keep running; browse {settings.ui_url}; Ctrl-C to stop"
                    )
                    await serve_forever()
        finally:
            server.stop()
        return outcome

    outcome = run(body(), interrupt_ok=True)
    expected, what = ("permanent", "onboarding") if onboarding else ("hired", "recruitment")
    if not (onboarding or recruitment):
        expected, what = "adopted", "review"
    if leave:
        expected, what = "referred", "leave"
    if open_enrollment:
        expected, what = "done", "open enrollment"
    if outcome != expected:
        fail(f"the demo {what} ended {outcome}, not {expected}")


if __name__ == "__main__":
    app()
