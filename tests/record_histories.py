"""Records workflow histories for the replay tests: ``python -m tests.record_histories [name ...]``.

A recorded history is the proof that a run started by the code of its day finishes under
today's: once committed it is never re-recorded or deleted. A change that would break it is
made with ``workflow.patched`` (or a new workflow type) instead. Record a new history (under a
new name) to cover a new path; ``tests/test_replay.py`` replays every file in
``tests/histories``.

The histories cover the paths that matter for replay: Updates and signals, defaults after the
due date, tabling, a moved due date, a delegate's answer, a withdrawal, continue-as-new, a
register asked by Updates, a decline and a second certification, and payloads encrypted by
the codec (``*_encrypted.json``, replayed with ``REPLAY_CODEC_KEY``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine, utcnow
from activities.seed import seed_city
from schemas import jd_review as jd
from schemas.human_step import DecisionInput, ExtendDueInput, WithdrawInput
from schemas.search_attributes import indexed_types
from schemas.tables import Delegation
from service.codec import data_converter
from service.settings import Settings
from tests.conftest import venv_binary
from tests.harness_common import poll_until
from tests.leave_harness import Leaves
from tests.onboarding_harness import Onboard
from tests.personnel_harness import Actions
from tests.recruitment_harness import Hiring
from tests.review_harness import Review, approve_all, revised
from tests.signing import signing_interceptors
from tests.smtp_server import SmtpSink
from worker import worker_and_mailer

HERE = Path(__file__).parent / "histories"
REPLAY_CODEC_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
"""A fixed, public test key (base64 of "0123456789abcdef0123456789abcdef"): the encrypted
histories are replayed with it. Never a real deployment's key."""


def encrypted_converter() -> DataConverter:
    return data_converter(Settings(codec_key=REPLAY_CODEC_KEY))


async def _review_histories(review: Review) -> dict[str, str]:
    histories: dict[str, str] = {}

    handle = await review.start()
    await review.drive(handle, approve_all)
    await handle.result()
    histories["jd_review_adopted"] = (await handle.fetch_history()).to_json()

    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    silent, objector = status.open_steps[0].pending[-1], status.open_steps[0].pending[0]
    await review.decide(handle, objector, "request_changes", comment="name the benefits representative")
    await review.env.sleep(timedelta(days=18))
    await review.wait_for_step(handle, "hr-1-review")
    await review.decide(
        handle, "E1008", "revise", details=revised("Human Resources Technician\n\nRevised.\n")
    )
    await review.wait_for_step(handle, "review-2")

    def second_round(step_id: str, person: str) -> DecisionInput | None:
        if step_id.startswith("board-1"):
            return DecisionInput(actor_id=person, decision="table", comment="next meeting")
        return None if person == silent and step_id == "review-2" else approve_all(step_id, person)

    for person in (await review.status(handle)).open_steps[0].pending:
        if person != silent:
            await review.decide(handle, person, "approve")
    await review.env.sleep(timedelta(days=18))
    await review.drive(handle, second_round)
    await handle.result()
    histories["jd_review_rounds_no_response_tabled"] = (await handle.fetch_history()).to_json()

    # A delegate answers for the supervisor, an incumbent answers by signal, HR moves the
    # union's due date, then withdraws the review.
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    supervisor, *incumbents = status.open_steps[0].pending
    with Session(review.engine) as s:
        s.add(
            Delegation(
                delegator_id="E1004",
                delegate_id="E1030",
                starts_on=date(2000, 1, 1),
                ends_on=date(2100, 1, 1),
                reason="director on leave",
                created_at=await review.env.get_current_time(),
            )
        )
        s.commit()
    await handle.signal(
        "decide", DecisionInput(actor_id=incumbents[0], decision="approve", step_id="review-1")
    )
    for person in [supervisor, *incumbents[1:]]:
        await review.decide(handle, person, "approve", step_id="review-1")
    await review.wait_for_step(handle, "union-1")
    union_due = next(s for s in (await review.status(handle)).open_steps if s.step_id == "union-1").due_at
    await handle.execute_update(
        "extend_due",
        ExtendDueInput(
            actor_id="E1008", step_id="union-1", new_due_at=union_due + timedelta(days=7), reason="vacation"
        ),
    )
    await review.decide(handle, "E1009", "agreeable", step_id="union-1")
    await review.wait_for_step(handle, "signatures-1")
    await review.decide(handle, "E1030", "approve", step_id="signatures-1")  # for the director
    await handle.execute_update("withdraw", WithdrawInput(actor_id="E1008", reason="reorganisation"))
    await handle.result()
    histories["jd_review_signal_delegate_extended_withdrawn"] = (await handle.fetch_history()).to_json()

    sweep = await review.client.start_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(
            cycle="rec", requested_by="E1008", as_of=date(2026, 11, 23), batch_size=2, per_run_limit=2
        ),
        id="jd-sweep-rec",
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )
    await sweep.result()
    first = review.client.get_workflow_handle(sweep.id, run_id=sweep.first_execution_run_id)
    histories["jd_sweep"] = (await first.fetch_history()).to_json()
    return histories


