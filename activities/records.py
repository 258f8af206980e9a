"""Writes to the record: audit events, draft versions and redlines, the memo, adoption, cycles.

Every write is keyed by the workflow id and step, so a retried activity changes nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.db import utcnow
from activities.directory import current_version
from activities.documents import MemoContext, render_memo, render_redline
from activities.rendering import template_errors
from activities.store import get_by_key, insert_once, lock_row
from schemas.decision_details import RevisedText, parse_details
from schemas.human_step import DECIDE, REVISE, AuditInput, DecisionInput
from schemas.jd_review import (
    AdoptInput,
    AdoptResult,
    CycleRecordInput,
    DraftInHistory,
    MemoInput,
    SaveDraftInput,
    SaveDraftResult,
    StartReviewInput,
    VersionStatusInput,
)
from schemas.tables import (
    AuditEvent,
    BargainingUnit,
    Classification,
    Document,
    JobDescriptionVersion,
    Person,
    ReviewCycle,
    Signature,
)
from workflows.rules.redline import redline


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.records")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity=info.activity_type)
    return log


class RecordActivities:
    """The system of record's write side, built with an engine so tests can pass a real one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="record_audit")
    def record_audit(self, inp: AuditInput) -> int:
        row, created = insert_once(
            self.engine,
            AuditEvent(
                key=inp.key,
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                step_id=inp.step_id,
                actor_id=inp.actor_id,
                on_behalf_of=inp.on_behalf_of,
                action=inp.action,
                comment=inp.comment,
                at=inp.at,
                token_id=inp.token_id,
            ),
        )
        if created:
            _log().info("audit recorded", step_id=inp.step_id, actor_id=inp.actor_id, action=inp.action)
        assert row.id is not None
        return row.id

    @activity.defn(name="save_draft")
    def save_draft(self, inp: SaveDraftInput) -> SaveDraftResult:
        """Stores the proposed text as a draft version and its redline against the current text."""
        if inp.text is None:
            raise ApplicationError("a draft needs its text", non_retryable=True)
        with Session(self.engine) as session:
            current = current_version(session, inp.class_code)
            old_text = current.text if current else ""
        version, _ = insert_once(
            self.engine,
            JobDescriptionVersion(
                key=f"{inp.key}:draft",
                class_code=inp.class_code,
                status="draft",
                text=inp.text,
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                round=inp.round,
                created_at=utcnow(),
            ),
        )
        diff = redline(old_text, inp.text)
        with template_errors(_log(), class_code=inp.class_code):
            redline_text = render_redline(inp.class_code, inp.round, current, diff)
        doc, _ = insert_once(
            self.engine,
            Document(
                key=f"{inp.key}:redline",
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                kind="redline",
                class_code=inp.class_code,
                text=redline_text,
                created_at=utcnow(),
            ),
        )
        assert version.id is not None and doc.id is not None
        _log().info("draft saved", class_code=inp.class_code, round=inp.round, version_id=version.id)
        return SaveDraftResult(
            version_id=version.id,
            redline_document_id=doc.id,
            lines_added=diff.lines_added,
            lines_removed=diff.lines_removed,
        )

    @activity.defn(name="save_start_draft")
    async def save_start_draft(self, inp: SaveDraftInput) -> SaveDraftResult:
        """``save_draft`` of a text already in the workflow's history, read from there through
        the worker's client and data converter (an encrypted history too), so the history holds
        the text once, not twice: the start input's draft (``inp.text_from_start``, the first
        event), or HR's ``revise`` answer (``inp.text_in_history``, the Update's accepted event
        or the signal's event). Keyed by run and round like ``save_draft``."""
        if inp.text is None and inp.text_in_history is not None:
            text = await _revised_text(activity.client(), inp.workflow_id, inp.text_in_history)
            inp = inp.model_copy(update={"text": text})
        elif inp.text is None:
            client = activity.client()
            page = await client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=client.namespace,
                    execution=WorkflowExecution(workflow_id=inp.workflow_id, run_id=inp.run_id or ""),
                    maximum_page_size=1,
                )
            )
            started = page.history.events[0].workflow_execution_started_event_attributes
            [start] = await client.data_converter.decode(started.input.payloads, [StartReviewInput])
            if start.draft_text is None:
                raise ApplicationError("the review was started without a draft", non_retryable=True)
            inp = inp.model_copy(update={"text": start.draft_text})
        return await asyncio.to_thread(self.save_draft, inp)

    @activity.defn(name="set_version_status")
    def set_version_status(self, inp: VersionStatusInput) -> None:
        with Session(self.engine) as session:
            version = session.get(JobDescriptionVersion, inp.version_id)
            if version is None:
                raise ApplicationError(f"no version {inp.version_id}", non_retryable=True)
            if version.status != inp.status:
                version.status = inp.status
                session.add(version)
                session.commit()

    @activity.defn(name="generate_memo")
    def generate_memo(self, inp: MemoInput) -> int:
        """Writes the memo to the Civil Service Board from recorded facts; returns its document id."""
        key = f"{inp.key}:memo"
        with Session(self.engine) as session, template_errors(_log(), class_code=inp.class_code):
            existing = get_by_key(session, Document, key)
            if existing is not None:
                assert existing.id is not None
                return existing.id
            cls = session.get(Classification, inp.class_code)
            sender = session.get(Person, inp.facts.hr_supervisor_id)
            if cls is None or sender is None:
                raise ApplicationError(
                    "memo facts name an unknown classification or person", non_retryable=True
                )
            current = current_version(session, inp.class_code)
            unit = session.get(BargainingUnit, cls.bargaining_unit_code) if cls.bargaining_unit_code else None

            def names(ids: list[str]) -> list[str]:
                return [p.name if (p := session.get(Person, i)) else i for i in ids]

            text = render_memo(
                MemoContext(
                    memo_date=inp.facts.memo_date,
                    from_name=sender.name,
                    from_title=sender.title,
                    class_title=cls.title,
                    class_code=cls.code,
                    last_revised=current.revised_on if current else None,
                    supervisors_approved=names(inp.facts.supervisors_approved),
                    incumbents_approved=names(inp.facts.incumbents_approved),
                    no_response=names(inp.facts.no_response),
                    union_name=unit.name if unit else None,
                    union_position=inp.facts.union_position,
                    union_comment=inp.facts.union_comment,
                    rounds=inp.facts.rounds,
                    redline_document_id=inp.facts.redline_document_id,
                )
            )
        doc, _ = insert_once(
            self.engine,
            Document(
                key=key,
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                kind="memo",
                class_code=inp.class_code,
                text=text,
                created_at=utcnow(),
            ),
        )
        assert doc.id is not None
        _log().info("memo generated", class_code=inp.class_code, document_id=doc.id)
        return doc.id

    @activity.defn(name="adopt_version")
    def adopt_version(self, inp: AdoptInput) -> AdoptResult:
        """Makes the approved draft current, supersedes the old text, records every signature."""
        superseded_id: int | None = None
        with Session(self.engine) as session:
            # One adoption per classification at a time. The transaction's first statement is a
            # write to the classification's row: a row lock on PostgreSQL, and on SQLite the
            # database's write lock, taken before anything is read (a SELECT ... FOR UPDATE is
            # ignored there, and two readers upgrading to writers collide instead of waiting).
            # The partial unique index stays the last line of defence.
            lock_row(session, Classification.code, inp.class_code)
            version = session.get(JobDescriptionVersion, inp.version_id)
            if version is None or version.class_code != inp.class_code:
                raise ApplicationError(f"no draft {inp.version_id} of {inp.class_code}", non_retryable=True)
            if version.status != "current":
                for old in session.exec(
                    select(JobDescriptionVersion)
                    .where(JobDescriptionVersion.class_code == inp.class_code)
                    .where(JobDescriptionVersion.status == "current")
                ).all():
                    old.status = "superseded"
                    superseded_id = old.id
                    session.add(old)
                session.flush()  # the old text stops being current before the new one starts
                version.status = "current"
                version.revised_on = inp.board_date
                version.board_date = inp.board_date
                version.resolution_number = inp.resolution_number
                session.add(version)
                session.commit()
        for sig in inp.signatures:
            insert_once(
                self.engine,
                Signature(
                    key=f"{inp.key}:sig:{sig.role}:{sig.person_id}",
                    version_id=inp.version_id,
                    role=sig.role,
                    person_id=sig.person_id,
                    on_behalf_of=sig.on_behalf_of,
                    decision=sig.decision,
                    signed_at=sig.signed_at,
                ),
            )
        _log().info(
            "version adopted",
            class_code=inp.class_code,
            version_id=inp.version_id,
            resolution=inp.resolution_number,
        )
        return AdoptResult(version_id=inp.version_id, superseded_version_id=superseded_id)

    @activity.defn(name="record_cycle")
    def record_cycle(self, inp: CycleRecordInput) -> None:
        """Creates or updates the run's row; a closed cycle is not reopened by a late retry."""
        with Session(self.engine) as session:
            row = session.get(ReviewCycle, inp.run_id)
            if row is None:
                row = ReviewCycle(
                    run_id=inp.run_id,
                    workflow_id=inp.workflow_id,
                    class_code=inp.class_code,
                    cycle=inp.cycle,
                    requested_by=inp.requested_by,
                    status=inp.status,
                    started_at=inp.at,
                )
            elif row.finished_at is not None:
                return
            row.status = inp.status
            if inp.final:
                row.finished_at = inp.at
                row.adopted_version_id = inp.adopted_version_id
            session.add(row)
            session.commit()


