"""What a review's history costs (issue 13): one search-attribute upsert per workflow task, a
step's records of one moment as one local activity, and the draft text stored once.

Each test runs a real review to adoption on the time-skipping server and reads its history.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from sqlmodel import Session, col, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle

from activities.notifications import NotificationActivities
from activities.seed import load_text, seed_city
from schemas.human_step import AuditInput, NotifyInput, StepRecords
from schemas.tables import AuditEvent, JobDescriptionVersion, OutboxMessage
from tests.review_harness import Review, approve_all
from workflows.human_step import ONE_UPSERT, STEP_RECORDS
from workflows.jd_review import DRAFT_BY_REFERENCE

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


def test_a_retried_step_record_writes_nothing_twice(engine):
    """``record_step`` run twice with the same records (a retried attempt) adds no row."""
    seed_city(engine)
    activities = NotificationActivities(engine)
    records = StepRecords(
        audits=[
            AuditInput(
                key="wf-x:run-x:review-1:opened",
                workflow_id="wf-x",
                run_id="run-x",
                step_id="review-1",
                actor_id="system",
                action="opened",
                at=datetime(2026, 1, 5, tzinfo=UTC),
            )
        ],
        notices=[
            NotifyInput(
                key="wf-x:run-x:process:outcome:adopted",
                workflow_id="wf-x",
                run_id="run-x",
                recipient_ids=["E1008", "E1001"],
                template="outcome",
                params={
                    "workflow_id": "wf-x",
                    "stage": "adopted",
                    "outcome": "adopted",
                    "class_code": "1821",
                },
            )
        ],
    )
    first = activities.record_step(records)
    again = activities.record_step(records)
    assert first.queued == 2 and again.queued == 0
    assert first.audit_ids == again.audit_ids
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.workflow_id == "wf-x")).all()) == 1
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == "wf-x")).all()) == 2
