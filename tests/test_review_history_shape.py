"""What a review's history costs (issue 13): one search-attribute upsert per workflow task, a
step's records of one moment as one local activity, and the draft text stored once: the
start's draft in event 1, and HR's revised draft in its ``revise`` answer's Update (or signal).

Each test runs a real review to adoption on the time-skipping server and reads its history.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import notifications
from activities.notifications import NotificationActivities
from activities.records import RecordActivities, _revised_text
from activities.seed import load_text, seed_city
from activities.store import insert_once
from schemas import jd_review as jd
from schemas.human_step import AuditInput, DecisionInput, NotifyInput, StepRecords, StepRecordsWritten
from schemas.tables import AuditEvent, JobDescriptionVersion, OutboxMessage
from tests.review_harness import Review, approve_all, revised
from workflows.human_step import ONE_UPSERT, STEP_RECORDS
from workflows.jd_review import DRAFT_BY_REFERENCE, REVISED_DRAFT_BY_REFERENCE

DRAFT = load_text("1821_draft_2023")


async def _adopted(review: Review) -> tuple[WorkflowHandle, list]:
    handle = await review.start()
    status = await review.drive(handle, approve_all)
    assert status.outcome == "adopted"
    await handle.result()
    history = await handle.fetch_history()
    return handle, list(history.events)


SDK_PATCH_ATTRIBUTE = "TemporalChangeVersion"
"""Set by the SDK itself, in an upsert of its own, the first time a run meets a patch."""


def _upserts_per_task(events: list) -> list[int]:
    """How many of the process's upserts follow each completed workflow task (its commands);
    the SDK's own upsert of ``TemporalChangeVersion`` as a patch is first met is not one."""
    counts: list[int] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            counts.append(0)
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if set(fields) != {SDK_PATCH_ATTRIBUTE}:
                counts[-1] += 1
    return counts


def _markers(events: list) -> list[str]:
    return [
        e.marker_recorded_event_attributes.marker_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]


def _patches(events: list, ids: set[str]) -> set[str]:
    """Which of the patch ``ids`` have a patch marker in the history."""
    markers = [
        e.SerializeToString()
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    return {i for i in ids if any(i.encode() in m for m in markers)}


async def test_a_review_writes_at_most_one_upsert_per_workflow_task_and_ends_visible(review: Review):
    handle, events = await _adopted(review)
    counts = _upserts_per_task(events)
    assert max(counts) == 1, counts
    ours = {ONE_UPSERT, STEP_RECORDS, DRAFT_BY_REFERENCE}
    assert _patches(events, ours) == ours
    described = await review.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=review.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    raw = described.workflow_execution_info.search_attributes.indexed_fields
    values = {name: json.loads(p.data) if p.data else None for name, p in raw.items()}
    assert values["HrStage"] == "adopted"
    assert values["HrActionType"] == "jd_review" and values["HrClassCode"] == "1821"
    assert values["HrDepartment"]
    assert values.get("HrPendingApprovers") in (None, []) and values.get("HrDueAt") is None


async def test_a_steps_records_are_one_local_activity_each_and_all_on_record(review: Review):
    handle, events = await _adopted(review)
    scheduled = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    assert not {"record_audit", "notify", "active_delegations"} & set(scheduled), scheduled
    assert "core_local_activity" in _markers(events)
    # each carries its label for the Web UI's timeline: the step and what happened, codes only
    summaries = [
        e.user_metadata.summary
        for e in events
        if e.HasField("marker_recorded_event_attributes") and e.HasField("user_metadata")
    ]
    labels = await review.env.client.data_converter.decode(summaries)
    assert "record step review-1 opened" in labels, labels[:5]
    rows = review.audit(handle.id)
    actions = Counter(r.action for r in rows)
    assert actions["opened"] == 4  # review, union, signatures, board: each once
    assert actions["approve"] >= 3 and actions["agreeable"] == 1
    with Session(review.engine) as s:
        outbox = s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == handle.id)).all()
    assert any(":opened:" in m.key for m in outbox) and any(":outcome:" in m.key for m in outbox)
    assert len({m.key for m in outbox}) == len(outbox)


async def test_the_draft_text_is_stored_once_in_the_history_and_whole_in_the_record(review: Review):
    handle, events = await _adopted(review)
    line = next(ln for ln in DRAFT.splitlines() if len(ln) > 40).encode()
    holding = [e.event_id for e in events if line in e.SerializeToString()]
    assert holding == [1], holding  # the start input only
    with Session(review.engine) as s:
        versions = s.exec(
            select(JobDescriptionVersion).where(col(JobDescriptionVersion.workflow_id) == handle.id)
        ).all()
    assert [v.text for v in versions] == [DRAFT]


