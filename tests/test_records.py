"""The record's write side: idempotent under retry, one current description per classification."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from activities.records import RecordActivities
from activities.seed import seed_city
from schemas.human_step import AuditInput
from schemas.jd_review import AdoptInput, SaveDraftInput, SignatureFact
from schemas.tables import AuditEvent, JobDescriptionVersion, Signature

T = datetime(2026, 12, 1, 18, tzinfo=timezone.utc)


@pytest.fixture
def records(engine: Engine) -> RecordActivities:
    seed_city(engine)
    return RecordActivities(engine)


def _draft(records: RecordActivities, wf: str, text: str) -> int:
    saved = records.save_draft(
        SaveDraftInput(key=f"{wf}:round-1", workflow_id=wf, class_code="1821", round=1, text=text)
    )
    return saved.version_id


def _adopt(records: RecordActivities, wf: str, version_id: int, resolution: str) -> None:
    sig = SignatureFact(
        role="civil_service_board", person_id="E1003", on_behalf_of=None, decision="approve", signed_at=T
    )
    records.adopt_version(
        AdoptInput(
            key=wf,
            workflow_id=wf,
            class_code="1821",
            version_id=version_id,
            board_date=date(2026, 12, 1),
            resolution_number=resolution,
            signatures=[sig],
        )
    )


def _current(engine: Engine) -> list[JobDescriptionVersion]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(JobDescriptionVersion).where(
                    JobDescriptionVersion.class_code == "1821", JobDescriptionVersion.status == "current"
                )
            ).all()
        )


def test_retried_writes_change_nothing_twice(records: RecordActivities, engine: Engine):
    audit = AuditInput(
        key="wf:review-1:answer:E1006",
        workflow_id="wf",
        step_id="review-1",
        actor_id="E1006",
        action="approve",
        at=T,
    )
    assert records.record_audit(audit) == records.record_audit(audit)
    first = _draft(records, "wf", "Human Resources Technician\n")
    assert _draft(records, "wf", "Human Resources Technician\n") == first
    _adopt(records, "wf", first, "26-0412R")
    _adopt(records, "wf", first, "26-0412R")
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent)).all()) == 1
        assert len(s.exec(select(Signature)).all()) == 1
        assert (
            len(s.exec(select(JobDescriptionVersion).where(JobDescriptionVersion.workflow_id == "wf")).all())
            == 1
        )
    assert [v.id for v in _current(engine)] == [first]


def test_the_database_refuses_a_second_current_version(records: RecordActivities, engine: Engine):
    draft = _draft(records, "wf-a", "text a\n")
    with Session(engine) as s, pytest.raises(IntegrityError):
        version = s.get(JobDescriptionVersion, draft)
        assert version is not None
        version.status = "current"
        s.add(version)
        s.commit()


def test_cycles_adopting_at_once_wait_for_each_other_and_leave_one_current_version(
    records: RecordActivities, engine: Engine
):
    """Concurrent adoptions of one classification queue up on either database: none fails (a
    failure would be retried by Temporal, a second or more later), each supersedes the one before."""
    cycles = [f"wf-{i}" for i in range(6)]
    drafts = {wf: _draft(records, wf, f"text of {wf}\n") for wf in cycles}
    together = threading.Barrier(len(cycles))

    def adopt(wf: str) -> None:
        together.wait()
        _adopt(records, wf, drafts[wf], f"res-{wf}")

    with ThreadPoolExecutor(len(cycles)) as pool:
        list(pool.map(adopt, cycles))  # re-raises the first failure
    current = _current(engine)
    assert len(current) == 1 and current[0].id in drafts.values()
    with Session(engine) as s:
        statuses = [s.get(JobDescriptionVersion, v).status for v in drafts.values()]  # type: ignore[union-attr]
    assert sorted(statuses) == ["current"] + ["superseded"] * (len(cycles) - 1)
