"""The human step, shared by every process: wait for named people, with reminders and escalation.

A workflow class inherits ``HumanSteps`` and calls ``await self.run_step(spec)`` for each wait.
The class brings the handlers every process answers to:

- ``decide`` as an Update (validated first, so a wrong answer is refused at once with a reason)
  and as a Signal (``temporal workflow signal --name decide``); both go through ``_accept``;
- ``extend_due`` (HR moves a due date, with a reason) and ``withdraw`` (HR ends the process).

While a step is open the workflow keeps ``HrPendingApprovers`` and ``HrDueAt`` current.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from activities.notifications import NotificationActivities
    from activities.records import RecordActivities
    from schemas.human_step import (
        Answer,
        AuditInput,
        DecisionInput,
        DecisionReceipt,
        DelegationQuery,
        ExtendDueInput,
        NotifyInput,
        StepSnapshot,
        StepSpec,
        StepState,
        WithdrawInput,
    )
    from schemas.search_attributes import HR_DUE_AT, HR_PENDING_APPROVERS, HR_STAGE
    from workflows.rules.deadlines import (
        DEFAULT,
        ESCALATE,
        OVERDUE_REMINDER,
        REMINDER,
        StepEvent,
        step_events,
    )
    from workflows.rules.human_step import (
        DecisionRefused,
        check_decision,
        escalation_targets,
        is_complete,
        pending,
        select_step,
    )

SYSTEM_ACTOR = "system"
ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
    # Activities here are short, synchronous, idempotent writes that cannot be interrupted
    # half-way; when a process is cancelled they finish on their own and no cancel request is
    # sent for them (the time-skipping test server also mishandles such requests).
    "cancellation_type": ActivityCancellationType.ABANDON,
}


def refused(message: str) -> ApplicationError:
    """An input a workflow refuses: the one-line reason, never retried."""
    return ApplicationError(message, type="InputRefused", non_retryable=True)


class Withdrawn(Exception):
    """Raised out of ``run_step`` when HR withdrew the process while the step was open."""


class HumanSteps:
    """Base class of a workflow with human steps. Call ``_init_steps`` from ``__init__``."""

    def _init_steps(self, hr_staff: set[str] | None = None) -> None:
        self._steps: dict[str, StepState] = {}
        self._stage = "started"
        self._hr_staff: set[str] = set(hr_staff or ())
        self._withdrawal: WithdrawInput | None = None
        self._visible: dict[str, object] = {}

    # ----- handlers -------------------------------------------------------------------------

    @workflow.update(name="decide")
    async def decide(self, inp: DecisionInput) -> DecisionReceipt:
        """Records a decision sent by ``hr decide``; the validator has already checked it."""
        state, answer = self._accept(inp, source="update")
        await self._record_answer(state, answer)
        return DecisionReceipt(
            workflow_id=workflow.info().workflow_id,
            step_id=state.spec.step_id,
            person_id=answer.person_id,
            actor_id=answer.actor_id,
            decision=answer.decision,
            at=answer.at,
            step_closed=is_complete(state.spec, state.answers),
        )

    @decide.validator
    def _validate_decide(self, inp: DecisionInput) -> None:
        try:
            state = select_step(self._steps, inp)
            check_decision(state, inp)
            self._check_decision_extra(state, inp)
        except DecisionRefused as refused:
            raise ApplicationError(str(refused), type="DecisionRefused", non_retryable=True) from None

    @workflow.signal(name="decide")
    async def decide_signal(self, inp: DecisionInput) -> None:
        """The same decision as a plain signal; a refused one is logged and changes nothing."""
        try:
            state, answer = self._accept(inp, source="signal")
        except DecisionRefused as refused:
            workflow.logger.warning("decision refused: %s", refused)
            return
        await self._record_answer(state, answer)

    @workflow.update
    async def extend_due(self, inp: ExtendDueInput) -> StepSnapshot:
        """HR moves an open step's due date; reminders and escalation follow the new date."""
        state = self._steps[inp.step_id]
        state.spec.due_at = inp.new_due_at
        now = workflow.now()
        for event in self._events(state):
            if event.at <= now and event.key not in state.fired:
                state.fired.append(event.key)
        state.revision += 1
        self._refresh_visibility()
        await self._audit(
            state.spec.step_id,
            inp.actor_id,
            "due_extended",
            inp.reason,
            key_suffix=f"extend:{state.revision}",
        )
        return self._snapshot(state)

    @extend_due.validator
    def _validate_extend_due(self, inp: ExtendDueInput) -> None:
        self._require_hr(inp.actor_id, "extend a due date")
        state = self._steps.get(inp.step_id)
        if state is None:
            raise ApplicationError(f"unknown step {inp.step_id!r}", non_retryable=True)
        if state.closed:
            raise ApplicationError(f"step {inp.step_id} is closed", non_retryable=True)
        if inp.new_due_at <= workflow.now():
            raise ApplicationError("the new due date must be in the future", non_retryable=True)
        if not inp.reason.strip():
            raise ApplicationError("a reason is required", non_retryable=True)

    @workflow.update
    async def withdraw(self, inp: WithdrawInput) -> str:
        """HR ends the process; the open step closes and the outcome is recorded as withdrawn."""
        self._withdrawal = inp
        await self._audit("process", inp.actor_id, "withdrawn", inp.reason, key_suffix="withdraw")
        return "withdrawn"

    @withdraw.validator
    def _validate_withdraw(self, inp: WithdrawInput) -> None:
        self._require_hr(inp.actor_id, "withdraw this process")
        if self._withdrawal is not None or self._finished():
            raise ApplicationError("the process has already ended", non_retryable=True)
        if not inp.reason.strip():
            raise ApplicationError("a reason is required", non_retryable=True)

    def _require_hr(self, actor_id: str, what: str) -> None:
        if actor_id not in self._hr_staff:
            raise ApplicationError(f"{actor_id} may not {what}", non_retryable=True)

    def _finished(self) -> bool:
        """Overridden by processes that know when they are over."""
        return False

    def _check_decision_extra(self, state: StepState, inp: DecisionInput) -> None:
        """A process's own checks of a decision (raise ``DecisionRefused``); none by default."""

    # ----- the step itself --------------------------------------------------------------------

    def _accept(self, inp: DecisionInput, source: str) -> tuple[StepState, Answer]:
        """Checks and records an answer in workflow state, synchronously (no await before it)."""
        state = select_step(self._steps, inp)
        person_id = check_decision(state, inp)
        self._check_decision_extra(state, inp)
        answer = Answer(
            person_id=person_id,
            actor_id=inp.actor_id,
            decision=inp.decision,
            comment=inp.comment,
            text=inp.text,
            resolution_number=inp.resolution_number,
            meeting_date=inp.meeting_date,
            applicant_id=inp.applicant_id,
            at=workflow.now(),
            source=source,  # type: ignore[arg-type]
        )
        state.answers[person_id] = answer
        self._refresh_visibility()
        return state, answer

    async def _complete_answer(
        self, state: StepState, person_id: str, actor_id: str, decision: str, comment: str | None
    ) -> Answer:
        """Records an answer a process derives from other input (a rater's last score, say)."""
        answer = Answer(
            person_id=person_id, actor_id=actor_id, decision=decision, comment=comment, at=workflow.now()
        )
        state.answers[person_id] = answer
        self._refresh_visibility()
        await self._record_answer(state, answer)
        return answer

    async def run_step_delegated(self, spec: StepSpec) -> StepState:
        """``run_step`` with the delegations in force today looked up first (DESIGN section 4)."""
        spec.delegates = await workflow.execute_activity_method(
            DirectoryActivities.active_delegations,
            DelegationQuery(person_ids=[p.person_id for p in spec.participants], on=workflow.now().date()),
            **ACTIVITY_OPTIONS,
        )
        return await self.run_step(spec)

    async def run_step(self, spec: StepSpec) -> StepState:
        """Opens a step, notifies its people, and waits until it is complete.

        Reminders, escalation and default answers happen on the step's schedule; a due date
        moved by ``extend_due`` reschedules them. Raises ``Withdrawn`` if HR withdrew.
        """
        state = StepState(spec=spec, opened_at=workflow.now())
        self._steps[spec.step_id] = state
        self._refresh_visibility()
        invited = pending(spec, state.answers)  # before any await: someone may answer at once
        await asyncio.gather(
            self._audit(spec.step_id, SYSTEM_ACTOR, "opened", spec.title),
            self._notify(state, "step_opened", invited, "opened"),
        )
        while not self._step_done(state):
            waiting = [e for e in self._events(state) if e.key not in state.fired]
            condition = self._until_done_or_changed(state)
            if not waiting:
                await workflow.wait_condition(condition)
                continue
            event = waiting[0]
            delay = (event.at - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(condition, timeout=delay)
                    continue
                except asyncio.TimeoutError:
                    pass
            state.fired.append(event.key)
            await self._on_event(state, event)
        state.closed = True
        self._refresh_visibility()
        if self._withdrawal is not None:
            raise Withdrawn()
        return state

    def _until_done_or_changed(self, state: StepState) -> Callable[[], bool]:
        """A wait condition: the step is done, or its schedule changed (a moved due date)."""
        revision = state.revision
        return lambda: self._step_done(state) or state.revision != revision

    def _step_done(self, state: StepState) -> bool:
        return self._withdrawal is not None or is_complete(state.spec, state.answers)

    def _events(self, state: StepState) -> list[StepEvent]:
        has_defaults = any(p.default_decision for p in state.spec.participants)
        return step_events(state.opened_at, state.spec.due_at, state.spec.policy, has_defaults)

    async def _on_event(self, state: StepState, event: StepEvent) -> None:
        waiting = pending(state.spec, state.answers)
        if event.kind == REMINDER:
            await self._notify(state, "reminder", waiting, event.key)
        elif event.kind == OVERDUE_REMINDER:
            await self._notify(state, "overdue", waiting, event.key)
        elif event.kind == ESCALATE:
            await self._escalate(state, waiting, event)
        elif event.kind == DEFAULT:
            await self._apply_defaults(state, waiting)

    async def _escalate(self, state: StepState, waiting: list[str], event: StepEvent) -> None:
        for target, overdue in escalation_targets(state.spec, waiting).items():
            state.escalated_to.append(target)
            await self._audit(
                state.spec.step_id,
                SYSTEM_ACTOR,
                "escalated",
                f"to {target}: overdue {', '.join(overdue)}",
                key_suffix=f"escalated:{target}:{event.key}",
            )
            await self._notify(
                state, "escalation", [target], f"{event.key}:{target}", extra={"overdue": ", ".join(overdue)}
            )
        await self._notify(state, "overdue", waiting, event.key)

    async def _apply_defaults(self, state: StepState, waiting: list[str]) -> None:
        for participant in state.spec.participants:
            if participant.person_id in waiting and participant.default_decision:
                answer = Answer(
                    person_id=participant.person_id,
                    actor_id=SYSTEM_ACTOR,
                    decision=participant.default_decision,
                    comment="no answer by the deadline, after reminders and escalation",
                    at=workflow.now(),
                    source="default",
                )
                state.answers[participant.person_id] = answer
                await self._record_answer(state, answer)
        self._refresh_visibility()

    # ----- records, notifications, visibility --------------------------------------------------

    async def _record_answer(self, state: StepState, answer: Answer) -> None:
        await self._audit(
            state.spec.step_id,
            answer.actor_id,
            answer.decision,
            answer.comment,
            on_behalf_of=answer.person_id if answer.person_id != answer.actor_id else None,
            key_suffix=f"answer:{answer.person_id}",
            at=answer.at,
        )
        if answer.source != "default" and answer.person_id != answer.actor_id:
            await self._notify(
                state,
                "decision_recorded",
                [answer.person_id],
                f"answer:{answer.person_id}",
                extra={"decision": answer.decision},
            )

    async def _audit(
        self,
        step_id: str,
        actor_id: str,
        action: str,
        comment: str | None,
        *,
        on_behalf_of: str | None = None,
        key_suffix: str | None = None,
        at: datetime | None = None,
    ) -> None:
        wf_id = workflow.info().workflow_id
        await workflow.execute_activity_method(
            RecordActivities.record_audit,
            AuditInput(
                key=f"{wf_id}:{step_id}:{key_suffix or action}",
                workflow_id=wf_id,
                step_id=step_id,
                actor_id=actor_id,
                on_behalf_of=on_behalf_of,
                action=action,
                comment=comment,
                at=at or workflow.now(),
            ),
            **ACTIVITY_OPTIONS,
        )

    async def _notify(
        self,
        state: StepState | None,
        template: str,
        recipients: list[str],
        key: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        if not recipients:
            return
        wf_id = workflow.info().workflow_id
        params = {"workflow_id": wf_id, "stage": self._stage}
        if state is not None:
            params |= {
                "step_id": state.spec.step_id,
                "step_title": state.spec.title,
                "due_at": state.spec.due_at.strftime("%Y-%m-%d %H:%M UTC"),
                "allowed": ", ".join(state.spec.allowed),
            }
        params |= extra or {}
        step = state.spec.step_id if state else "process"
        await workflow.execute_activity_method(
            NotificationActivities.notify,
            NotifyInput(
                key=f"{wf_id}:{step}:{template}:{key}",
                workflow_id=wf_id,
                recipient_ids=sorted(set(recipients)),
                template=template,
                params=params,
            ),
            **ACTIVITY_OPTIONS,
        )

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        self._refresh_visibility()

    def _open_steps(self) -> list[StepState]:
        return [s for s in self._steps.values() if not s.closed]

    def _refresh_visibility(self) -> None:
        """Keeps ``HrStage``, ``HrPendingApprovers``, ``HrDueAt`` and the UI details current."""
        open_steps = self._open_steps()
        waiting = sorted({p for s in open_steps for p in pending(s.spec, s.answers)})
        due = min((s.spec.due_at for s in open_steps), default=None)
        wanted: dict[str, object] = {"stage": self._stage, "pending": waiting, "due": due}
        if wanted != self._visible:
            updates: list[SearchAttributeUpdate[Any]] = [HR_STAGE.value_set(self._stage)]
            updates.append(
                HR_PENDING_APPROVERS.value_set(waiting) if waiting else HR_PENDING_APPROVERS.value_unset()
            )
            updates.append(HR_DUE_AT.value_set(due) if due else HR_DUE_AT.value_unset())
            workflow.upsert_search_attributes(updates)
            self._visible = wanted
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        """Markdown for the UI's "current details"; ids and codes only."""
        lines = [f"**Stage:** {self._stage}"]
        for state in self._open_steps():
            waiting = pending(state.spec, state.answers)
            lines.append(
                f"- {state.spec.step_id} ({state.spec.title}): waiting for "
                f"{', '.join(waiting) or 'nobody'}; due {state.spec.due_at:%Y-%m-%d}"
            )
        return "\n".join(lines)

    def _snapshot(self, state: StepState) -> StepSnapshot:
        return StepSnapshot(
            step_id=state.spec.step_id,
            title=state.spec.title,
            allowed=state.spec.allowed,
            due_at=state.spec.due_at,
            pending=pending(state.spec, state.answers),
            answers=list(state.answers.values()),
            closed=state.closed,
        )
