"""The personnel action's records (``activities/personnel.py``) on SQLite and PostgreSQL: every
refusal with its reason and nothing written, two racing requests for one employee, retries."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.personnel import PersonnelActivities
from activities.seed import seed_city
from schemas import personnel_action as pa
from schemas.employment import PersonnelActionInput
from schemas.tables import (
    EmploymentEvent,
    PayrollChange,
    Person,
    PersonnelAction,
    Position,
    SeparationEvent,
    WorkOrder,
)

TODAY = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
def city(engine: Engine) -> PersonnelActivities:
    seed_city(engine)
    return PersonnelActivities(engine)


def action(kind: str, employee: str = "E1016", days: int = 14, **kw: Any) -> PersonnelActionInput:
    fields: dict[str, Any] = {
        "action_id": f"{kind.replace('_', '-')}-{uuid.uuid4().hex[:6]}",
        "employee_id": employee,
        "kind": kind,
        "requested_by": "E1006",
        "effective_on": TODAY + timedelta(days=days),
        "reason": "test",
    } | kw
    return PersonnelActionInput(**fields)


def open_(acts: PersonnelActivities, inp: PersonnelActionInput, run: str = "run-1") -> pa.OpenActionResult:
    return acts.open_personnel_action(
        pa.OpenActionInput(
            workflow_id=f"personnel-action-{inp.employee_id}-{inp.action_id}",
            run_id=run,
            action=inp,
            today=TODAY,
            at=AT,
        )
    )


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return len(s.exec(select(model)).all())


def set_person(engine: Engine, person_id: str, **values: Any) -> None:
    with Session(engine) as s:
        person = s.get(Person, person_id)
        assert person is not None
        for name, value in values.items():
            setattr(person, name, value)
        s.add(person)
        s.commit()


REFUSALS: list[tuple[PersonnelActionInput, dict[str, Any], str]] = [
    (action("resignation", "E9999"), {}, "unknown employee E9999"),
    (action("resignation", "E1025"), {"employment_status": "separated"}, "E1025 has separated"),
    (action("termination", "E1025"), {"active": False}, "E1025 is not an active employee"),
    (
        action("resignation", days=-31),
        {},
        "the effective date 2026-10-31 is more than 30 days in the past (the earliest allowed is 2026-11-01)",
    ),
    (action("retirement", days=366), {}, "the effective date 2027-12-02 is more than 365 days ahead"),
    (
        action("resignation", requested_by="E1015"),
        {},
        "E1015 may not request a resignation for E1016: the employee or HR staff may",
    ),
    (
        action("termination", requested_by="E1016"),
        {},
        "E1016 has no HR role and may not request a termination",
    ),
    (action("resignation", requested_by="E9999"), {}, "E9999 is not an active person in the directory"),
    (
        action("promotion", new_class_code="AAC30", new_position_id="P-AAC30-01"),
        {},
        "position P-AAC30-01 is filled (incumbent E1015)",
    ),
    (
        action("promotion", new_class_code="AAC30", new_position_id="P-CI1659-04"),
        {},
        "position P-CI1659-04 is of classification CI1659, not AAC30",
    ),
    (
        action("transfer", new_position_id="P-CI1659-04"),
        {},
        "position P-CI1659-04 is of classification CI1659; a transfer keeps ITAT",
    ),
    (action("transfer", new_position_id="P-NONE"), {}, "unknown position P-NONE"),
    (action("pay_change"), {}, "a pay change needs the new pay step"),
    (
        action("release", "E1025"),
        {"employment_status": "permanent"},
        "E1025 is permanent: a release is from probation only",
    ),
]
"""Bad requests, what the employee's record is first, and the start of the reason."""


