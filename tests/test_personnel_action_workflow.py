"""Personnel actions on the time-skipping server, with real activities, store and SMTP (issue 9):
a resignation waiting for its date, the date moved, then every step once; a promotion starting a
new probation; a release (as the probation starts it) with no approvals; refusals, a cancel and a
rejection that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from schemas import personnel_action as pa
from schemas.employment import ProbationInput, probation_workflow_id
from schemas.human_step import WithdrawInput
from schemas.search_attributes import HR_ACTION_TYPE, HR_DUE_AT, HR_EMPLOYEE_ID, HR_STAGE
from schemas.tables import (
    EmploymentEvent,
    PayrollChange,
    PersonnelAction,
    Position,
    SeparationEvent,
    WorkOrder,
)
from tests.harness_common import delivered
from tests.personnel_harness import Actions
from workflows.rules.personnel import effective_at


async def refusal(handle, update: str, arg) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, arg)
    return str(caught.value.cause)


async def test_a_resignation_waits_for_its_date_the_date_moves_then_every_step_runs_once(actions: Actions):
    handle = await actions.start("E1016", "resignation", requested_by="E1016", effective_in_days=14)
    status = await actions.approve_all(handle)
    assert [(s.role, s.approvers) for s in status.chain] == [("director", ["E1010"]), ("hr", ["E1005"])]
    assert status.stage == pa.SCHEDULED
    first_date = status.effective_on
    attrs = (await handle.describe()).typed_search_attributes
    assert (attrs.get(HR_ACTION_TYPE), attrs.get(HR_EMPLOYEE_ID), attrs.get(HR_STAGE)) == (
        "personnel_action",
        "E1016",
        pa.SCHEDULED,
    )
    assert attrs.get(HR_DUE_AT) == effective_at(first_date)

    new_date = first_date + timedelta(days=7)
    move = pa.MoveEffectiveDateInput(actor_id="E1006", effective_on=new_date, reason="notice period extended")
    not_hr = move.model_copy(update={"actor_id": "E1016"})
    assert "E1016 may not move the effective date" in await refusal(handle, pa.MOVE_EFFECTIVE_DATE, not_hr)
    too_early = move.model_copy(update={"effective_on": first_date - timedelta(days=60)})
    assert "more than 30 days in the past" in await refusal(handle, pa.MOVE_EFFECTIVE_DATE, too_early)
    moved = await handle.execute_update(pa.MOVE_EFFECTIVE_DATE, move, result_type=pa.PersonnelActionStatus)
    assert (moved.effective_on, moved.moves[0].from_on) == (new_date, first_date)
    assert (await handle.describe()).typed_search_attributes.get(HR_DUE_AT) == effective_at(new_date)

    # The old date passes: nothing happens. The new one: the action executes, once.
    await actions.env.sleep(timedelta(days=15))
    assert (await actions.status(handle)).stage == pa.SCHEDULED
    assert actions.rows(EmploymentEvent, employee_id="E1016") == []
    await actions.env.sleep(timedelta(days=6))  # past the start of the new date (UTC), within its day
    status = await actions.wait_for_stage(handle, pa.WORK_ORDERS)
    assert "has already ended" in await refusal(
        handle, "withdraw", WithdrawInput(actor_id="E1006", reason="x")
    )
    await actions.finish_work_orders(
        handle,
        {"work-order-it-deprovisioning": "E1012", "work-order-equipment-return": "E1013"},
        {"work-order-it-deprovisioning": "accounts disabled"},
    )
    result = await handle.result()
    assert (result.outcome, result.effective_on) == (pa.EXECUTED, new_date)

    person = actions.person("E1016")
    assert (person.active, person.employment_status) == (False, "separated")
    (event,) = actions.rows(EmploymentEvent, employee_id="E1016")
    assert (event.kind, event.effective_on, event.position_id) == ("resignation", new_date, "P-ITAT-01")
    assert [(p.kind, p.effective_on) for p in actions.rows(PayrollChange, employee_id="E1016")] == [
        ("final_pay", new_date)
    ]
    assert [(s.kind, s.effective_on) for s in actions.rows(SeparationEvent, employee_id="E1016")] == [
        ("resignation", new_date)
    ]
    orders = {w.kind: (w.status, w.done_by, w.note) for w in actions.rows(WorkOrder, employee_id="E1016")}
    assert orders == {
        "it_deprovisioning": ("done", "E1012", "accounts disabled"),
        "equipment_return": ("done", "E1013", None),
    }
    (position,) = actions.rows(Position, id="P-ITAT-01")
    assert position.incumbent_id is None
    (row,) = actions.rows(PersonnelAction, employee_id="E1016")
    assert (row.status, row.effective_on, len(row.details["moves"])) == (pa.EXECUTED, new_date, 1)
    assert [a for _, _, a in actions.audit(handle.id) if a not in ("opened",)] == [
        "requested",
        "approve",
        "approve",
        "effective_date_moved",
        "executed",
        "done",
        "done",
    ]

    mail = await delivered(actions.engine, actions.smtp, handle.id)
    subjects = {(m["To"], str(m["Subject"])) for m in mail}
    executed = f"Personnel action executed: resignation of E1016, effective {new_date}"
    assert ("chris.yamamoto@city.example", executed) in subjects  # payroll
    assert ("ethan.park@city.example", executed) in subjects  # the employee
    assert (
        "ethan.park@city.example",
        f"Effective date moved: resignation of E1016, now {new_date}",
    ) in subjects


async def test_a_promotion_into_another_classification_starts_a_new_probation(actions: Actions):
    handle = await actions.start(
        "E1016",
        "promotion",
        effective_in_days=0,
        new_class_code="CI1659",
        new_position_id="P-CI1659-04",
        new_pay_step=3,
    )
    status = await actions.approve_all(handle)
    assert [s.role for s in status.chain] == ["director", "hr", "finance"]
    result = await handle.result()
    today = result.effective_on  # the day it was requested for: the clock may skip on since
    probation_id = probation_workflow_id("E1016", today)
    assert (result.outcome, result.probation_workflow_id) == (pa.EXECUTED, probation_id)

    person = actions.person("E1016")
    assert (person.title, person.employment_status, person.active) == ("IT Technician II", "probation", True)
    assert person.supervisor_id == "E1011"
    (old,) = actions.rows(Position, id="P-ITAT-01")
    (new,) = actions.rows(Position, id="P-CI1659-04")
    assert (old.incumbent_id, new.incumbent_id) == (None, "E1016")
    events = actions.rows(EmploymentEvent, workflow_id=handle.id)  # the probation writes its own
    assert [(e.kind, e.class_code, e.position_id, e.pay_step) for e in events] == [
        ("promotion", "CI1659", "P-CI1659-04", 3)
    ]
    assert [(p.kind, p.pay_step) for p in actions.rows(PayrollChange, workflow_id=handle.id)] == [
        ("promotion", 3)
    ]
    assert actions.rows(WorkOrder) == [] and actions.rows(SeparationEvent) == []

    # The probation was started by its type name, with the promotion's input, and not awaited.
    probation = actions.client.get_workflow_handle(probation_id)
    started = (await probation.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "Probation"
    (inp,) = await pydantic_data_converter.decode(started.input.payloads, [ProbationInput])
    assert inp == ProbationInput(
        employee_id="E1016", starts_on=today, requested_by="E1006", reason="promotion"
    )
    assert ("execute", "system", "probation_started") in actions.audit(handle.id)
    await probation.terminate("test over")


async def test_a_release_from_probation_has_no_approvals_and_runs_the_separation(actions: Actions):
    actions.set_status("E1025", "probation")
    # As the probation starts it: kind release, requested by HR, effective today, a reason.
    handle = await actions.start(
        "E1025", "release", effective_in_days=0, reason="did not meet the standards of the probation"
    )
    status = await actions.wait_for_stage(handle, pa.WORK_ORDERS)
    assert status.chain == [] and not any(s.step_id.startswith("approve") for s in status.closed_steps)
    await actions.finish_work_orders(
        handle, {"work-order-it-deprovisioning": "E1014", "work-order-equipment-return": "E1014"}
    )
    result = await handle.result()
    assert result.outcome == pa.EXECUTED
    person = actions.person("E1025")
    assert (person.active, person.employment_status) == (False, "separated")
    assert [s.kind for s in actions.rows(SeparationEvent)] == ["release"]
    assert [p.kind for p in actions.rows(PayrollChange)] == ["final_pay"]
    assert sorted(w.kind for w in actions.rows(WorkOrder) if w.status == "done") == [
        "equipment_return",
        "it_deprovisioning",
    ]


async def test_conflicting_and_bad_requests_are_refused_and_cancelled_or_rejected_ones_change_nothing(
    actions: Actions,
):
    transfer = await actions.start("E1016", "transfer", action_id="transfer-1", new_position_id="P-ITAT-02")
    await actions.wait_for_step(transfer, "approve-director")

    async def refused(employee: str, kind: str, **kw) -> str:
        handle = await actions.start(employee, kind, **kw)
        result = await handle.result()
        assert result.outcome == pa.REFUSED and result.reason is not None
        assert (await actions.status(handle)).stage == pa.REFUSED
        assert actions.audit(handle.id) == []
        return result.reason

    transfer_on = (await actions.status(transfer)).effective_on
    assert await refused("E1016", "pay_change", new_pay_step=4) == (
        f"E1016 already has transfer transfer-1 in flight (effective {transfer_on}); a pay change cannot "
        "run alongside it: cancel that one first or wait until it has executed"
    )
    assert await refused("E9999", "termination") == "unknown employee E9999"
    assert (await refused("E1028", "termination", effective_in_days=-31)).startswith(
        "the effective date"
    ) and "more than 30 days in the past" in await refused("E1028", "retirement", effective_in_days=-45)
    actions.set_status("E1030", "separated")
    assert await refused("E1030", "resignation", requested_by="E1030") == "E1030 has separated"
    assert [r.id for r in actions.rows(PersonnelAction)] == ["E1016-transfer-1"]

    # HR cancels the transfer before it executes: nothing changes but its status.
    withdraw = WithdrawInput(actor_id="E1006", reason="position frozen")
    for _ in range(3):
        try:
            await transfer.execute_update("withdraw", withdraw, id="withdraw-transfer-1")
            break
        except RPCError as err:
            # Under load the time-skipping server can close the run before the client reads the
            # Update's result and then no longer finds it; the run's result below says what
            # happened. If the run is still open, the Update was lost with a workflow task that
            # timed out under load: it is sent again, with the same id.
            if not (err.status == RPCStatusCode.NOT_FOUND and str(err).startswith("update ")):
                raise
            if (await transfer.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
    result = await transfer.result()
    assert (result.outcome, result.reason) == (pa.WITHDRAWN, "withdrawn by E1006: position frozen")
    # Now a pay change may be requested; finance rejects it: it ends, nothing executed.
    pay = await actions.start("E1016", "pay_change", new_pay_step=4)
    await actions.wait_for_step(pay, "approve-director")
    await actions.decide(pay, "E1010", "approve")
    await actions.wait_for_step(pay, "approve-hr")
    await actions.decide(pay, "E1005", "approve")
    await actions.wait_for_step(pay, "approve-finance")
    assert "E1018 may not" not in str(await actions.decide(pay, "E1018", "reject", comment="no budget"))
    result = await pay.result()
    assert (result.outcome, result.reason) == (pa.REJECTED, "rejected at approve-finance by E1018: no budget")
    assert {r.id: r.status for r in actions.rows(PersonnelAction)} == {
        "E1016-transfer-1": pa.WITHDRAWN,
        f"E1016-{result.action_id}": pa.REJECTED,
    }
    assert actions.rows(EmploymentEvent) == [] and actions.rows(PayrollChange) == []
    (position,) = actions.rows(Position, id="P-ITAT-02")
    assert position.incumbent_id is None