REVISED = "Human Resources Technician\n\nRevised by reference: names the benefits representative.\n"
REVISED_LINE = b"Revised by reference: names the benefits representative."


def _revising(how: str):
    """Every reviewer of round 1 asks for changes (of a review started with a draft); HR (E1008)
    revises by Update, or not at all (``how == "signal"``: the test sends it); everyone else
    approves. ``first_draft``: HR's first draft is the revision, and round 1 approves it."""

    def script(step_id: str, person: str) -> DecisionInput | None:
        if step_id == "review-1" and how != "first_draft":
            return DecisionInput(actor_id=person, decision="request_changes", comment="name the rep")
        if step_id.startswith(("hr-", "draft-")):
            if person != "E1008" or how == "signal":
                return None
            return DecisionInput(actor_id=person, decision="revise", details=revised(REVISED))
        return approve_all(step_id, person)

    return script


@pytest.mark.parametrize("how", ["update", "signal", "first_draft"])
async def test_a_revised_draft_is_stored_once_in_the_history_in_hrs_answer(review: Review, how: str):
    """HR's revised text is in the history once, in the event of the answer that carried it (the
    Update's accepted event, or the signal's), never in an activity's input; the record holds it
    whole. ``first_draft``: a review started without a draft, HR's first draft by Update."""
    handle = await review.start(draft=None if how == "first_draft" else "default")
    if how == "signal":
        await review.drive(handle, _revising(how), until_stage=jd.HR_DECISION)
        await review.wait_for_step(handle, "hr-1-review")
        await handle.signal(
            "decide",
            DecisionInput(
                actor_id="E1008", decision="revise", step_id="hr-1-review", details=revised(REVISED)
            ),
        )
        await review.wait_for_step(handle, "review-2")
        status = await review.drive(handle, approve_all)
    else:
        status = await review.drive(handle, _revising(how))
    assert status.outcome == "adopted"
    await handle.result()
    events = list((await handle.fetch_history()).events)
    holding = [e for e in events if REVISED_LINE in e.SerializeToString()]
    answer_event = {
        "update": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        "first_draft": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        "signal": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    }[how]
    assert [e.event_type for e in holding] == [answer_event], [(e.event_id, e.event_type) for e in holding]
    assert REVISED_DRAFT_BY_REFERENCE in _patches(events, {REVISED_DRAFT_BY_REFERENCE})
    with Session(review.engine) as s:
        versions = s.exec(
            select(JobDescriptionVersion)
            .where(col(JobDescriptionVersion.workflow_id) == handle.id)
            .order_by(col(JobDescriptionVersion.round))
        ).all()
    if how == "first_draft":
        assert [(v.round, v.text, v.status) for v in versions] == [(1, REVISED, "current")]
    else:
        assert [(v.round, v.text, v.status) for v in versions] == [
            (1, DRAFT, "replaced"),
            (2, REVISED, "current"),
        ]


async def test_a_draft_by_reference_is_read_only_when_it_is_the_expected_answer(review: Review):
    """``save_start_draft`` takes HR's text from the history only if the event is the answer the
    workflow named (step, Update, digest); a retry saves nothing twice (keyed by run and round)."""
    handle = await review.start()
    await review.drive(handle, _revising("update"))
    await handle.result()
    events = list((await handle.fetch_history()).events)
    accepted = next(
        e.workflow_execution_update_accepted_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and REVISED_LINE in e.SerializeToString()
    )
    run_id = events[0].workflow_execution_started_event_attributes.original_execution_run_id
    where = jd.DraftInHistory(
        run_id=run_id,
        step_id="hr-1-review",
        update_id=accepted.accepted_request.meta.update_id,
        sha256=hashlib.sha256(REVISED.encode()).hexdigest(),
    )
    assert await _revised_text(review.client, handle.id, where) == REVISED
    for wrong in (
        where.model_copy(update={"sha256": hashlib.sha256(b"another text").hexdigest()}),
        where.model_copy(update={"step_id": "hr-2-union"}),
        where.model_copy(update={"update_id": "no-such-update"}),
        where.model_copy(update={"update_id": None}),  # no decide signal in this run
    ):
        with pytest.raises(ApplicationError, match="no revise answer") as refused:
            await _revised_text(review.client, handle.id, wrong)
        assert refused.value.non_retryable
    with Session(review.engine) as s:
        saved = s.exec(
            select(JobDescriptionVersion).where(
                col(JobDescriptionVersion.workflow_id) == handle.id, col(JobDescriptionVersion.round) == 2
            )
        ).one()
    key = f"{handle.id}:{run_id}:round-2"
    again = await ActivityEnvironment(client=review.client).run(
        RecordActivities(review.engine).save_start_draft,
        jd.SaveDraftInput(
            key=key, workflow_id=handle.id, run_id=run_id, class_code="1821", round=2, text_in_history=where
        ),
    )
    assert again.version_id == saved.id
    with Session(review.engine) as s:
        rows = s.exec(
            select(JobDescriptionVersion).where(col(JobDescriptionVersion.workflow_id) == handle.id)
        )
        assert len(rows.all()) == 2


