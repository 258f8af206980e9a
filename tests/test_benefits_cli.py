"""``hr benefits …`` end to end on the dev server, as a user runs it: the plans, a life event
started by HR, an election refused with its reason then accepted, the status with the
elections (never a date of birth), and open enrollment paused and resumed."""

from __future__ import annotations

import asyncio
from datetime import date

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
