"""``hr onboarding`` and ``hr probation`` end to end: the CLI as subprocesses, on the dev server.

A direct appointment with a short probation: a start refused to someone without an HR role, then
started; a task refused to someone who does not own it, done by its owner, re-opened by HR; an
orientation scheduled; the status table; at the probation's end the supervisor's pass and HR's
concurrence: permanent status. The other tasks are answered in-process (the same Update).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from schemas import onboarding as ob
from schemas.human_step import DecisionInput, DecisionReceipt

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from tests.dev_server import Stack

pytest_plugins = ["tests.dev_server"]

EMPLOYEE = "E1029"


async def _answer(stack: Stack, task: str, actor: str, **kw: object) -> None:
    handle = stack.client.get_workflow_handle(f"onboarding-{EMPLOYEE}")
    status = await handle.query("status", result_type=ob.OnboardingStatus)
    view = next(v for v in status.tasks if v.task == task)
    await handle.execute_update(
        "decide",
        DecisionInput(actor_id=actor, decision=view.decision, step_id=view.step_id, **kw),  # type: ignore[arg-type]
        result_type=DecisionReceipt,
    )


async def test_a_direct_appointment_from_the_cli_to_permanent_status(stack: Stack):
    today = datetime.now(timezone.utc).date()
    starts_on = (today + timedelta(days=1)).isoformat()
    refused = await stack.hr("onboarding", "start", EMPLOYEE, "--as", "E1020", "--starts-on", starts_on)
    assert refused.code == 1 and refused.err.strip() == "E1020 has no HR role and may not start an onboarding"
    started = await stack.hr(
        "onboarding", "start", EMPLOYEE, "--as", "E1008", "--starts-on", starts_on, "--probation", "6s"
    )
    assert started.code == 0, started.err
    assert started.out.startswith(f"started onboarding-{EMPLOYEE}")

    wrong = await stack.hr("onboarding", "done", EMPLOYEE, "it-account", "--as", "E1022")
    assert (wrong.code, wrong.err.strip()) == (1, "refused: E1022 is not a respondent of step it-account")
    done = await stack.hr(
        "onboarding", "done", EMPLOYEE, "it-account", "--as", "E1013", "--detail", "Mailbox made"
    )
    assert done.code == 0 and "recorded done by E1013" in done.out, done.err
    reopened = await stack.hr(
        "onboarding", "reopen", EMPLOYEE, "it-account", "--as", "E1008", "--reason", "Wrong mailbox name"
    )
    assert reopened.code == 0 and "it-account re-opened as step it-account.2" in reopened.out, reopened.err
    scheduled = await stack.hr(
        "onboarding", "done", EMPLOYEE, "orientation", "--as", "E1008", "--date", today.isoformat()
    )
    assert scheduled.code == 0 and scheduled.out.strip().endswith(today.isoformat()), scheduled.err

    await _answer(stack, ob.IT_ACCOUNT, "E1014", comment="Mailbox renamed")
    await _answer(stack, ob.PAYROLL, "E1022")
    for task in (ob.IT_DESKTOP, ob.IT_VOICE_DATA, ob.IT_PHONE):
        await _answer(stack, task, "E1012")
    await _answer(stack, ob.BENEFITS, "E1005", details={"kind": "orientation_date", "on": today.isoformat()})
    await _answer(stack, ob.POLICIES, EMPLOYEE)
    await _answer(stack, ob.ORIENTATION_ATTENDANCE, "E1008")
    await _answer(stack, ob.BENEFITS_ATTENDANCE, "E1008")

    shown = await stack.hr("onboarding", "status", EMPLOYEE)
    assert shown.code == 0, shown.err
    account = next(line for line in shown.out.splitlines() if line.strip().startswith("it-account"))
    assert "it_service_desk: E1012, E1013, E1014" in account and "done by E1014" in account
    assert account.endswith("(re-opened 1x)")
    assert f"probation: probation-{EMPLOYEE}-" in shown.out

    status = await stack.client.get_workflow_handle(f"onboarding-{EMPLOYEE}").query(
        "status", result_type=ob.OnboardingStatus
    )
    assert status.probation is not None
    probation = stack.client.get_workflow_handle(status.probation.workflow_id)
    deadline = asyncio.get_running_loop().time() + 30
    while not (await probation.query("status", result_type=ob.ProbationStatus)).open_steps:
        assert asyncio.get_running_loop().time() < deadline, "the probation's timer did not fire"
        await asyncio.sleep(0.2)
    decided = await stack.hr("probation", "decide", EMPLOYEE, "pass", "--as", "E1001")
    assert decided.code == 0 and "recorded pass by E1001" in decided.out, decided.err
    concurred = await stack.hr("probation", "concur", EMPLOYEE, "concur", "--as", "E1008")
    assert concurred.code == 0 and "recorded concur by E1008" in concurred.out, concurred.err
    handle = stack.client.get_workflow_handle(f"onboarding-{EMPLOYEE}", result_type=ob.OnboardingResult)
    result = await asyncio.wait_for(handle.result(), 30)
    assert result.outcome == ob.PERMANENT and result.tasks_reopened == [ob.IT_ACCOUNT]
    final = await stack.hr("probation", "status", EMPLOYEE)
    assert f"outcome: permanent from {starts_on}" in final.out, final.out + final.err
