"""``hr leave`` end to end: the CLI as subprocesses, on the dev server (its visibility finds the
employee's running leave).

A request refused for overlapping an approved leave; an intermittent leave requested, its
certification refused from the supervisor and taken from the employee's file, acknowledged,
approved; absences against an entitlement an earlier leave has nearly used (one refused with the
balance); ``hr status`` and ``hr leave balance`` show it; exhausted, it is referred, and the
referral is answered with ``hr decide``. The scripted demo (``hr demo --leave``) runs to its
referral.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from schemas import leave as lv
from tests.leave_harness import add_earlier_leave, make_eligible

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from tests.dev_server import Stack

pytest_plugins = ["tests.dev_server"]

EMPLOYEE = "E1028"
SUPERVISOR = "E1024"


async def _wait_for(stack: Stack, wid: str, step_id: str) -> None:
    handle = stack.client.get_workflow_handle(wid)
    deadline = asyncio.get_running_loop().time() + 30
    while not any(
        s.step_id == step_id for s in (await handle.query("status", result_type=lv.LeaveStatus)).open_steps
    ):
        assert asyncio.get_running_loop().time() < deadline, f"{step_id} did not open"
        await asyncio.sleep(0.2)


async def test_an_intermittent_leave_from_the_cli_until_referred(stack: Stack, tmp_path):
    today = datetime.now(timezone.utc).date()
    make_eligible(stack.engine, EMPLOYEE, today)
    earlier = add_earlier_leave(stack.engine, EMPLOYEE, today - timedelta(days=100), days=47, hours_a_day=10)
    start, end = today.isoformat(), (today + timedelta(days=30)).isoformat()

    overlapping = (today - timedelta(days=60)).isoformat()
    refused = await stack.hr(
        "leave", "request", EMPLOYEE, "--as", "E1008", "--type", "family", "--from", overlapping,
        "--to", start, "--schedule", "intermittent", "--hours", "8",
    )  # fmt: skip
    assert refused.code == 1 and refused.err.strip().startswith(
        f"refused: the dates overlap the approved leave {earlier}"
    )

    started = await stack.hr(
        "leave", "request", EMPLOYEE, "--as", "E1008", "--type", "medical", "--from", start, "--to", end,
        "--schedule", "intermittent", "--hours", "10",
    )  # fmt: skip
    assert started.code == 0, started.err
    wid = lv.leave_workflow_id(EMPLOYEE, today)
    await _wait_for(stack, wid, lv.CERTIFICATION_STEP)

    diagnosis = tmp_path / "diagnosis.txt"
    diagnosis.write_text("chronic condition; see provider letter\n")
    certify = (
        "leave",
        "certify",
        EMPLOYEE,
        "--provider",
        "Valley Clinic",
        "--diagnosis-file",
        str(diagnosis),
    )
    wrong = await stack.hr(*certify, "--as", SUPERVISOR)
    assert wrong.code == 1 and wrong.err.strip() == (
        f"refused: {SUPERVISOR} is neither the employee {EMPLOYEE} nor HR staff: "
        "a certification comes from one of them"
    )
    certified = await stack.hr(*certify, "--as", EMPLOYEE)
    assert certified.code == 0, certified.err
    await _wait_for(stack, wid, lv.ACKNOWLEDGEMENT_STEP)
    acknowledged = await stack.hr("leave", "acknowledge", EMPLOYEE, "--as", SUPERVISOR)
    assert acknowledged.code == 0 and f"recorded acknowledged by {SUPERVISOR}" in acknowledged.out, (
        acknowledged.err
    )
    await _wait_for(stack, wid, lv.APPROVAL_STEP)
    approved = await stack.hr("leave", "decide", EMPLOYEE, "approve", "--as", "E1006")
    assert approved.code == 0, approved.err
    await stack.wait_for_stage(wid, lv.ON_LEAVE)

    taken = await stack.hr("leave", "absence", EMPLOYEE, "--as", EMPLOYEE, "--date", start, "--hours", "6")
    assert taken.code == 0 and "4 of 480 hours left" in taken.out, taken.err
    day = (today + timedelta(days=1)).isoformat()
    beyond = await stack.hr("leave", "absence", EMPLOYEE, "--as", SUPERVISOR, "--date", day, "--hours", "5")
    assert beyond.code == 1 and beyond.err.strip() == (
        f"refused: 5 hours on {day} exceed the remaining entitlement: "
        f"4 of 480 hours left in the twelve months to {day}"
    )
    shown = await stack.hr("status", wid)
    assert shown.code == 0 and "remaining hours: 4.0" in shown.out, shown.out + shown.err
    leave_shown = await stack.hr("leave", "status", EMPLOYEE)
    assert "entitlement: 4 of 480 hours left" in leave_shown.out and "chronic" not in leave_shown.out

    last = await stack.hr("leave", "absence", EMPLOYEE, "--as", EMPLOYEE, "--date", day, "--hours", "4")
    assert last.code == 0 and "exhausted" in last.out, last.err
    await _wait_for(stack, wid, lv.REFERRAL_STEP)
    balance = await stack.hr("leave", "balance", EMPLOYEE, "--on", day)
    assert balance.code == 0 and balance.out.startswith(f"{EMPLOYEE}: 0 of 480 hours left on {day}"), (
        balance.err
    )
    # No benefits representative in the directory: the HR supervisor takes the referral.
    taken_over = await stack.hr("decide", wid, lv.ACCEPTED, "--as", "E1005")
    assert taken_over.code == 0, taken_over.err
    result = await asyncio.wait_for(
        stack.client.get_workflow_handle(wid, result_type=lv.LeaveResult).result(), 30
    )
    assert result.outcome == lv.REFERRED


async def test_the_leave_demo_runs_to_its_referral(stack: Stack):
    from cli.leave_demo import run_leave_demo

    lines: list[str] = []
    result = await run_leave_demo(stack.client, stack.settings, stack.engine, echo=lines.append)
    assert result.outcome == lv.REFERRED
    printed = "\n".join(lines)
    assert "the generic decision: refused: answer certification with `hr leave certify`" in printed
    assert "exceed the remaining entitlement: 0 of 480 hours left" in printed
    assert "approval: E1006 approve; the designation notice goes out" in printed
    assert "chronic condition" not in printed and "Treatment twice" not in printed
