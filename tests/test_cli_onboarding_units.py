"""``hr onboarding`` and ``hr probation`` without a server: what is refused before anything is
sent, the extension period, and what ``status`` prints."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from cli.onboarding import parse_period
from cli.onboarding_render import render_onboarding, render_probation
from cli.support import CliError
from schemas import onboarding as ob
from starter import app

T = datetime(2026, 12, 1, 17, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["release", "--as", "E1011"], "--reason is required to release"),
        (
            ["extend", "--as", "E1011", "--reason", "more time"],
            "--period is required to extend, e.g. --period 90d",
        ),
        (["pass", "--as", "E1011", "--period", "30d"], "--period goes with extend"),
        (["promote", "--as", "E1011"], "the decision is pass, extend or release, not 'promote'"),
    ],
)
def test_a_probation_decision_missing_what_it_needs_is_refused_before_anything_is_sent(argv, refusal):
    result = CliRunner().invoke(app, ["probation", "decide", "E1031", *argv])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [refusal]


def test_an_extension_period_is_whole_days_from_1_to_180():
    assert parse_period("90d") == 90 and parse_period("12w") == 84 and parse_period("90") == 90
    assert parse_period("180d") == 180 and parse_period("1") == 1
    for bad in ("0", "181d", "36h", "2m", "soon"):
        with pytest.raises(CliError):
            parse_period(bad)


def _task(task: str, state: str, **kw) -> ob.TaskView:  # type: ignore[no-untyped-def]
    fields = {"title": task, "owner": "it_service_desk", "owner_ids": ["E1012", "E1013"], "decision": "done"}
    return ob.TaskView(task=task, state=state, **(fields | {"due_at": T} | kw))


def test_the_status_shows_every_task_with_its_owner_due_date_and_state():
    status = ob.OnboardingStatus(
        workflow_id="onboarding-E1031",
        employee_id="E1031",
        starts_on=date(2027, 1, 4),
        requested_by="E1006",
        stage=ob.TASKS,
        class_code="ITAT",
        position_id="P-ITAT-02",
        department_code="IT",
        supervisor_id="E1015",
        tasks=[
            _task(
                ob.IT_ACCOUNT, ob.COMPLETED, completed_by="E1012", completed_at=T, late=True, detail="jdoe"
            ),
            _task(ob.IT_PHONE, ob.REOPENED, times_reopened=1),
            _task(
                ob.ORIENTATION_ATTENDANCE, ob.WAITING, owner="hr", owner_ids=["E1006", "E1005"], due_at=None
            ),
        ],
        probation=ob.ProbationLink(workflow_id="probation-E1031-20270104"),
        open_steps=[],
        closed_steps=[],
    )
    text = render_onboarding(None, status)
    assert "employee: E1031, starts 2027-01-04 (ITAT, P-ITAT-02, department IT, supervisor E1015)" in text
    lines = text.splitlines()
    account = next(line for line in lines if line.strip().startswith("it-account"))
    assert "it_service_desk: E1012, E1013" in account and "2026-12-01 17:05 UTC" in account
    assert account.endswith("done by E1012 2026-12-01 17:05 UTC LATE")
    assert "      done: jdoe" in lines
    assert next(line for line in lines if "it-phone-directory" in line).endswith("reopened (re-opened 1x)")
    waiting = next(line for line in lines if "orientation-attendance" in line)
    assert "hr: E1006, E1005" in waiting and " - " in waiting and "waiting" in waiting
    assert lines[-1] == "  probation: probation-E1031-20270104 running"


def test_the_probation_status_shows_its_end_cjis_extension_and_outcome():
    status = ob.ProbationStatus(
        workflow_id="probation-E2003-20270104",
        employee_id="E2003",
        starts_on=date(2027, 1, 4),
        requested_by="E1008",
        stage=ob.PERMANENT,
        ends_at=datetime(2027, 7, 4, tzinfo=timezone.utc),
        ends_on=date(2027, 7, 4),
        supervisor_id="E1011",
        position_id="P-CI1659-04",
        cjis_required=True,
        cjis_cleared_on=date(2027, 7, 6),
        cjis_escalated=True,
        reminders_sent=[30, 14],
        extension=ob.Extension(
            days=45,
            reason="more time",
            from_ends_on=date(2027, 5, 20),
            to_ends_on=date(2027, 7, 4),
            decided_by="E1011",
            concurred_by="E1005",
        ),
        outcome=ob.PERMANENT,
        permanent_on=date(2027, 7, 6),
        open_steps=[],
        closed_steps=[],
    )
    text = render_probation(None, status)
    assert "  ends: 2027-07-04 (timer 2027-07-04 00:00 UTC)" in text
    assert "  supervisor reminded: 30 days before, 14 days before" in text
    assert "  CJIS clearance: cleared 2027-07-06 (escalated to the HR supervisor)" in text
    assert "  extended: by 45 days, 2027-05-20 to 2027-07-04 (E1011, concurred by E1005): more time" in text
    assert "  outcome: permanent from 2027-07-06" in text