async def _revised_text(client: Client, workflow_id: str, where: DraftInHistory) -> str:
    """HR's revised text, read from the history event of its ``revise`` answer: the ``decide``
    Update with ``where.update_id`` (its accepted event holds the request), or else a ``decide``
    signal. Only an answer for ``where.step_id``, deciding ``revise``, whose text has the digest
    ``where.sha256`` is taken; none there is a non-retryable error (the history does not change)."""
    handle = client.get_workflow_handle(workflow_id, run_id=where.run_id)
    async for event in handle.fetch_history_events():
        for payloads in _decide_inputs(event, where.update_id):
            try:
                [answer] = await client.data_converter.decode(payloads, [DecisionInput])
                details = parse_details(answer.details) if answer.details is not None else None
            except Exception:  # noqa: BLE001 - a signal of another shape is not this answer
                continue
            if (
                answer.decision == REVISE
                and answer.step_id in (None, where.step_id)
                and isinstance(details, RevisedText)
                and hashlib.sha256(details.text.encode("utf-8")).hexdigest() == where.sha256
            ):
                return details.text
    raise ApplicationError(
        f"no revise answer for step {where.step_id} with the expected text in the history",
        type="DraftNotInHistory",
        non_retryable=True,
    )


def _decide_inputs(event: HistoryEvent, update_id: str | None) -> list[Any]:
    """The ``decide`` arguments an event carries that may be the answer: the accepted Update
    ``update_id``, or (``update_id`` None) a ``decide`` signal."""
    if update_id is not None and event.HasField("workflow_execution_update_accepted_event_attributes"):
        accepted = event.workflow_execution_update_accepted_event_attributes
        request = accepted.accepted_request
        ours = update_id in (request.meta.update_id, accepted.protocol_instance_id)
        if ours and request.input.name == DECIDE:
            return [list(request.input.args.payloads)]
    if update_id is None and event.HasField("workflow_execution_signaled_event_attributes"):
        signaled = event.workflow_execution_signaled_event_attributes
        if signaled.signal_name == DECIDE:
            return [list(signaled.input.payloads)]
    return []