async def _coalesced_histories(review: Review) -> dict[str, str]:
    """Reviews under the patches ``one-upsert-per-task``, ``step-records-in-one`` and
    ``draft-by-reference`` (issue 13): an adoption, and a round with reminders, escalation,
    defaults, a revision, a moved due date and a withdrawal."""
    histories: dict[str, str] = {}
    handle = await review.start()
    await review.drive(handle, approve_all)
    await handle.result()
    histories["jd_review_coalesced_adopted"] = (await handle.fetch_history()).to_json()

    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    objector = status.open_steps[0].pending[0]
    await review.decide(handle, objector, "request_changes", comment="name the benefits representative")
    await review.env.sleep(timedelta(days=18))  # reminders, escalation, the incumbents' default
    await review.wait_for_step(handle, "hr-1-review")
    await review.decide(
        handle, "E1008", "revise", details=revised("Human Resources Technician\n\nRevised.\n")
    )
    status = await review.wait_for_step(handle, "review-2")
    review_2 = next(s for s in status.open_steps if s.step_id == "review-2")
    await handle.execute_update(
        "extend_due",
        ExtendDueInput(
            actor_id="E1008",
            step_id="review-2",
            new_due_at=review_2.due_at + timedelta(days=7),
            reason="leave",
        ),
    )
    await review.decide(handle, review_2.pending[0], "approve", step_id="review-2")
    await handle.execute_update("withdraw", WithdrawInput(actor_id="E1008", reason="reorganisation"))
    await handle.result()
    histories["jd_review_coalesced_revised_escalated_extended_withdrawn"] = (
        await handle.fetch_history()
    ).to_json()
    return histories


async def _revised_by_reference_histories(review: Review, suffix: str = "") -> dict[str, str]:
    """A review under ``revised-draft-by-reference`` (issue 13), started without a draft: HR's
    first draft by Update, a revision by signal after round 1's requested changes, another by
    Update after round 2's, then adoption. Each text is in the history once, in its answer."""

    async def everyone_asks_for_changes(step_id: str) -> None:
        status = await review.wait_for_step(handle, step_id)
        step = next(s for s in status.open_steps if s.step_id == step_id)
        for person in step.pending:
            await review.decide(handle, person, "request_changes", step_id=step_id, comment="name the rep")

    text = "Human Resources Technician\n\n{} draft, saved by reference.\n"
    handle = await review.start(draft=None)
    await review.wait_for_step(handle, "draft-1")
    await review.decide(handle, "E1008", "revise", step_id="draft-1", details=revised(text.format("First")))
    await everyone_asks_for_changes("review-1")
    await review.wait_for_step(handle, "hr-1-review")
    await handle.signal(
        "decide",
        DecisionInput(
            actor_id="E1008",
            decision="revise",
            step_id="hr-1-review",
            details=revised(text.format("Second")),
        ),
    )
    await everyone_asks_for_changes("review-2")
    await review.wait_for_step(handle, "hr-2-review")
    await review.decide(
        handle, "E1008", "revise", step_id="hr-2-review", details=revised(text.format("Third"))
    )
    status = await review.drive(handle, approve_all)
    assert status.outcome == jd.ADOPTED and status.round == 3, status
    await handle.result()
    name = f"jd_review_revised_by_reference_update_signal_update{suffix}"
    return {name: (await handle.fetch_history()).to_json()}


async def _encrypted_histories(review: Review) -> dict[str, str]:
    handle = await review.start()
    await review.drive(handle, approve_all)
    await handle.result()
    return {"jd_review_adopted_encrypted": (await handle.fetch_history()).to_json()}


