"""Plumbing of the ``hr`` command line: one-line errors and exit codes, settings, parsing.

A command hands its work to ``run`` as a coroutine; ``run`` turns every failure into one line
on stderr and a non-zero exit code (``CliError`` for what the user can act on, and the SDK's,
the database's and any other exception mapped to a short message). ``HardExitTyper`` ends a CLI
process with ``os._exit`` so the SDK's threads cannot abort it during interpreter teardown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from cli.applicant_csv import shown
from schemas.limits import reason
from service.settings import Settings, get_settings

T = TypeVar("T")


class CliError(Exception):
    """An error the user can act on; printed as one line, exit code 1 (``code``: another)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- exit


class HardExitTyper(typer.Typer):
    """A Typer app ending the process without interpreter teardown when run as the CLI.

    The SDK's Rust core keeps threads that may call into Python while the interpreter
    finalizes, which can abort a short-lived client process after its work is done
    ("Fatal Python error: PyGILState_Release", temporalio/sdk-python#300). A CLI run
    therefore flushes its output and leaves with ``os._exit``. ``CliRunner`` tests, which
    do not go through ``__call__``, are unaffected.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        code = 0
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as exit_:
            if isinstance(exit_.code, int) or exit_.code is None:
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        hard_exit(code)


def hard_exit(code: int) -> NoReturn:
    """Flushes stdout, stderr and the logging handlers, then ends the process with ``code``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str, code: int = 1) -> NoReturn:
    """Prints ``message`` as one line on stderr and exits with ``code``."""
    typer.echo(one_line(message), err=True)
    raise typer.Exit(code)


def run(body: Coroutine[Any, Any, T], *, interrupt_ok: bool = False) -> T:
    """Runs an async command body, turning every failure into one line on stderr."""
    try:
        return asyncio.run(body)
    except CliError as err:
        fail(str(err), err.code)
    except (KeyboardInterrupt, asyncio.CancelledError):
        if interrupt_ok:
            typer.echo("stopped", err=True)
            raise typer.Exit(0) from None
        fail("interrupted", 130)
    except WorkflowAlreadyStartedError as err:
        fail(f"already started: {err.workflow_id}")
    except ValidationError as err:  # a contract built from the options refused them
        fail(f"refused: {reason(err)}")
    except RPCError as err:
        fail(f"Temporal refused the request ({err.status.name if err.status else 'error'}): {err.message}")
    except SQLAlchemyError as err:
        detail = str(getattr(err, "orig", None) or err).strip()
        fail(f"database error: {one_line(detail) if detail else type(err).__name__}")
    except typer.Exit:
        raise
    except Exception as err:  # noqa: BLE001 (the CLI's last line of defence: no tracebacks)
        fail(f"{type(err).__name__}: {err}")


# --------------------------------------------------------------------------- settings, logging


def load_settings() -> Settings:
    """The ``HR_*`` settings, with logging configured from them."""
    from service.logging import configure_logging
    from service.settings import SettingsError

    try:
        settings = get_settings()
    except SettingsError as err:
        fail(str(err), code=2)
    configure_logging(settings)
    return settings


def quiet_logging(settings: Settings) -> None:
    """The demo prints its own story; the log shows warnings only unless HR_LOG_LEVEL says more."""
    from service.logging import configure_logging

    if "log_level" not in settings.model_fields_set:
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}))


# --------------------------------------------------------------------------- options


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date as YYYY-MM-DD, not {shown(value)}") from None


def read_text(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise CliError(f"cannot read {option} {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise CliError(
            f"cannot read {option} {path}: not UTF-8 text (byte {err.start + 1}); save it as UTF-8"
        ) from None


def decision_details(
    *,
    text: str | None = None,
    resolution: str | None = None,
    meeting_date: date | None = None,
    applicant_id: str | None = None,
) -> dict[str, Any] | None:
    """A decision's details from the options given (``--text-file``, ``--resolution`` with
    ``--meeting-date``, ``--applicant``): at most one kind, checked here before anything is sent."""
    from pydantic import ValidationError

    from schemas.decision_details import BoardResolution, RevisedText, Selection, as_sent

    given = [
        o
        for o, v in (("--text-file", text), ("--resolution", resolution), ("--applicant", applicant_id))
        if v is not None
    ]
    if len(given) > 1:
        raise CliError(f"give one of {', '.join(given)}, not several")
    if meeting_date is not None and resolution is None:
        raise CliError("--meeting-date goes with --resolution")
    try:
        if text is not None:
            return as_sent(RevisedText(text=text))
        if resolution is not None:
            return as_sent(BoardResolution(resolution_number=resolution, meeting_date=meeting_date))
        if applicant_id is not None:
            return as_sent(Selection(applicant_id=applicant_id))
    except ValidationError as err:
        problem = err.errors()[0]
        raise CliError(f"{given[0]}: {problem['msg']}") from None
    return None


def end_of_day(day: date) -> datetime:
    """A due date given as a day means the end of that day, in the local time zone."""
    try:
        local = datetime.combine(day, time(23, 59)).astimezone()
        return local.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # the first or last days a datetime can hold
        raise CliError(f"{day.isoformat()} is out of range") from None


# --------------------------------------------------------------------------- long-running commands


async def serve_forever() -> None:
    await asyncio.Event().wait()


def stop_on_sigterm() -> None:
    """SIGTERM ends a long-running command like Ctrl-C: the worker and the dev server stop cleanly."""
    task = asyncio.current_task()
    if task is not None and hasattr(signal, "SIGTERM"):
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):  # not on this platform / not the main thread
            pass


def default_keep_running() -> bool:
    """The demo keeps its server and worker up in a terminal, not under CI."""
    return sys.stdin.isatty() and not os.environ.get("CI")
