"""``hr benefits …`` end to end on the dev server, as a user runs it: the plans, a life event
started by HR, an election refused with its reason then accepted, the status with the
elections (never a date of birth), and open enrollment paused and resumed."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from tests.dev_server import Stack

pytest_plugins = ["tests.dev_server"]


async def test_benefits_from_the_command_line(stack: Stack) -> None:
    plans = await stack.hr("benefits", "plans")
    assert plans.code == 0, plans.err
    assert "MED-HMO-PW" in plans.out and "Regence BlueShield" in plans.out

    today = date.today().isoformat()
    refused = await stack.hr(
        "benefits",
        "start",
        "E1016",
        "--as",
        "E1016",
        "--event",
        "life_event",
        "--life-event",
        "marriage",
        "--on",
        today,
    )
    assert refused.code == 1 and "E1016" in refused.err and "HR" in refused.err
    started = await stack.hr(
        "benefits",
        "start",
        "E1016",
        "--as",
        "E1008",
        "--event",
        "life_event",
        "--life-event",
        "marriage",
        "--on",
        today,
    )
    assert started.code == 0, started.err
    workflow_id = f"benefits-E1016-life_event-{today.replace('-', '')}"
    assert workflow_id in started.out
    await stack.wait_for_stage(workflow_id, "electing")

    not_open = await stack.hr(
        "benefits", "elect", "E1016", "--as", "E1016", "--plan", "MED-HMO-PW:employee_only"
    )
    assert not_open.code == 1 and "refused: plan MED-HMO-PW is not open to E1016" in not_open.err
    mismatch = await stack.hr(
        "benefits",
        "elect",
        "E1016",
        "--as",
        "E1016",
        "--plan",
        "MED-PPO:employee_only",
        "--spouse",
        "1987-03-02",
    )
    assert (
        mismatch.code == 1 and "does not match the dependants" in mismatch.err and "1987" not in mismatch.err
    )
    bad_tier = await stack.hr("benefits", "elect", "E1016", "--as", "E1016", "--plan", "MED-PPO:everyone")
    assert bad_tier.code == 1 and "PLAN:TIER" in bad_tier.err
    elected = await stack.hr(
        "benefits", "elect", "E1016", "--as", "E1016", "--plan", "MED-PPO:employee_spouse",
        "--plan", "DEN-DELTA:employee_spouse", "--spouse", "1987-03-02",
    )  # fmt: skip
    assert elected.code == 0, elected.err

    await stack.wait_for_stage(workflow_id, "auditing")  # HR audits it before it is recorded
    employee_audits = await stack.hr("benefits", "audit", "E1016", "--as", "E1016", "--approve")
    assert employee_audits.code == 1 and "HR" in employee_audits.err
    no_reason = await stack.hr("benefits", "audit", "E1016", "--as", "E1008", "--return")
    assert no_reason.code == 1 and "--return needs --reason" in no_reason.err
    audited = await stack.hr("benefits", "audit", "E1016", "--as", "E1008", "--approve")
    assert audited.code == 0, audited.err

    for _ in range(60):
        status = await stack.hr("status", workflow_id)
        if "elected" in status.out:
            break
        await asyncio.sleep(0.5)
    assert "MED-PPO" in status.out and "employee_spouse" in status.out and "1987" not in status.out
    mine = await stack.hr("benefits", "status", "E1016")
    assert mine.code == 0 and "MED-PPO" in mine.out and "elected" in mine.out

    year = str(date.today().year + 5)
    opened = await stack.hr("benefits", "open-enrollment", year, "--as", "E1008", "--window", "2")
    assert opened.code == 0, opened.err
    paused = await stack.hr("benefits", "pause", year, "--as", "E1008")
    assert paused.code in (0, 1)  # it may have started every enrollment already
    if paused.code == 0:
        assert "paused" in paused.out
        resumed = await stack.hr("benefits", "resume", year, "--as", "E1008")
        assert resumed.code == 0, resumed.err
    stranger = await stack.hr("benefits", "pause", year, "--as", "E1016")
    assert stranger.code == 1 and "refused" in stranger.err


async def test_a_death_claim_from_the_command_line(stack: Stack) -> None:
    today = date.today()
    future = await stack.hr(
        "benefits",
        "death-claim",
        "E1017",
        "--as",
        "E1008",
        "--died-on",
        (today + timedelta(days=2)).isoformat(),
    )
    assert future.code == 1 and "the date of death is in the future" in future.err
    assert today.isoformat() not in future.err
    not_hr = await stack.hr(
        "benefits", "death-claim", "E1017", "--as", "E1017", "--died-on", today.isoformat()
    )
    assert not_hr.code == 1 and "HR" in not_hr.err
    started = await stack.hr(
        "benefits", "death-claim", "E1017", "--as", "E1008", "--died-on", today.isoformat()
    )
    assert started.code == 0, started.err
    assert "death-claim-E1017" in started.out and today.isoformat() not in started.out
    await stack.wait_for_stage("death-claim-E1017", "filing")
    again = await stack.hr(
        "benefits", "death-claim", "E1017", "--as", "E1008", "--died-on", today.isoformat()
    )
    assert again.code == 1 and "already started" in again.err

    bad_number = await stack.hr(
        "benefits", "claim-filed", "E1017", "--as", "E1008", "--claim-number", "no spaces"
    )
    assert bad_number.code == 1 and "--claim-number" in bad_number.err
    wrong_person = await stack.hr(
        "benefits", "claim-filed", "E1017", "--as", "E1016", "--claim-number", "LC-9"
    )
    assert wrong_person.code == 1 and "refused" in wrong_person.err
    filed = await stack.hr("benefits", "claim-filed", "E1017", "--as", "E1008", "--claim-number", "LC-9")
    assert filed.code == 0, filed.err
    await stack.wait_for_stage("death-claim-E1017", "closed")
    shown = await stack.hr("status", "death-claim-E1017")
    assert shown.code == 0 and "LC-9" in shown.out and "died" not in shown.out
    closed = await stack.hr("benefits", "claim-filed", "E1017", "--as", "E1008", "--claim-number", "LC-10")
    assert closed.code == 1


async def test_the_open_enrollment_demo_finishes_with_hr_auditing_the_elections(stack: Stack) -> None:
    from cli.benefits_demo import run_open_enrollment_demo

    lines: list[str] = []
    result = await run_open_enrollment_demo(
        stack.client, stack.settings, stack.engine, echo=lines.append, window=timedelta(seconds=20)
    )
    assert result.stage == "done" and result.elected == 3  # two elections audited, one waiver
    assert sum("audited" in line and "approved" in line for line in lines) == 2, lines