async def _recruitment_histories(hiring: Hiring) -> dict[str, str]:
    from activities.seed_recruitment import demo_application, itat_announcement
    from schemas import recruitment as rc
    from tests.recruitment_harness import selection
    from tests.test_eligibility_register import _certify, _register

    histories: dict[str, str] = {}
    handle = await hiring.open(checks=["criminal", "mvr"])
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 4)] + [demo_application(4, clerical=1)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.score_step(handle, "oral-board", {"A001": 90, "A002": 80, "A003": 70})
    await hiring.select_offer_accept(handle, "A001")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A001", "criminal", rc.POTENTIALLY_DISQUALIFYING)
    await hiring.record_check(handle, "A001", "mvr")
    await hiring.wait_for_step(handle, "candidate-answer-1")
    await hiring.decide(handle, "E1006", "responded", comment="court record shows the charge dismissed")
    await hiring.wait_for_step(handle, "background-decision-1")
    await hiring.decide(handle, "E1005", "proceed", comment="dismissed charge; not job related")
    await handle.result()
    histories["recruitment_hired_after_background_answer"] = (await handle.fetch_history()).to_json()

    # The announcement revised, seven applicants (a supplemental review), scores by signal, a
    # late rater's candidates reassigned, a declined offer and a second certification.
    handle = await hiring.open(checks=[], positions=[])  # P-ITAT-02 was filled above
    await hiring.wait_for_step(handle, "announcement-1")
    await hiring.decide(
        handle, "E1005", "request_changes", comment="state the pay unit", step_id="announcement-1"
    )
    await hiring.wait_for_step(handle, "revision-1")
    revised_ad = itat_announcement((await hiring.status(handle)).closes_at, background_checks=[])
    revised_ad.position_ids = []
    await handle.execute_update(
        "revise_announcement", rc.ReviseAnnouncementInput(actor_id="E1008", announcement=revised_ad)
    )
    await hiring.wait_for_step(handle, "announcement-2")
    await hiring.decide(handle, "E1005", "approve", step_id="announcement-2")
    await hiring.wait_for_stage(handle, rc.ACCEPTING)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 8)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    status = await hiring.wait_for_step(handle, "supplemental")
    assigned = status.assignments["supplemental"]
    await handle.signal(
        "score",
        rc.ScoreInput(
            actor_id="E1011",
            step_id="supplemental",
            scores=[rc.CandidateScore(applicant_id=a, score=60 + int(a[1:])) for a in assigned["E1011"]],
        ),
    )
    await handle.execute_update(
        "reassign_scorer",
        rc.ReassignScorerInput(
            actor_id="E1005", step_id="supplemental", from_id="E1017", to_id="E1015", reason="ill"
        ),
        result_type=rc.ScoreReceipt,
    )
    await hiring.score(
        handle, "E1015", {a: 70 + int(a[1:]) for a in assigned["E1017"]}, step_id="supplemental"
    )
    status = await hiring.wait_for_step(handle, "oral-board")
    invited = status.assignments["oral-board"]["E1010"]
    await hiring.score_step(handle, "oral-board", {a: 95 - 3 * int(a[1:]) for a in invited})
    status = await hiring.wait_for_step(handle, "selection-1")
    first = status.certified[0]
    await hiring.decide(handle, "E1015", rc.SELECT, details=selection(first))
    await hiring.wait_for_step(handle, "offer-1")
    now = await hiring.env.get_current_time()
    await handle.execute_update(
        "make_offer",
        rc.OfferInput(actor_id="E1006", applicant_id=first, start_date=now.date() + timedelta(days=30)),
        result_type=rc.OfferInput,
    )
    await hiring.wait_for_step(handle, "offer-answer-1")
    await hiring.decide(handle, "E1006", rc.DECLINE, step_id="offer-answer-1")
    status = await hiring.wait_for_step(handle, "selection-2")
    second = status.certified[0]
    await hiring.decide(handle, "E1015", rc.SELECT, details=selection(second))
    await hiring.wait_for_step(handle, "offer-2")
    await handle.execute_update(
        "make_offer",
        rc.OfferInput(actor_id="E1006", applicant_id=second, start_date=now.date() + timedelta(days=30)),
        result_type=rc.OfferInput,
    )
    await hiring.wait_for_step(handle, "offer-answer-2")
    await hiring.decide(handle, "E1006", rc.ACCEPT, step_id="offer-answer-2")
    await handle.result()
    histories["recruitment_revised_signal_scores_reassigned_declined"] = (
        await handle.fetch_history()
    ).to_json()

    register = await _register(hiring, max_history_events=40)
    for n in range(1, 5):
        await _certify(register, f"r{n}")
    history = await hiring.client.get_workflow_handle(
        register.id, run_id=register.result_run_id
    ).fetch_history()
    histories["eligibility_register_first_run"] = history.to_json()
    await register.terminate("recorded")
    return histories


async def _personnel_histories(actions: Actions) -> dict[str, str]:
    """Personnel actions: approvals (one by signal), a moved date and its timer, execution, the
    work orders; a release without approvals; a promotion starting a probation; a refusal; a
    withdrawal."""
    from schemas import personnel_action as pa

    histories: dict[str, str] = {}
    handle = await actions.start("E1016", "resignation", requested_by="E1016", effective_in_days=14)
    await actions.wait_for_step(handle, "approve-director")
    await handle.signal(
        "decide", DecisionInput(actor_id="E1010", decision="approve", step_id="approve-director")
    )
    await actions.wait_for_step(handle, "approve-hr")
    await actions.decide(handle, "E1005", "approve", step_id="approve-hr")
    status = await actions.wait_for_stage(handle, pa.SCHEDULED)
    await handle.execute_update(
        pa.MOVE_EFFECTIVE_DATE,
        pa.MoveEffectiveDateInput(
            actor_id="E1006", effective_on=status.effective_on + timedelta(days=7), reason="notice extended"
        ),
        result_type=pa.PersonnelActionStatus,
    )
    await actions.env.sleep(timedelta(days=21))
    await actions.finish_work_orders(
        handle, {"work-order-it-deprovisioning": "E1012", "work-order-equipment-return": "E1013"}
    )
    await handle.result()
    histories["personnel_action_resignation_moved_executed"] = (await handle.fetch_history()).to_json()

    actions.set_status("E1025", "probation")
    handle = await actions.start("E1025", "release", effective_in_days=0, reason="probation not passed")
    await actions.finish_work_orders(
        handle, {"work-order-it-deprovisioning": "E1014", "work-order-equipment-return": "E1014"}
    )
    await handle.result()
    histories["personnel_action_release_executed"] = (await handle.fetch_history()).to_json()

    handle = await actions.start(
        "E1020", "promotion", effective_in_days=0, new_class_code="ITAT", new_position_id="P-ITAT-02"
    )
    await actions.approve_all(handle)
    result = await handle.result()
    histories["personnel_action_promotion_probation"] = (await handle.fetch_history()).to_json()
    if result.probation_workflow_id:
        await actions.client.get_workflow_handle(result.probation_workflow_id).terminate("recorded")

    transfer = await actions.start("E1013", "transfer", new_position_id="P-CI1659-04", action_id="t1")
    await actions.wait_for_step(transfer, "approve-director")
    refused = await actions.start("E1013", "pay_change", new_pay_step=3)
    await refused.result()
    histories["personnel_action_refused_conflict"] = (await refused.fetch_history()).to_json()
    await transfer.execute_update("withdraw", WithdrawInput(actor_id="E1006", reason="position frozen"))
    await transfer.result()
    histories["personnel_action_withdrawn"] = (await transfer.fetch_history()).to_json()
    return histories


