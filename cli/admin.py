"""``hr admin``: set-up and operation of a Temporal cluster.

``setup`` (namespace, search attributes, schedules), ``schedules`` (list), ``pause-schedule`` /
``unpause-schedule`` / ``trigger-schedule``, ``health`` (one line per part, non-zero exit when
any fails); ``new-codec-key`` and ``rotate-key`` come from ``cli/codec.py``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cli.support import CliError, fail, load_settings, run
from cli.temporal import connect

admin_app = typer.Typer(help="Set-up of a production Temporal cluster.", no_args_is_help=True)


@admin_app.command("setup")
def admin_setup() -> None:
    """Register the namespace (if missing), the custom search attributes and the schedules."""
    from service.devserver import ensure_namespace, ensure_search_attributes
    from service.schedules import SCHEDULES

    settings = load_settings()
    for definition in SCHEDULES:  # every schedule builds from the settings before anything is written
        try:
            definition.build(settings)
        except ValueError as err:
            fail(str(err), code=2)

    async def body() -> None:
        from cli.store import require_hr_staff, store_engine
        from service.schedules import ensure_schedules

        try:  # the sweep runs as this person: HR staff of the store, checked before anything is written
            require_hr_staff(store_engine(settings), settings.sweep_requested_by, "run the review sweep")
        except CliError as err:
            raise CliError(f"HR_SWEEP_REQUESTED_BY: {err}") from None
        client = await connect(settings)
        if await ensure_namespace(client, settings.temporal_namespace):
            typer.echo(f"namespace {settings.temporal_namespace} registered")
        added = await ensure_search_attributes(client, settings.temporal_namespace)
        if added:
            typer.echo(f"search attributes added: {', '.join(added)}")
        else:
            typer.echo("search attributes already registered")
        for ensured in await ensure_schedules(client, settings):
            typer.echo(f"schedule {ensured.schedule_id} {ensured.outcome}")

    run(body())


@admin_app.command("schedules")
def admin_schedules() -> None:
    """List the schedules: id, state, next run, what it starts, runs so far and skipped."""
    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        rows = []
        async for listed in await client.list_schedules():
            description = await client.get_schedule_handle(listed.id).describe()
            schedule, info = description.schedule, description.info
            action = getattr(schedule.action, "workflow", "?")
            nxt = info.next_action_times[0].strftime("%Y-%m-%d %H:%M %Z") if info.next_action_times else "-"
            state = "paused" if schedule.state.paused else "active"
            note = f" ({schedule.state.note})" if schedule.state.note else ""
            rows.append(
                f"{listed.id}  {state}{note}  next {nxt}  starts {action}  "
                f"runs {info.num_actions}, skipped as overlapping {info.num_actions_skipped_overlap}, "
                f"running {len(info.running_actions)}"
            )
        typer.echo("\n".join(sorted(rows)) if rows else "no schedules; `hr admin setup` creates them")

    run(body())


def _schedule_command(schedule_id: str, what: str, note: str | None) -> None:
    from temporalio.service import RPCError, RPCStatusCode

    settings = load_settings()

    async def body() -> None:
        client = await connect(settings)
        handle = client.get_schedule_handle(schedule_id)
        try:
            await handle.describe()
            if what == "pause":
                await handle.pause(note=note or "paused by `hr admin pause-schedule`")
            elif what == "unpause":
                await handle.unpause(note=note or "unpaused by `hr admin unpause-schedule`")
            else:
                await handle.trigger()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise CliError(f"no schedule {schedule_id}; `hr admin schedules` lists them") from None
            raise
        typer.echo(f"schedule {schedule_id} {'triggered' if what == 'trigger' else what + 'd'}")

    run(body())


ScheduleId = Annotated[str, typer.Argument(help="The schedule's id (see `hr admin schedules`).")]
Note = Annotated[str | None, typer.Option(help="Why; shown with the schedule.")]


@admin_app.command("pause-schedule")
def pause_schedule(schedule_id: ScheduleId, note: Note = None) -> None:
    """Pause a schedule: it starts nothing until unpaused (also possible in the Web UI)."""
    _schedule_command(schedule_id, "pause", note)


@admin_app.command("unpause-schedule")
def unpause_schedule(schedule_id: ScheduleId, note: Note = None) -> None:
    """Unpause a paused schedule."""
    _schedule_command(schedule_id, "unpause", note)


@admin_app.command("trigger-schedule")
def trigger_schedule(schedule_id: ScheduleId) -> None:
    """Run a schedule's action now (skipped if a run of it is still going)."""
    _schedule_command(schedule_id, "trigger", None)


@admin_app.command("health")
def admin_health() -> None:
    """Check the Temporal frontend, namespace, search attributes, store, SMTP relay and codec key."""
    from cli.store import store_engine
    from service.client import connect as connect_client
    from service.health import run_checks

    settings = load_settings()

    async def body() -> bool:
        client, error = None, None
        try:
            client = await asyncio.wait_for(connect_client(settings), 10)
        except Exception as err:  # noqa: BLE001 (reported as the check's line)
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            error = "connection refused" if "onnection refused" in text else text
        checks = await run_checks(settings, client, error, store_engine(settings))
        for check in checks:
            typer.echo(check.line())
        return all(c.ok for c in checks)

    if not run(body()):
        raise typer.Exit(1)
