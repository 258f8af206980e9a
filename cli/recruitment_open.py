"""Opening a recruitment (``hr recruitment open``): the announcement, the checks, the start.

The closing time from ``--closes-at`` / ``--closes-in``; the announcement and its plan from a
JSON file (or seed 001's for ``--demo``); what the workflow's first activity would refuse,
refused from the store before anything starts; the ``OpenRecruitmentInput``; the ``Recruitment``
workflow started with its summary and search attributes; and what the command prints then.
``cli/recruitment.py`` holds the command; ``hr register …`` and the scripted demo use
``position_problems``, ``start_recruitment`` and ``recruitment_summary`` from here.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from cli.applicant_csv import short_validation_message, shown
from cli.render import fmt_time
from cli.store import require_person, store
from cli.support import CliError, read_text
from schemas import recruitment as rc
from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT, HR_STAGE
from service.settings import Settings

RECRUITMENT_WORKFLOW = "Recruitment"
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
HR_ROLES = ("hr_supervisor", "hr_technician")
DEMO_CLOSES_IN = timedelta(days=14)
DATETIME = TypeAdapter(datetime)


# --------------------------------------------------------------------------- parsing options


def parse_duration(text: str, option: str = "--closes-in") -> timedelta:
    """``30s``, ``15m``, ``2h``, ``10d``, ``1w`` or combined (``1d12h``)."""
    compact = text.strip().lower().replace(" ", "")
    parts = DURATION_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise CliError(f"{option} must be a duration such as 30s, 15m, 2h or 10d, not {shown(text)}")
    total = timedelta()
    try:
        for number, unit in parts:
            total += timedelta(**{DURATION_UNITS[unit]: float(number)})
    except OverflowError:
        raise CliError(f"{option} {shown(text)} is too long") from None
    if total <= timedelta():
        raise CliError(f"{option} must be longer than zero")
    return total


def parse_moment(text: str, option: str = "--closes-at") -> datetime:
    """An ISO date-time (no zone: local time) or a date (the end of that day, local time)."""
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.max.time().replace(microsecond=0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{option} must be an ISO date or date-time (2026-09-01T17:00), not {shown(text)}"
        ) from None
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # within a day of the first or last moment a datetime holds
        raise CliError(f"{option} {shown(text)} is out of range") from None


def closing_time(closes_at: str | None, closes_in: str | None) -> datetime | None:
    if closes_at and closes_in:
        raise CliError("give --closes-at or --closes-in, not both")
    if closes_in:
        duration = parse_duration(closes_in)
        try:
            return datetime.now(timezone.utc) + duration
        except OverflowError:
            raise CliError(f"--closes-in {shown(closes_in)} is too long") from None
    if closes_at:
        return parse_moment(closes_at)
    return None


def id_list(text: str) -> list[str]:
    """``E1011,E1017`` as a list (order kept, duplicates dropped)."""
    return list(dict.fromkeys(p.strip().upper() for p in text.split(",") if p.strip()))


def check_names(checks: str | None) -> list[str] | None:
    """``--checks`` as a list (``none`` for no checks); None when not given."""
    if checks is None:
        return None
    return [c.strip().lower() for c in checks.split(",") if c.strip().lower() not in ("", "none")]


# --------------------------------------------------------------------------- the announcement


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
    except RecursionError:
        raise CliError(f"{path.name} is not an announcement: nested too deep") from None
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
        return moment.astimezone() if moment.tzinfo is None else value
    except (ValidationError, OverflowError, ValueError):  # not a date-time, or none local time can hold
        return value


def demo_announcement(
    engine: Engine, closes: datetime | None, check_list: list[str] | None
) -> tuple[rc.Announcement, rc.SelectionPlan, str]:
    """Seed 001's ITAT announcement (closing in 14 days unless ``closes``), its plan and a note.

    The note is not empty when the seed's position is taken: the announcement then names no position.
    """
    from activities.seed_recruitment import itat_announcement

    note = ""
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
    return announcement, rc.SelectionPlan(), note


# --------------------------------------------------------------------------- store checks


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


# --------------------------------------------------------------------------- the input


def opening_input(
    engine: Engine,
    recruitment_id: str,
    as_: str,
    *,
    file: Path | None,
    demo: bool,
    closes_at: str | None,
    closes_in: str | None,
    check_list: list[str] | None,
    hr_reviewer: str | None,
    hiring_manager: str | None,
    raters: str | None,
    panel: str | None,
) -> tuple[rc.OpenRecruitmentInput, str]:
    """The ``OpenRecruitmentInput`` from ``hr recruitment open``'s options, checked against the
    store, and a note to print (or ``""``); a ``CliError`` for what cannot be opened.
    """
    from activities.seed_recruitment import (
        DEMO_HIRING_MANAGER_ID,
        DEMO_HR_REVIEWER_ID,
        DEMO_PANEL,
        DEMO_RATERS,
    )

    closes = closing_time(closes_at, closes_in)
    note = ""
    if demo:
        announcement, plan, note = demo_announcement(engine, closes, check_list)
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
    return inp, note


# --------------------------------------------------------------------------- starting


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


async def start_new_recruitment(
    client: Client, settings: Settings, inp: rc.OpenRecruitmentInput
) -> WorkflowHandle[Any, rc.RecruitmentResult]:
    """``start_recruitment``; a recruitment opened before is a ``CliError``."""
    try:
        return await start_recruitment(client, settings, inp)
    except WorkflowAlreadyStartedError:
        raise CliError(
            f"recruitment {inp.recruitment_id} was already opened; "
            f"see `hr recruitment status {inp.recruitment_id}`"
        ) from None


def opened_text(workflow_id: str, inp: rc.OpenRecruitmentInput, url: str) -> str:
    """What ``hr recruitment open`` prints once the workflow has started."""
    a = inp.announcement
    return "\n".join(
        [
            f"started {workflow_id}: {recruitment_summary(inp.recruitment_id, a)}",
            f"  applications close {fmt_time(a.closes_at)}; "
            f"checks: {', '.join(a.background_checks) or 'none'}; "
            f"positions: {', '.join(a.position_ids) or 'none named'}",
            f"  HR reviewer {inp.hr_reviewer_id}, hiring manager {inp.hiring_manager_id}, "
            f"raters {', '.join(inp.raters) or '(HR supervisor)'}, "
            f"panel {', '.join(inp.panel) or '(HR supervisor)'}",
            f"  next: the HR supervisor approves it: hr decide {workflow_id} approve --as <id>",
            f"  {url}",
        ]
    )