async def _onboarding_histories(onboard: Onboard) -> dict[str, str]:
    """A recruitment's hire starting the onboarding; a direct appointment's tasks opened together
    (one answered by signal, one done late, one re-opened) and its probation, where permanent
    status waits for the CJIS clearance; a probation extended, a decision HR returns, a release."""
    from activities.seed_recruitment import demo_application
    from schemas import onboarding as ob
    from schemas.employment import onboarding_workflow_id
    from tests.onboarding_harness import extension, orientation_on

    histories: dict[str, str] = {}
    hiring = onboard.hiring
    recruitment = await hiring.open(checks=[])
    await hiring.approve_and_post(recruitment)
    await hiring.apply(recruitment, [demo_application(n) for n in range(1, 3)])
    await hiring.close_applications(recruitment)
    await hiring.confirm_screen(recruitment)
    await hiring.score_step(recruitment, "oral-board", {"A001": 90, "A002": 80})
    await hiring.select_offer_accept(recruitment, "A001")
    hired = await recruitment.result()
    histories["recruitment_hire_starts_onboarding"] = (await recruitment.fetch_history()).to_json()
    assert hired.employee_id is not None
    await onboard.client.get_workflow_handle(onboarding_workflow_id(hired.employee_id)).terminate("recorded")

    employee = onboard.add_employee("E2101", position_id="P-CI1659-04")  # licence and CJIS
    starts_on = await onboard.today() + timedelta(days=4)
    handle = await onboard.start(employee, starts_on, probation=timedelta(days=30))
    await onboard.wait_for_task(handle, ob.PAYROLL)
    await handle.signal("decide", DecisionInput(actor_id="E1022", decision=ob.APPOINTED, step_id=ob.PAYROLL))
    await onboard.env.sleep(timedelta(days=2))  # the IT account, due 3 days before the start, is late
    for task in (ob.IT_ACCOUNT, ob.IT_DESKTOP, ob.IT_VOICE_DATA, ob.IT_PHONE, ob.POLICIES, ob.DRIVER_LICENSE):
        await onboard.done(handle, task)
    await onboard.done(handle, ob.ORIENTATION, details=orientation_on(starts_on))
    await onboard.done(handle, ob.BENEFITS, details=orientation_on(starts_on))
    await handle.execute_update(
        ob.REOPEN_TASK,
        ob.ReopenTaskInput(actor_id="E1008", task=ob.IT_PHONE, reason="wrong extension"),
        result_type=ob.TaskView,
    )
    await onboard.done(handle, ob.IT_PHONE, actor="E1013", comment="ext. 4417")
    await onboard.env.sleep(timedelta(days=3))
    await onboard.done(handle, ob.ORIENTATION_ATTENDANCE)
    await onboard.done(handle, ob.BENEFITS_ATTENDANCE)
    status = await onboard.wait_for(handle, lambda s: s.probation is not None)
    assert status.probation is not None
    probation = onboard.client.get_workflow_handle(status.probation.workflow_id)
    serving = await onboard.wait_for_probation(probation, lambda s: s.ends_at is not None)
    assert serving.ends_at is not None
    await onboard.env.sleep(serving.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    await onboard.wait_for_step(probation, "decision-1")
    await onboard.decide(probation, "E1011", ob.PASS)
    await onboard.wait_for_step(probation, "concurrence-1")
    await onboard.decide(probation, "E1008", ob.CONCUR)
    await onboard.wait_for_step(probation, "cjis")
    await probation.execute_update(
        ob.RECORD_CJIS,
        ob.CjisInput(actor_id="E1006", cleared_on=await onboard.today()),
        result_type=ob.ProbationStatus,
    )
    await handle.result()
    histories["onboarding_direct_appointment_late_reopened_permanent"] = (
        await handle.fetch_history()
    ).to_json()
    histories["probation_cjis_escalated_awaited_permanent"] = (await probation.fetch_history()).to_json()

    employee = onboard.add_employee("E2102")
    probation = await onboard.start_probation(employee, await onboard.today())
    serving = await onboard.wait_for_probation(probation, lambda s: s.ends_at is not None)
    assert serving.ends_at is not None
    await onboard.env.sleep(serving.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    await onboard.wait_for_step(probation, "decision-1")
    await onboard.decide(probation, "E1011", ob.EXTEND, comment="more time", details=extension(30))
    await onboard.wait_for_step(probation, "concurrence-1")
    await onboard.decide(probation, "E1005", ob.CONCUR)
    await onboard.env.sleep(timedelta(days=31))
    await onboard.wait_for_step(probation, "decision-2")
    await onboard.decide(probation, "E1011", ob.PASS)
    await onboard.wait_for_step(probation, "concurrence-2")
    await onboard.decide(probation, "E1005", ob.RETURN, comment="the evaluation shows otherwise")
    await onboard.wait_for_step(probation, "decision-3")
    await onboard.decide(probation, "E1011", ob.RELEASE, comment="did not meet the standard")
    await onboard.wait_for_step(probation, "concurrence-3")
    await onboard.decide(probation, "E1005", ob.CONCUR)
    released = await probation.result()
    histories["probation_extended_returned_released"] = (await probation.fetch_history()).to_json()
    if released.action_workflow_id:
        await onboard.client.get_workflow_handle(released.action_workflow_id).terminate("recorded")
    return histories


async def _leave_histories(leaves: Leaves, suffix: str = "") -> dict[str, str]:
    """Leaves: an intermittent one used until exhausted (an earlier leave counted), then referred;
    a certification that never arrives; a workers' compensation claim decided by the third-party
    administrator, extended, then a return with a fitness-for-duty certificate. With the codec
    (``suffix`` ``_encrypted``) only the first, whose certification carries a diagnosis."""
    from schemas import leave as lv
    from tests.leave_harness import (
        BENEFITS_REP,
        EMPLOYEE,
        HR_APPROVER,
        HR_TECHNICIAN,
        extended_to,
        fitness_on,
        tpa_claim,
    )

    histories: dict[str, str] = {}
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    leaves.give_role(BENEFITS_REP, lv.BENEFITS_REP_ROLE)
    leaves.earlier_leave(EMPLOYEE, today - timedelta(days=80), days=55, hours_a_day=8)
    handle = await leaves.start(today, today + timedelta(days=60), hours=40, reason="migraines")
    await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    await leaves.certify(handle, EMPLOYEE, diagnosis="recurrent migraine", fitness_for_duty_required=False)
    await leaves.approve_through(handle, certify=False)
    await leaves.absence(handle, EMPLOYEE, today, 8, through=today + timedelta(days=3))
    status = await leaves.status(handle)
    await leaves.absence(handle, HR_TECHNICIAN, today + timedelta(days=7), status.remaining_hours)
    await leaves.wait_for_step(handle, lv.REFERRAL_STEP)
    await leaves.decide(handle, BENEFITS_REP, lv.ACCEPTED, comment="will call the employee")
    await handle.result()
    histories[f"leave_intermittent_exhausted_referred{suffix}"] = (await handle.fetch_history()).to_json()
    if suffix:
        return histories

    other = "E1028"
    leaves.eligible(other, today)
    handle = await leaves.start(
        today + timedelta(days=3), today + timedelta(days=30), employee_id=other, schedule="continuous"
    )
    await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    await handle.result()
    histories["leave_certification_never_arrives_denied"] = (await handle.fetch_history()).to_json()

    third = "E1020"
    today = await leaves.today()
    leaves.eligible(third, today)
    adjuster = leaves.add_tpa()
    ends = today + timedelta(days=13)
    handle = await leaves.start(
        today, ends, employee_id=third, leave_type="workers_comp", schedule="continuous"
    )
    await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    await leaves.certify(handle, third, diagnosis="fractured wrist at work")
    await leaves.wait_for_step(handle, lv.TPA_STEP)
    await leaves.decide(handle, adjuster, lv.ACCEPT, step_id=lv.TPA_STEP, details=tpa_claim("WC-2026-0042"))
    await leaves.wait_for_step(handle, lv.ACKNOWLEDGEMENT_STEP)
    await leaves.decide(handle, "E1019", lv.ACKNOWLEDGED, step_id=lv.ACKNOWLEDGEMENT_STEP)
    await leaves.wait_for_step(handle, lv.APPROVAL_STEP)
    await leaves.decide(handle, HR_APPROVER, lv.APPROVE, step_id=lv.APPROVAL_STEP)
    await leaves.wait_for(handle, lambda s: s.stage == lv.ON_LEAVE)
    await leaves.absence(handle, HR_TECHNICIAN, today, 8, through=ends)
    await leaves.env.sleep(timedelta(days=14))
    await leaves.wait_for_step(handle, "return-1")
    new_end = ends + timedelta(days=14)
    await leaves.decide(
        handle, HR_APPROVER, lv.EXTEND, step_id="return-1", comment="surgery", details=extended_to(new_end)
    )
    await leaves.wait_for(handle, lambda s: s.stage == lv.ON_LEAVE and s.ends_on == new_end)
    await leaves.env.sleep(timedelta(days=15))
    await leaves.wait_for_step(handle, "return-2")
    back = await leaves.today()
    await leaves.decide(handle, HR_APPROVER, lv.RETURNED, step_id="return-2", details=fitness_on(back))
    await handle.result()
    histories["leave_workers_comp_tpa_extended_returned"] = (await handle.fetch_history()).to_json()
    return histories


async def _signed_histories(review: Review) -> dict[str, str]:
    """Signed answers: an unsigned signal dropped, a signed signal and signed Updates taken (one
    by a delegate's credential for the participant), an unsigned Update refused (never in
    history), then the review to its adoption."""
    from service.signing import SigningInterceptor
    from tests.signing import token_for, unsigned

    probe = await review.start()
    supervisor = (await review.wait_for_step(probe, "review-1")).open_steps[0].pending[0]
    await probe.terminate("probe")
    with Session(review.engine) as s:
        s.add(
            Delegation(
                delegator_id=supervisor,
                delegate_id="E1030",
                starts_on=date.today() - timedelta(days=1),
                ends_on=date.today() + timedelta(days=60),
                reason="on leave",
                created_at=utcnow(),
            )
        )
        s.commit()
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    raw = unsigned(review.client).get_workflow_handle(handle.id)
    others = [p for p in status.open_steps[0].pending if p != supervisor]
    await raw.signal("decide", DecisionInput(actor_id=others[0], decision="approve"))  # dropped
    try:
        await raw.execute_update("decide", DecisionInput(actor_id=others[0], decision="approve"))
    except WorkflowUpdateFailedError:
        pass  # refused by the validator: not in history
    await handle.signal("decide", DecisionInput(actor_id=others[0], decision="approve"))  # signed
    await review.wait_for(handle, lambda s: others[0] not in s.open_steps[0].pending)
    config = review.client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: token_for("E1030"))]
    await (
        Client(**config)
        .get_workflow_handle(handle.id)
        .execute_update("decide", DecisionInput(actor_id=supervisor, decision="approve", step_id="review-1"))
    )
    await review.drive(handle, approve_all)
    await handle.result()
    return {"jd_review_signed_answers_unsigned_dropped": (await handle.fetch_history()).to_json()}