def test_a_bad_request_is_refused_with_its_reason_and_nothing_is_written(
    engine: Engine, city: PersonnelActivities
):
    for inp, before, reason in REFUSALS:
        if before:
            set_person(engine, inp.employee_id, **before)
        result = open_(city, inp)
        assert result.facts is None and result.refused is not None, inp
        assert result.refused.startswith(reason), (result.refused, reason)
        assert count(engine, PersonnelAction) == 0
        if before:
            set_person(engine, inp.employee_id, active=True, employment_status=None)


def test_a_request_is_recorded_with_its_chain_and_a_retry_of_the_same_run_finds_it(
    engine: Engine, city: PersonnelActivities
):
    inp = action("promotion", new_class_code="CI1659", new_position_id="P-CI1659-04", new_pay_step=2)
    first = open_(city, inp)
    assert first.refused is None and first.facts is not None
    assert [(s.role, s.approvers) for s in first.facts.chain] == [
        ("director", ["E1010"]),
        ("hr", ["E1005"]),
        ("finance", ["E1018"]),
    ]
    assert first.facts.new_probation and first.facts.target_class_code == "CI1659"
    assert open_(city, inp) == first  # the retry: no second row, no conflict with itself
    again = open_(city, inp, run="run-2")  # another run under the same id
    assert again.refused == f"action {inp.action_id} of E1016 is on record already"
    with Session(engine) as s:
        (row,) = s.exec(select(PersonnelAction)).all()
        assert (row.id, row.status, row.run_id) == (f"E1016-{inp.action_id}", pa.REQUESTED, "run-1")
    # A director who has left is nobody: the employee's supervisor approves for the department.
    set_person(engine, "E1010", active=False)
    facts = open_(city, action("termination", "E1013")).facts
    assert facts is not None and facts.chain[0].approvers == ["E1011"]


def test_a_pay_change_during_a_pending_transfer_is_refused_naming_the_transfer(
    engine: Engine, city: PersonnelActivities
):
    transfer = action("transfer", new_position_id="P-ITAT-02", action_id="transfer-1")
    assert open_(city, transfer).refused is None
    refused = open_(city, action("pay_change", new_pay_step=4))
    assert refused.refused == (
        f"E1016 already has transfer transfer-1 in flight (effective {transfer.effective_on}); a pay "
        "change cannot run alongside it: cancel that one first or wait until it has executed"
    )
    assert count(engine, PersonnelAction) == 1
    # Once the transfer has ended, a pay change may be requested.
    city.set_personnel_action_status(
        pa.ActionStatusInput(
            row_id="E1016-transfer-1", run_id="run-1", status=pa.WITHDRAWN, at=AT, final=True
        )
    )
    assert open_(city, action("pay_change", new_pay_step=4)).refused is None


