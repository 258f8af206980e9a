"""The eligibility register on its own: certification, removals, expiry and continue-as-new."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from schemas import eligibility_register as er
from schemas.recruitment import SelectionPlan
from tests.recruitment_harness import Hiring

HR = "E1006"


async def _register(
    hiring: Hiring, *, entries: int = 8, vacancies: int = 3, starter_says_hr: list[str] | None = None, **kw
) -> WorkflowHandle:
    now = await hiring.env.get_current_time()
    rid = f"T{uuid.uuid4().hex[:8]}"
    inp = er.RegisterInput(
        requested_by=HR,  # HR staff opening a register directly (a recruitment's is its child)
        recruitment_id=rid,
        class_code="ITAT",
        department_code="IT",
        vacancies=vacancies,
        established_at=now,
        expires_at=now + timedelta(days=360),
        plan=SelectionPlan(names_per_vacancy=2),
        entries=[
            er.RegisterEntry(applicant_id=f"A{n:03d}", final=95.0 - n, oral=90.0, applied_at=now, rank=n)
            for n in range(1, entries + 1)
        ],
        hr_staff=starter_says_hr or [HR, "E1005"],
        **kw,
    )
    return await hiring.client.start_workflow(
        "EligibilityRegister",
        inp,
        id=f"register-{rid}",
        task_queue=hiring.task_queue,
        result_type=er.RegisterResult,
    )


async def _certify(handle: WorkflowHandle, request_id: str, vacancies: int = 1) -> list[str]:
    cert = await handle.execute_update(
        "certify",
        er.CertifyInput(actor_id=HR, request_id=request_id, vacancies=vacancies),
        result_type=er.Certification,
    )
    return cert.applicant_ids


async def _status(handle: WorkflowHandle) -> er.RegisterStatus:
    return await handle.query("status", result_type=er.RegisterStatus)


async def test_register_continues_as_new_and_still_certifies_correctly(hiring: Hiring):
    handle = await _register(hiring, max_history_events=40)
    first_run = (await handle.describe()).run_id
    assert await _certify(handle, "r1") == ["A001", "A002"]
    await handle.execute_update(
        "remove", er.RemoveInput(actor_id=HR, applicant_id="A001", reason="withdrawn")
    )
    await handle.execute_update(
        "fill", er.FillInput(actor_id=HR, applicant_id="A002", position_id="P-ITAT-02")
    )
    for n in range(2, 6):  # enough certifications to pass 40 events more than once
        assert await _certify(handle, f"r{n}") == ["A003", "A004"]

    status = await _status(handle)
    assert status.generation >= 2
    assert (await handle.describe()).run_id != first_run
    # what was carried across: removals, the fill, earlier certifications (a repeated request
    # returns the same names), and the ranks
    assert [(e.applicant_id, e.status) for e in status.entries[:3]] == [
        ("A001", "removed"),
        ("A002", "hired"),
        ("A003", "active"),
    ]
    assert status.filled == ["P-ITAT-02"]
    assert await _certify(handle, "r1") == ["A001", "A002"]
    assert await _certify(handle, "r9", vacancies=2) == ["A003", "A004", "A005", "A006"]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await _certify(handle, "r10", vacancies=3)
    assert "2 open vacancy(ies), not 3" in str(err.value.cause)

    await handle.execute_update("fill", er.FillInput(actor_id=HR, applicant_id="A003", position_id="P2"))
    await handle.execute_update("fill", er.FillInput(actor_id=HR, applicant_id="A004", position_id="P3"))
    result = await handle.result()
    assert result.outcome == "filled" and result.filled == ["P-ITAT-02", "P2", "P3"]


async def test_register_refuses_bad_removals_and_expires_at_its_date(hiring: Hiring):
    handle = await _register(hiring, entries=3, vacancies=1)
    for inp, reason in [
        (er.RemoveInput(actor_id=HR, applicant_id="A009", reason="withdrawn"), "A009 is not on the register"),
        (er.RemoveInput(actor_id=HR, applicant_id="A001", reason="bored"), "reason must be one of"),
        (er.RemoveInput(actor_id="E1016", applicant_id="A001", reason="withdrawn"), "E1016 may not change"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update("remove", inp)
        assert reason in str(err.value.cause)
    assert {e.status for e in (await _status(handle)).entries} == {"active"}

    result = await handle.result()  # the test server skips to the expiry date
    assert result.outcome == "expired" and result.filled == []


async def test_the_register_ranks_the_candidates_it_is_given_and_says_so_when_asked(hiring: Hiring):
    now = await hiring.env.get_current_time()
    rid = f"T{uuid.uuid4().hex[:8]}"
    scored = [  # final, oral: A002 and A003 tie on the final score; A003 has the higher oral score
        ("A001", 59.99, 90.0),
        ("A002", 75.0, 70.0),
        ("A003", 75.0, 80.0),
        ("A004", 88.0, 85.0),
    ]
    handle = await hiring.client.start_workflow(
        "EligibilityRegister",
        er.RegisterInput(
            requested_by=HR,
            recruitment_id=rid,
            class_code="ITAT",
            department_code="IT",
            vacancies=1,
            established_at=now,
            expires_at=now + timedelta(days=360),
            plan=SelectionPlan(),
            candidates=[
                er.ScoredCandidate(applicant_id=a, final=f, oral=o, applied_at=now) for a, f, o in scored
            ],
            hr_staff=[HR],
        ),
        id=f"register-{rid}",
        task_queue=hiring.task_queue,
        result_type=er.RegisterResult,
    )
    standing = await handle.execute_update("standing", result_type=list[er.RegisterEntry])
    assert [(e.applicant_id, e.rank) for e in standing] == [("A004", 1), ("A003", 2), ("A002", 3)]
    assert (await _status(handle)).entries == standing
    await handle.terminate("test over")


async def test_hr_staff_come_from_the_directory_not_from_who_started_the_register(hiring: Hiring):
    """A register started naming an outsider as its HR staff does not take their commands; the
    directory's HR staff (E1006) may, signed as themselves."""
    from tests.signing import token_for
    from tests.test_signed_answers import with_token

    handle = await _register(hiring, starter_says_hr=["E1020"])
    outsider = with_token(hiring.client, token_for("E1020")).get_workflow_handle(handle.id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await outsider.execute_update(
            "certify", er.CertifyInput(actor_id="E1020", request_id="r1"), result_type=er.Certification
        )
    assert "E1020 may not certify from this register" in str(err.value.cause)
    assert await _certify(handle, "r2") == ["A001", "A002"]


async def test_the_worker_signs_the_register_updates_it_sends_for_a_recruitment(hiring: Hiring):
    """``register_certify`` runs on a worker whose client signs nothing: the worker signs the
    Update with its own key for the actor the recruitment checked."""
    from service.settings import Settings
    from tests.signing import unsigned
    from worker import build_activities

    handle = await _register(hiring)
    activities = build_activities(Settings(), hiring.engine, unsigned(hiring.client))
    certify = next(a for a in activities if getattr(a, "__name__", "") == "certify")
    cert = await certify(
        er.RegisterCall(register_workflow_id=handle.id, certify=er.CertifyInput(actor_id=HR, request_id="w1"))
    )
    assert cert.applicant_ids == ["A001", "A002"]
