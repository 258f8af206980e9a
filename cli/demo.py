"""Starting a review from the outside, and the scripted demo of a full review cycle.

``start_review`` is what ``hr review start`` and the demo share. ``run_demo`` starts a
review of classification 1821 with the proposed 2023 text and answers every open step as
the people it waits for would, through the same ``decide`` Update that ``hr decide`` sends,
until the workflow completes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.converter import default as default_converter
from temporalio.service import RPCError, RPCStatusCode

from schemas.decision_details import BoardResolution, RevisedText, as_sent
from schemas.human_step import (
    AGREEABLE,
    APPROVE,
    PROCEED,
    REVISE,
    DecisionInput,
    DecisionReceipt,
    StepSnapshot,
)
from schemas.jd_review import (
    ACTION_TYPE,
    DRAFTING,
    WITHDRAWN,
    ReviewResult,
    ReviewStatus,
    StartReviewInput,
    review_workflow_id,
)
from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_STAGE
from service.settings import Settings

REVIEW_WORKFLOW = "JobDescriptionReview"
SWEEP_WORKFLOW = "JobDescriptionReviewSweep"

DEMO_CLASS_CODE = "1821"
DEMO_DRAFT_FILE = "1821_draft_2023.txt"
DEMO_RESOLUTION = "26-0412R"
STALL_SECONDS = 120.0
"""The demo gives up when the workflow neither moves nor waits for anyone this long."""


def workflow_url(settings: Settings, workflow_id: str) -> str:
    """The Web UI page of a workflow."""
    base = settings.ui_url.rstrip("/")
    return (
        f"{base}/namespaces/{quote(settings.temporal_namespace, safe='')}"
        f"/workflows/{quote(workflow_id, safe='')}"
    )


def review_summary(class_code: str, cycle: str) -> str:
    """The UI summary of a review: ids and codes only, never names."""
    return f"Job-description review {class_code} (cycle {cycle})"


async def start_review(
    client: Client,
    settings: Settings,
    *,
    class_code: str,
    cycle: str,
    requested_by: str,
    draft_text: str | None = None,
) -> WorkflowHandle[object, ReviewResult]:
    """Starts the review of one classification in one cycle.

    A review of that cycle that failed, was cancelled or was withdrawn by HR may be started
    again under the same id; its records stay, and the new run writes its own.

    Raises ``temporalio.exceptions.WorkflowAlreadyStartedError`` when that review is
    running or ended otherwise (adopted, rejected).
    """
    workflow_id = review_workflow_id(class_code, cycle)
    reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    if await _ended_as(client, workflow_id) == WITHDRAWN:
        reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE
    return await client.start_workflow(
        REVIEW_WORKFLOW,
        StartReviewInput(
            class_code=class_code,
            cycle=cycle,
            requested_by=requested_by,
            draft_text=draft_text,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        result_type=ReviewResult,
        id_reuse_policy=reuse,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        static_summary=review_summary(class_code, cycle),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(HR_ACTION_TYPE, ACTION_TYPE),
                SearchAttributePair(HR_CLASS_CODE, class_code),
                SearchAttributePair(HR_STAGE, DRAFTING),
            ]
        ),
    )


async def _ended_as(client: Client, workflow_id: str) -> str | None:
    """The last stage (``HrStage``) of the latest run of ``workflow_id`` if it completed, else None.

    Read from the raw description, decoding only ``HrStage``: the time-skipping test server
    returns a cleared ``HrDueAt`` in a form the SDK's typed decoding refuses.
    """
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    info = described.workflow_execution_info
    payload = info.search_attributes.indexed_fields.get(HR_STAGE.name)
    if info.status != WorkflowExecutionStatus.COMPLETED or payload is None:
        return None
    stage = default_converter().payload_converter.from_payload(payload, str)
    return stage if isinstance(stage, str) else None


def scripted_decision(step: StepSnapshot, person_id: str, draft_text: str) -> DecisionInput | None:
    """What the demo answers for ``person_id`` on ``step``; None when it has no script for it."""
    allowed = set(step.allowed)
    prefix = step.step_id.split("-", 1)[0]

    def decision(choice: str, **fields: object) -> DecisionInput | None:
        if choice not in allowed:
            return None
        return DecisionInput(actor_id=person_id, decision=choice, step_id=step.step_id, **fields)  # type: ignore[arg-type]

    if prefix == "review":
        return decision(APPROVE, comment="Reviewed: the description matches the work.")
    if prefix == "union":
        return decision(AGREEABLE, comment="The bargaining unit has no objection.")
    if prefix == "signatures":
        return decision(APPROVE, comment="Signed.")
    if prefix == "board":
        resolution = BoardResolution(resolution_number=DEMO_RESOLUTION, meeting_date=step.due_at.date())
        return decision(APPROVE, comment="Adopted by the Civil Service Board.", details=as_sent(resolution))
    if prefix in ("draft", "hr"):
        return decision(PROCEED, comment="Proceed with the proposed text.") or decision(
            REVISE, comment="Proposed text for this cycle.", details=as_sent(RevisedText(text=draft_text))
        )
    return decision(APPROVE, comment="Approved.")


async def run_demo(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    echo: Callable[[str], None] = print,
    stall_seconds: float = STALL_SECONDS,
) -> ReviewResult:
    """Runs a full review cycle of classification 1821 and returns its result.

    The store is seeded first (idempotent); a worker must be polling ``settings.task_queue``.
    The cycle is ``demo-<timestamp>`` so that every run starts a review of its own.
    """
    from activities.seed import DEMO_REQUESTER_ID, load_text, seed_city

    await asyncio.to_thread(seed_city, engine)
    draft = load_text(DEMO_DRAFT_FILE)
    cycle = f"demo-{datetime.now():%Y%m%d%H%M%S}"
    handle = await start_review(
        client,
        settings,
        class_code=DEMO_CLASS_CODE,
        cycle=cycle,
        requested_by=DEMO_REQUESTER_ID,
        draft_text=draft,
    )
    echo(f"started {handle.id} (classification {DEMO_CLASS_CODE}, requested by {DEMO_REQUESTER_ID})")
    echo(f"  {workflow_url(settings, handle.id)}")

    last_stage: str | None = None
    last_progress = time.monotonic()
    refused: set[tuple[str, str, int]] = set()
    while True:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            break
        status = await handle.query("status", result_type=ReviewStatus)
        if status.stage != last_stage:
            echo(f"stage {status.stage} (round {status.round})")
            last_stage = status.stage
            last_progress = time.monotonic()
        sent = False
        for step in status.open_steps:
            for person_id in step.pending:
                key = (step.step_id, person_id, len(step.answers))
                if key in refused:
                    continue
                answer = scripted_decision(step, person_id, draft)
                if answer is None:
                    echo(f"  {step.step_id}: no scripted answer among {step.allowed} for {person_id}")
                    refused.add(key)
                    continue
                try:
                    receipt = await handle.execute_update("decide", answer, result_type=DecisionReceipt)
                except WorkflowUpdateFailedError as err:
                    echo(f"  {step.step_id}: {person_id} {answer.decision} refused: {err.cause}")
                    refused.add(key)
                    continue
                sent = True
                last_progress = time.monotonic()
                extra = ""
                details = answer.details or {}
                if details.get("kind") == "board_resolution":
                    extra = f" resolution {details['resolution_number']}, meeting {details['meeting_date']}"
                closed = " (step closed)" if receipt.step_closed else ""
                echo(f"  {receipt.step_id}: {receipt.actor_id} {receipt.decision}{extra}{closed}")
        if not sent:
            if time.monotonic() - last_progress > stall_seconds:
                raise TimeoutError(
                    f"the demo review {handle.id} made no progress for {stall_seconds:.0f} s "
                    f"(stage {last_stage}); is a worker polling {settings.task_queue}?"
                )
            await asyncio.sleep(0.3)

    result = await handle.result()
    echo(
        f"finished {result.workflow_id}: {result.outcome} after {result.rounds} round(s)"
        + (f", resolution {result.resolution_number}" if result.resolution_number else "")
        + (f", version {result.adopted_version_id}" if result.adopted_version_id else "")
    )
    echo(f"open it in the Web UI: {workflow_url(settings, result.workflow_id)}")
    return result


async def leave_one_pending(
    client: Client, settings: Settings, engine: Engine, *, echo: Callable[[str], None] = print
) -> str | None:
    """Starts one more review of 1821 and leaves it waiting at its review step; prints a sign-in
    link (a decision link, as the notice mails it) for its first pending approver, to answer in
    the web application. Returns the link, or None if no step opened in time."""
    from datetime import timedelta

    from activities.identity import LinkIssuer
    from activities.seed import DEMO_REQUESTER_ID, load_text
    from service.identity import load_keyring

    handle = await start_review(
        client,
        settings,
        class_code=DEMO_CLASS_CODE,
        cycle=f"demo-inbox-{datetime.now():%Y%m%d%H%M%S}",
        requested_by=DEMO_REQUESTER_ID,
        draft_text=load_text(DEMO_DRAFT_FILE),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = await handle.query("status", result_type=ReviewStatus)
        steps = [s for s in status.open_steps if s.pending]
        if steps:
            step, person_id = steps[0], steps[0].pending[0]
            issuer = LinkIssuer(
                engine,
                load_keyring(settings),
                settings.temporal_namespace,
                settings.web_url,
                timedelta(days=settings.auth_link_days),
            )
            link = await asyncio.to_thread(issuer.link, person_id, handle.id, step.step_id, "demo")
            echo(f"{handle.id} waits at {step.step_id} for {', '.join(step.pending)}")
            echo(f"sign in as pending approver {person_id} and answer in the web inbox (single use): {link}")
            return link
        await asyncio.sleep(0.3)
    echo(f"{handle.id} opened no step within 30 s")
    return None