async def _benefits_histories(scenario: str, actions: Actions) -> dict[str, str]:
    """Benefits enrollment, one scenario per fresh server (``_BENEFITS_SCENARIOS``): a new hire
    who elects, one defaulted after reminders; a separation starting COBRA (the personnel
    action's new path) and its election; an onboarding starting the new-hire enrollment; open
    enrollment paused, resumed and waiting for the outcomes, and one continuing as new."""
    from schemas import benefits as bn
    from tests.benefits_harness import Benefits, elections

    benefits = Benefits(
        env=actions.env, engine=actions.engine, smtp=actions.smtp, task_queue=actions.task_queue
    )
    if scenario == "new_hire":
        employee = benefits.add_employee("E2201")
        handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today() + timedelta(days=3))
        await benefits.electing(handle)
        details = elections({"MED-PPO": "employee_children"}, [("child", date(2020, 5, 1))])
        await benefits.decide(handle, employee, bn.ELECT, details=details)
        await benefits.audit(handle)  # since "benefits-hr-audit" (the file was recorded before it)
        await handle.result()
        return {"benefits_new_hire_elected": (await handle.fetch_history()).to_json()}
    if scenario == "defaulted":
        employee = benefits.add_employee("E2202")
        handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
        await benefits.electing(handle)
        await benefits.env.sleep(timedelta(days=31))
        await handle.result()
        return {"benefits_new_hire_defaulted": (await handle.fetch_history()).to_json()}
    if scenario == "cobra":
        action = await actions.start("E1016", "resignation", requested_by="E1016", effective_in_days=0)
        await actions.approve_all(action)
        status = await actions.wait_for(action, lambda s: s.stage == "work_orders")
        cobra = actions.client.get_workflow_handle(
            bn.enrollment_workflow_id("E1016", bn.COBRA, status.effective_on), result_type=bn.EnrollmentResult
        )
        await benefits.electing(cobra)
        await benefits.decide(cobra, "E1016", bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
        await benefits.audit(cobra)  # since "benefits-hr-audit" (the file was recorded before it)
        await cobra.result()
        return {
            "benefits_cobra_elected": (await cobra.fetch_history()).to_json(),
            "personnel_action_separation_starts_cobra": (await action.fetch_history()).to_json(),
        }
    if scenario == "onboarding":
        onboard = Onboard(
            env=actions.env, engine=actions.engine, smtp=actions.smtp, task_queue=actions.task_queue
        )
        employee = onboard.add_employee("E2203", position_id="P-CI1659-04")
        starts_on = await onboard.today() + timedelta(days=4)
        handle = await onboard.start(employee, starts_on)
        await benefits.electing(
            actions.client.get_workflow_handle(bn.enrollment_workflow_id(employee, bn.NEW_HIRE, starts_on))
        )
        return {"onboarding_starts_new_hire_benefits": (await handle.fetch_history()).to_json()}
    closes_at = await benefits.now() + timedelta(days=10)
    if scenario == "outcomes":
        bulk = await benefits.client.start_workflow(
            bn.OPEN_ENROLLMENT_WORKFLOW,
            bn.OpenEnrollmentInput(year=2028, requested_by="E1008", closes_at=closes_at, window=3),
            id=bn.open_enrollment_workflow_id(2028),
            task_queue=benefits.task_queue,
            result_type=bn.OpenEnrollmentProgress,
        )
        await bulk.execute_update("pause", bn.PauseInput(actor_id="E1008"))
        await bulk.execute_update("resume", bn.PauseInput(actor_id="E1008"))
        elector = benefits.client.get_workflow_handle(
            "benefits-E1006-open-2028", result_type=bn.EnrollmentResult
        )
        await benefits.electing(elector)
        await benefits.decide(elector, "E1006", bn.CARRY_OVER)
        await bulk.result()
        carried = benefits.client.get_workflow_handle("benefits-E1007-open-2028")
        return {
            "open_enrollment_paused_resumed_outcomes": (await bulk.fetch_history()).to_json(),
            "benefits_open_enrollment_carried_over": (await carried.fetch_history()).to_json(),
        }
    bulk = await benefits.client.start_workflow(
        bn.OPEN_ENROLLMENT_WORKFLOW,
        bn.OpenEnrollmentInput(
            year=2027,
            requested_by="E1008",
            closes_at=closes_at,
            window=4,
            per_run_limit=12,
            wait_for_outcomes=False,
        ),
        id=bn.open_enrollment_workflow_id(2027),
        task_queue=benefits.task_queue,
        result_type=bn.OpenEnrollmentProgress,
    )
    await bulk.result()
    first = benefits.client.get_workflow_handle(bulk.id, run_id=bulk.first_execution_run_id)
    return {"open_enrollment_continued_as_new": (await first.fetch_history()).to_json()}


_BENEFITS_SCENARIOS = ("new_hire", "defaulted", "cobra", "onboarding", "outcomes", "continued")


async def _death_and_audit_histories(scenario: str, actions: Actions) -> dict[str, str]:
    """HR's audit of an election (``benefits-hr-audit``): returned with a reason, elected again
    and approved; a death claim whose life claim is filed and whose beneficiaries are told; one
    without life coverage, closed at once; a separation by death starting the death claim
    (``death-starts-death-claim``), recorded once the claim waits for its filing."""
    from schemas import benefits as bn
    from schemas import death_claim as dc
    from tests.benefits_harness import HR_TECHNICIAN, Benefits, elections

    benefits = Benefits(
        env=actions.env, engine=actions.engine, smtp=actions.smtp, task_queue=actions.task_queue
    )
    if scenario == "audit":
        employee = benefits.add_employee("E2301")
        handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
        await benefits.electing(handle)
        await benefits.decide(handle, employee, bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
        await benefits.audit(handle, bn.AUDIT_RETURN, comment="dental was asked for on the paper form")
        await benefits.electing(handle)
        both = elections({"MED-PPO": "employee_only", "DEN-DELTA": "employee_only"})
        await benefits.decide(handle, employee, bn.ELECT, details=both)
        await benefits.audit(handle)
        await handle.result()
        return {"benefits_audit_returned_approved": (await handle.fetch_history()).to_json()}
    if scenario == "death_separation":
        action = await actions.start("E1017", "death", requested_by="E1008", effective_in_days=0)
        await actions.approve_all(action)
        await actions.wait_for(action, lambda s: s.stage == "work_orders")
        claim = benefits.client.get_workflow_handle(dc.death_claim_workflow_id("E1017"))
        await poll_until(
            lambda: claim.query("status", result_type=dc.DeathClaimStatus), lambda s: bool(s.open_steps), 30
        )
        return {"personnel_action_death_starts_death_claim": (await action.fetch_history()).to_json()}
    employee = benefits.add_employee("E2302")
    if scenario == "death_filed":
        enrollment = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
        await benefits.electing(enrollment)
        details = elections({"LIFE-BASIC": "employee_only"}) | {
            "beneficiaries": [
                {"name": "Ana Okafor", "relation": "spouse", "percent": 100, "email": "ana@mail.example"}
            ]
        }
        await benefits.decide(enrollment, employee, bn.ELECT, details=details)
        await benefits.audit(enrollment)
        await enrollment.result()
    today = await benefits.today()
    handle = await benefits.client.start_workflow(
        dc.DEATH_CLAIM_WORKFLOW,
        dc.DeathClaimInput(employee_id=employee, died_on=today, requested_by=HR_TECHNICIAN),
        id=dc.death_claim_workflow_id(employee),
        task_queue=benefits.task_queue,
        result_type=dc.DeathClaimResult,
    )
    if scenario == "death_filed":
        await poll_until(
            lambda: handle.query("status", result_type=dc.DeathClaimStatus), lambda s: bool(s.open_steps), 30
        )
        await benefits.decide(
            handle,
            HR_TECHNICIAN,
            dc.FILED,
            details={"kind": "life_claim_filed", "claim_number": "LC-1", "filed_on": today.isoformat()},
        )
        await handle.result()
        return {"death_claim_filed_beneficiary_told": (await handle.fetch_history()).to_json()}
    await handle.result()
    return {"death_claim_no_life_coverage": (await handle.fetch_history()).to_json()}


_DEATH_SCENARIOS = ("audit", "death_filed", "death_no_life", "death_separation")


@asynccontextmanager
async def _recording(
    converter: DataConverter,
) -> AsyncIterator[tuple[WorkflowEnvironment, Engine, str, SmtpSink]]:
    """A time-skipping server, a seeded SQLite store, SMTP and a worker (and its mailer) on a fresh queue."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=converter,
        interceptors=signing_interceptors(),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=indexed_types())
    )
    smtp = SmtpSink().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/hr.db"
            engine = make_engine(url)
            seed_city(engine)
            settings = Settings(database_url=url, smtp_host=smtp.host, smtp_port=smtp.port)
            queue = f"record-{uuid.uuid4().hex[:6]}"
            async with worker_and_mailer(env.client, settings, engine, task_queue=queue):
                yield env, engine, queue, smtp
    finally:
        smtp.stop()
        await env.shutdown()


async def _signed_start_histories(review: Review) -> dict[str, str]:
    """A signed start (``signed-starts``): the start's credential checked by ``verify_start``
    before the first step, then the review to its adoption."""
    handle = await review.start()
    await review.drive(handle, approve_all)
    await handle.result()
    return {"jd_review_signed_start_adopted": (await handle.fetch_history()).to_json()}


async def main() -> None:
    """Records the named sets (``review``, ``encrypted``, ``recruitment``, ``personnel``,
    ``coalesced``, ``revised``, ...), or all."""
    wanted = set(sys.argv[1:]) or {
        "review",
        "encrypted",
        "recruitment",
        "personnel",
        "onboarding",
        "leave",
        "signed",
        "starts",
        "benefits",
        "coalesced",
        "revised",
        "death",
    }
    os.environ.setdefault("HR_AUTH_KEY_DIR", tempfile.mkdtemp())  # the recording's own key pair
    histories: dict[str, str] = {}
    if "review" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _review_histories(Review(env=env, engine=engine, smtp=smtp, task_queue=queue))
    if "encrypted" in wanted:
        async with _recording(encrypted_converter()) as (env, engine, queue, smtp):
            histories |= await _encrypted_histories(
                Review(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    if "recruitment" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _recruitment_histories(
                Hiring(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    if "personnel" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _personnel_histories(
                Actions(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    if "onboarding" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _onboarding_histories(
                Onboard(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    if "leave" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _leave_histories(Leaves(env=env, engine=engine, smtp=smtp, task_queue=queue))
        async with _recording(encrypted_converter()) as (env, engine, queue, smtp):
            histories |= await _leave_histories(
                Leaves(env=env, engine=engine, smtp=smtp, task_queue=queue), "_encrypted"
            )
    if "coalesced" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _coalesced_histories(
                Review(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    if "revised" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _revised_by_reference_histories(
                Review(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
        async with _recording(encrypted_converter()) as (env, engine, queue, smtp):
            histories |= await _revised_by_reference_histories(
                Review(env=env, engine=engine, smtp=smtp, task_queue=queue), "_encrypted"
            )
    if "signed" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _signed_histories(Review(env=env, engine=engine, smtp=smtp, task_queue=queue))
    if "starts" in wanted:
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _signed_start_histories(
                Review(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
    for scenario in _BENEFITS_SCENARIOS if "benefits" in wanted else ():
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _benefits_histories(
                scenario, Actions(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
        print(f"benefits: {scenario} recorded", file=sys.stderr)
    for scenario in _DEATH_SCENARIOS if "death" in wanted else ():
        async with _recording(pydantic_data_converter) as (env, engine, queue, smtp):
            histories |= await _death_and_audit_histories(
                scenario, Actions(env=env, engine=engine, smtp=smtp, task_queue=queue)
            )
        print(f"death and audit: {scenario} recorded", file=sys.stderr)
    HERE.mkdir(exist_ok=True)
    for name, text in histories.items():
        path = HERE / f"{name}.json"
        if path.exists():
            print(f"kept {path}: a recorded history is never re-recorded; record under a new name")
            continue
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    asyncio.run(main())