def _moment(workflow_id: str = "wf-x") -> StepRecords:
    """A step moment's records: two audit rows and two notices (three outbox rows)."""

    def audit(step_id: str, action: str) -> AuditInput:
        return AuditInput(
            key=f"{workflow_id}:run-x:{step_id}:{action}",
            workflow_id=workflow_id,
            run_id="run-x",
            step_id=step_id,
            actor_id="system",
            action=action,
            at=datetime(2026, 1, 5, tzinfo=UTC),
        )

    def notice(key: str, recipients: list[str]) -> NotifyInput:
        return NotifyInput(
            key=f"{workflow_id}:run-x:process:outcome:{key}",
            workflow_id=workflow_id,
            run_id="run-x",
            recipient_ids=recipients,
            template="outcome",
            params={
                "workflow_id": workflow_id,
                "stage": "adopted",
                "outcome": "adopted",
                "class_code": "1821",
            },
        )

    return StepRecords(
        audits=[audit("review-1", "opened"), audit("review-1", "escalated")],
        notices=[notice("adopted", ["E1008", "E1001"]), notice("told", ["E1008"])],
    )


def _rows(engine, workflow_id: str = "wf-x") -> tuple[int, int]:
    with Session(engine) as s:
        audits = s.exec(select(AuditEvent).where(AuditEvent.workflow_id == workflow_id)).all()
        outbox = s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == workflow_id)).all()
    return len(audits), len(outbox)


def test_a_retried_step_record_writes_nothing_twice(engine):
    """``record_step`` run twice with the same records (a retried attempt) adds no row."""
    seed_city(engine)
    activities = NotificationActivities(engine)
    records = _moment()
    first = activities.record_step(records)
    again = activities.record_step(records)
    assert first.queued == 3 and again.queued == 0
    assert len(first.audit_ids) == 2 and first.audit_ids == again.audit_ids
    assert _rows(engine) == (2, 3)


def test_a_step_moment_is_one_transaction(engine):
    """A step moment's audit rows and notices are written with one commit (issue 13), and a
    retry of it commits nothing new."""
    seed_city(engine)
    activities = NotificationActivities(engine)
    commits: list[int] = []

    def committed(conn) -> None:
        commits.append(1)

    sa_event.listen(engine, "commit", committed)
    try:
        first = activities.record_step(_moment())
        assert (len(commits), first.queued, _rows(engine)) == (1, 3, (2, 3))
        again = activities.record_step(_moment())
        assert (len(commits), again.queued, again.audit_ids) == (1, 0, first.audit_ids)
    finally:
        sa_event.remove(engine, "commit", committed)


def test_a_row_written_meanwhile_by_another_attempt_is_kept_and_nothing_doubles(engine, monkeypatch):
    """Another attempt writes one of the moment's audit rows after this one looked for it: the
    unique key refuses this transaction, and the rows are written one at a time, keeping that
    row. The result is the same as a single attempt's."""
    seed_city(engine)
    activities = NotificationActivities(engine)
    records = _moment()
    meanwhile: list[int] = []
    rendered = notifications.render

    def render_after_another_attempt(*args, **kwargs):
        if not meanwhile:
            row, _ = insert_once(engine, AuditEvent(**records.audits[1].model_dump()))
            assert row.id is not None
            meanwhile.append(row.id)
        return rendered(*args, **kwargs)

    fell_back: list[int] = []
    row_by_row = activities._step_row_by_row

    def one_at_a_time(inp: StepRecords) -> StepRecordsWritten:
        fell_back.append(1)
        return row_by_row(inp)

    monkeypatch.setattr(notifications, "render", render_after_another_attempt)
    monkeypatch.setattr(activities, "_step_row_by_row", one_at_a_time)
    written = activities.record_step(records)
    assert fell_back == [1]  # the transaction was refused by the unique key, then row by row
    assert written.queued == 3 and written.audit_ids[1] == meanwhile[0]
    assert _rows(engine) == (2, 3)
