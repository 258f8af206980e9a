"""structlog set-up: console for people, JSON for production log shippers.

Logs carry ids only, in both formats. An exception is rendered as a plain traceback (files,
lines, functions) without local variables, and a pydantic ``ValidationError`` in it names the
fields and rules, never the input. The Temporal SDK's record of a failed activity attempt
("Completing activity as failed", with the exception, on every attempt) becomes one line per
attempt with the activity, workflow and run ids, the attempt number and the error's type and
first line (``ActivityAttemptFilter``); the full stack is in the workflow's history.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import structlog
from pydantic import ValidationError
from structlog.typing import EventDict
from temporalio.exceptions import FailureError

from service.settings import Settings

SHORT_ERROR_CHARS = 200
"""An error's message in a one-line record is cut to this many characters."""
SDK_ACTIVITY_LOGGERS = ("temporalio.activity", "temporalio.worker._activity")
"""The loggers whose records with an exception ``ActivityAttemptFilter`` makes one line."""

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def short_error(exc: BaseException) -> str:
    """An exception as one short line that does not echo input.

    A pydantic ``ValidationError`` gives its count, model and each field's location and error
    type (``2 validation errors for Application: name: string_too_long; email: missing``);
    anything else the first line of its message (our ``ApplicationError`` messages carry ids
    only; SQLAlchemy puts the statement and its parameters on later lines), cut to
    ``SHORT_ERROR_CHARS``.
    """
    if isinstance(exc, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'input'}: {error['type']}"
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        )
        count = exc.error_count()
        text = f"{count} validation error{'s' if count != 1 else ''} for {exc.title}: {fields}"
    else:
        # A Temporal error's str() repeats its type before the message.
        lines = (exc.message if isinstance(exc, FailureError) else str(exc)).strip().splitlines()
        text = lines[0] if lines else ""
    return text if len(text) <= SHORT_ERROR_CHARS else text[: SHORT_ERROR_CHARS - 1] + "…"


def _hide_validation_input(shown: traceback.TracebackException, exc: BaseException, seen: set[int]) -> None:
    """Replaces the message of every ``ValidationError`` in the chain with ``short_error``."""
    if id(exc) in seen:
        return
    seen.add(id(exc))
    if isinstance(exc, ValidationError) and hasattr(shown, "_str"):
        shown._str = short_error(exc)  # what format_exception_only prints after the type
    for linked_shown, linked in ((shown.__cause__, exc.__cause__), (shown.__context__, exc.__context__)):
        if linked_shown is not None and linked is not None:
            _hide_validation_input(linked_shown, linked, seen)
    for inner_shown, inner in zip(
        getattr(shown, "exceptions", None) or (), getattr(exc, "exceptions", None) or (), strict=False
    ):
        _hide_validation_input(inner_shown, inner, seen)


def format_exception(exc_info: ExcInfo) -> str:
    """A plain traceback of ``exc_info``: no local variables, no pydantic input."""
    _, exc, tb = exc_info
    shown = traceback.TracebackException(type(exc), exc, tb, capture_locals=False)
    _hide_validation_input(shown, exc, set())
    return "".join(shown.format()).rstrip("\n")


def plain_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """``ConsoleRenderer``'s exception formatter: ``format_exception`` (rich's shows locals)."""
    sio.write("\n" + format_exception(exc_info))


def render_exception(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Turns ``exc_info`` (``True``, an exception or a tuple) into an ``exception`` text."""
    exc_info = event_dict.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info and not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and exc_info[1] is not None:
        event_dict["exception"] = format_exception(exc_info)
    return event_dict


def _where(tb: TracebackType | None) -> str | None:
    """``file:line in function`` of the innermost frame of ``tb`` outside installed packages."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    ours = [f for f in frames if "site-packages" not in f.filename and "dist-packages" not in f.filename]
    if not (ours or frames):
        return None
    last = (ours or frames)[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


class ActivityAttemptFilter(logging.Filter):
    """Makes the SDK's records of a failed activity attempt one line of ids.

    The SDK logs "Completing activity as failed" with ``exc_info`` on every attempt, and its
    ``temporal_activity`` extra (activity, workflow and run ids, attempt number). Here such a
    record keeps its message (without the dict the SDK appends to it), loses the traceback and
    gains ``activity``, ``activity_id``, ``attempt``, ``workflow_id``, ``run_id``,
    ``workflow_type``, ``error_type``, ``error`` (``short_error``) and ``where`` (the innermost
    frame). Records without an exception pass unchanged: the SDK's warnings stay visible.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if not exc_info or exc_info[1] is None:
            return True
        exc = exc_info[1]
        details = getattr(record, "temporal_activity", None)
        if isinstance(details, dict):
            fields = {
                "activity": details.get("activity_type"),
                "activity_id": details.get("activity_id"),
                "attempt": details.get("attempt"),
                "workflow_id": details.get("workflow_id"),
                "run_id": details.get("workflow_run_id"),
                "workflow_type": details.get("workflow_type"),
            }
            for name, value in fields.items():
                setattr(record, name, value)
            delattr(record, "temporal_activity")
        message = str(record.msg)
        if isinstance(details, dict):  # the SDK appended the same ids to the message
            message = message.split(" ({", 1)[0]
        record.msg = message.split(", original error:", 1)[0]  # the error is in `error`
        record.args = None
        kind = getattr(exc, "type", None)  # an ApplicationError's type, e.g. TemplateError
        record.error_type = kind if isinstance(kind, str) and kind else type(exc).__name__
        record.error = short_error(exc)
        record.where = _where(exc_info[2])
        record.exc_info = None
        record.exc_text = None
        return True


def _install_activity_filter() -> None:
    for name in SDK_ACTIVITY_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if not any(isinstance(f, ActivityAttemptFilter) for f in sdk_logger.filters):
            sdk_logger.addFilter(ActivityAttemptFilter())


def configure_logging(settings: Settings) -> None:
    """Routes structlog and stdlib logging (including the Temporal SDK's) to stderr."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    renderer: structlog.typing.Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain_traceback)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                render_exception,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every migration step at INFO; a schema change is worth a line, not twelve.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    # The SDK's DEBUG records print whole activations, completions and requests, payloads
    # (names, e-mail addresses) included: its loggers say no more than INFO.
    logging.getLogger("temporalio").setLevel(max(level, logging.INFO))
    _install_activity_filter()