def test_two_conflicting_requests_racing_for_one_employee_record_exactly_one(
    engine: Engine, city: PersonnelActivities
):
    """Both check and record under the employee's lock: the second sees the first and is refused."""
    requests = [action("termination", action_id="a"), action("retirement", action_id="b")]
    results: dict[str, pa.OpenActionResult] = {}
    barrier = threading.Barrier(len(requests))

    def request(inp: PersonnelActionInput) -> None:
        barrier.wait()
        results[inp.action_id] = open_(city, inp)

    threads = [threading.Thread(target=request, args=(inp,)) for inp in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    recorded = [k for k, r in results.items() if r.refused is None]
    refused = [r.refused for r in results.values() if r.refused is not None]
    assert len(recorded) == 1 and len(refused) == 1
    assert refused[0] is not None and "in flight" in refused[0] and recorded[0] in refused[0]
    assert count(engine, PersonnelAction) == 1


def test_moving_a_separation_before_a_pending_pay_change_is_refused_and_changes_nothing(
    engine: Engine, city: PersonnelActivities
):
    assert open_(city, action("pay_change", days=10, new_pay_step=4, action_id="step")).refused is None
    retirement = action("retirement", days=60, action_id="ret")
    assert open_(city, retirement).refused is None  # the pay change comes first: compatible
    move = pa.MoveDateRecord(
        row_id="E1016-ret",
        run_id="run-1",
        employee_id="E1016",
        kind="retirement",
        effective_on=TODAY + timedelta(days=10),
        actor_id="E1006",
        reason="earlier",
        at=AT,
    )
    problem = city.move_personnel_action_date(move)
    assert problem is not None and problem.startswith("E1016 already has pay change step in flight")
    with Session(engine) as s:
        row = s.get(PersonnelAction, "E1016-ret")
        assert row is not None and row.effective_on == retirement.effective_on and row.details["moves"] == []
    later = move.model_copy(update={"effective_on": TODAY + timedelta(days=90)})
    assert city.move_personnel_action_date(later) is None
    assert city.move_personnel_action_date(later) is None  # a retry
    with Session(engine) as s:
        row = s.get(PersonnelAction, "E1016-ret")
        assert row is not None and row.effective_on == later.effective_on and len(row.details["moves"]) == 1


def execute(
    acts: PersonnelActivities, inp: PersonnelActionInput, facts: pa.ActionFacts
) -> pa.ExecutionResult:
    return acts.execute_personnel_action(
        pa.ExecuteActionInput(
            key=f"wf:run-1:execute:{inp.action_id}",
            workflow_id="wf",
            run_id="run-1",
            action=inp,
            effective_on=inp.effective_on,
            facts=facts,
            at=AT,
        )
    )


def test_a_separation_executes_in_one_transaction_and_a_retry_writes_nothing_twice(
    engine: Engine, city: PersonnelActivities
):
    inp = action("resignation", requested_by="E1016")
    facts = open_(city, inp).facts
    assert facts is not None
    first = execute(city, inp, facts)
    assert execute(city, inp, facts) == first  # the retry finds what was done
    assert set(first.work_orders) == {"it_deprovisioning", "equipment_return"}
    assert first.summary == f"resignation of E1016 effective {inp.effective_on}; position P-ITAT-01 vacated"
    with Session(engine) as s:
        person = s.get(Person, "E1016")
        assert person is not None and (person.active, person.employment_status) == (False, "separated")
        position = s.get(Position, "P-ITAT-01")
        assert position is not None and position.incumbent_id is None
        assert [(e.kind, e.class_code) for e in s.exec(select(EmploymentEvent)).all()] == [
            ("resignation", "ITAT")
        ]
        assert [p.kind for p in s.exec(select(PayrollChange)).all()] == ["final_pay"]
        assert sorted(w.kind for w in s.exec(select(WorkOrder)).all()) == [
            "equipment_return",
            "it_deprovisioning",
        ]
        assert [(e.kind, e.effective_on) for e in s.exec(select(SeparationEvent)).all()] == [
            ("resignation", inp.effective_on)
        ]
        row = s.get(PersonnelAction, f"E1016-{inp.action_id}")
        assert row is not None and row.status == pa.EXECUTED and row.finished_at is not None
    # Anything requested for E1016 now is refused: separated, and how.
    refused = open_(city, action("pay_change", new_pay_step=3))
    assert refused.refused == f"E1016 has separated (resignation effective {inp.effective_on})"


def test_an_approved_action_whose_employee_separated_meanwhile_is_void(
    engine: Engine, city: PersonnelActivities
):
    pay = action("pay_change", days=5, new_pay_step=4)
    release = action("release", days=0)
    pay_facts, release_facts = open_(city, pay).facts, open_(city, release).facts
    assert pay_facts is not None and release_facts is not None  # a release goes with a pay change
    assert release_facts.chain == []
    assert execute(city, release, release_facts).void is None
    result = execute(city, pay, pay_facts)
    assert result.void == f"E1016 has separated (release effective {TODAY})"
    with Session(engine) as s:
        row = s.get(PersonnelAction, f"E1016-{pay.action_id}")
        assert row is not None and row.status == pa.VOID
        assert [p.kind for p in s.exec(select(PayrollChange)).all()] == ["final_pay"]
