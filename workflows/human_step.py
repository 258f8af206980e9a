"""The human step, shared by every process: wait for named people, with reminders and escalation.

A workflow class inherits ``HumanSteps``, builds each wait with ``self._step(...)`` and calls
``await self.run_step(spec)``. Every answer goes through one check (``_checked``): the generic
decision (``decide``, an Update refused at once with a reason, or the same as a plain signal)
and a process's dedicated Updates (an offer, scores, a background check) alike. A step names
the one way it is answered (``StepSpec.answer_with``); any other way is refused with a reason
that names the right command, and nothing else closes it.

The class also brings ``extend_due`` (HR moves a due date, with a reason) and ``withdraw`` (HR
ends the process). While a step is open the workflow keeps ``HrPendingApprovers`` and
``HrDueAt`` current. Records are keyed by the run (``run_key``): a later run of the same
workflow id writes rows of its own.

A class that sets ``COALESCED`` (the review) costs less history per step (issue 13), each behind
its patch: visibility is written once where the workflow task may end (``_flush_visibility``:
before a wait for people, a timer or an activity, and as a handler ends), so a task carries at
most one search-attribute upsert (``ONE_UPSERT``); and a step's audit rows and notices of one
moment (with the delegations as it opens) are one local activity, ``record_step``
(``STEP_RECORDS``): a marker in the task that asked for it rather than three events and a task
of its own, and an answer's Update completes in the task that accepted it. Local, not one
regular activity, because these are a few rows in one short transaction, every row keyed by
run, step and event, so an attempt lost with its worker is simply run again; notices to many
people (applicants) keep their own heartbeating activities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from activities.notifications import NotificationActivities
    from activities.records import RecordActivities
    from schemas.credentials import Credential, CredentialRefused
    from schemas.decision_details import DecisionDetails
    from schemas.human_step import (
        DECIDE,
        MAX_EXTENSION,
        Answer,
        AnswerWay,
        AuditInput,
        DecisionInput,
        DecisionReceipt,
        DelegationQuery,
        DuePolicy,
        ExtendDueInput,
        NotifyInput,
        Participant,
        StepRecords,
        StepRecordsWritten,
        StepSnapshot,
        StepSpec,
        StepState,
        WithdrawInput,
    )
    from schemas.limits import read_argument
    from schemas.search_attributes import (
        HR_ACTION_TYPE,
        HR_DEPARTMENT,
        HR_DUE_AT,
        HR_EMPLOYEE_ID,
        HR_PENDING_APPROVERS,
        HR_STAGE,
    )

from workflows import observability
from workflows.credentials import call_credential, current_token_id
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
    check_answer,
    check_signer,
    escalation_targets,
    is_complete,
    pending,
    require_staff,
    select_step,
)

SYSTEM_ACTOR = "system"
ACTIVITY_OPTIONS: dict[str, Any] = {
    # A single read or write takes milliseconds; an attempt lost with a crashed worker is
    # retried after this timeout, so it is seconds, not a minute (bench/recovery.py).
    "start_to_close_timeout": timedelta(seconds=10),
    # Unbounded retries (idempotent writes), 1 s after the first failure, at most 30 s apart.
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
    # Activities here are short, synchronous, idempotent writes that cannot be interrupted
    # half-way; when a process is cancelled they finish on their own and no cancel request is
    # sent for them (the time-skipping test server also mishandles such requests).
    "cancellation_type": ActivityCancellationType.ABANDON,
}
NOTICE_OPTIONS: dict[str, Any] = {
    # A notice is queued in the outbox only (the mailer sends it apart), but it may go to every
    # applicant: the activity heartbeats every chunk of rows, so an attempt lost with its worker
    # is retried after the heartbeat timeout, however long the whole notice may take.
    "start_to_close_timeout": timedelta(minutes=5),
    "heartbeat_timeout": timedelta(seconds=10),
}
BULK_OPTIONS: dict[str, Any] = {
    # Writes of one row per applicant, candidate or score (an import of thousands): heartbeats
    # every chunk, as for notices, with room for the whole batch.
    "start_to_close_timeout": timedelta(minutes=15),
    "heartbeat_timeout": timedelta(seconds=10),
}
REASSIGNED = "reassigned"
ONE_UPSERT = "one-upsert-per-task"
"""``workflow.patched`` id: visibility (search attributes, details) is written once, where the
workflow task ends, not at every change (a class with ``COALESCED``)."""
STEP_RECORDS = "step-records-in-one"
"""``workflow.patched`` id: a step's audit rows and notices of one moment (and the delegations
as it opens) are one local activity, ``record_step`` (a class with ``COALESCED``)."""

D = TypeVar("D")


def refused(message: str) -> ApplicationError:
    """An input a workflow refuses: the one-line reason, never retried."""
    return ApplicationError(message, type="InputRefused", non_retryable=True)


def run_key(*parts: str) -> str:
    """A record key: the workflow id, its run (the first execution run id, which survives
    continue-as-new) and the step and event, so a later run of the same id writes its own rows."""
    info = workflow.info()
    return ":".join((info.workflow_id, info.first_execution_run_id, *parts))


async def run_activity(method: Callable[..., Any], arg: Any, **options: Any) -> Any:
    """Runs an activity method with the service's options (``options`` override them)."""
    summary = {"summary": observability.activity_summary(method, arg)}  # the UI's timeline label
    return await workflow.execute_activity_method(method, arg, **(summary | ACTIVITY_OPTIONS | options))


def audit_row(
    step_id: str,
    actor_id: str,
    action: str,
    comment: str | None,
    *,
    on_behalf_of: str | None = None,
    event: str | None = None,
    at: datetime | None = None,
    token_id: str | None = None,
) -> AuditInput:
    """One audit row, keyed by run, step and ``event`` (the action when not given); it records
    ``token_id``, else the credential of the Update or signal being handled, if any."""
    info = workflow.info()
    return AuditInput(
        key=run_key(step_id, event or action),
        workflow_id=info.workflow_id,
        run_id=info.first_execution_run_id,
        step_id=step_id,
        actor_id=actor_id,
        on_behalf_of=on_behalf_of,
        action=action,
        comment=comment,
        at=at or workflow.now(),
        token_id=token_id or current_token_id(),
    )


async def audit(
    step_id: str,
    actor_id: str,
    action: str,
    comment: str | None,
    *,
    on_behalf_of: str | None = None,
    event: str | None = None,
    at: datetime | None = None,
    token_id: str | None = None,
) -> None:
    """Writes one audit row (``audit_row``)."""
    await run_activity(
        RecordActivities.record_audit,
        audit_row(
            step_id,
            actor_id,
            action,
            comment,
            on_behalf_of=on_behalf_of,
            event=event,
            at=at,
            token_id=token_id,
        ),
    )


def require_hr(staff: Iterable[str], actor_id: str, what: str) -> None:
    """Refuses (an Update's ``ApplicationError``) anyone who is not HR staff, and a command
    whose credential does not name ``actor_id`` (``signed_by``)."""
    try:
        require_staff(set(staff), actor_id, what)
    except DecisionRefused as err:
        raise refused(str(err)) from None
    signed_by(actor_id)


def signed_by(actor_id: str) -> Credential | None:
    """Refuses a command whose credential is missing, not good, or names someone else than
    ``actor_id`` (None: a run recorded before signed answers)."""
    try:
        credential = call_credential()
    except CredentialRefused as err:
        raise refused(str(err)) from None
    if credential is not None and credential.person_id != actor_id:
        raise refused(f"the credential names {credential.person_id}, not {actor_id}")
    return credential


def update_arg(model: type[D], args: tuple[Any, ...]) -> D:
    """An Update's one argument read as ``model``; refused with the reason (never the input).

    Update handlers and validators take ``*args`` and read their argument here, so a payload of
    any shape or arity is refused with a one-line reason rather than the SDK's bare "Failed
    decoding arguments" or a ``TypeError``.
    """
    try:
        return read_argument(model, args)
    except ValueError as err:
        raise refused(str(err)) from None


def read_signal_or_log(model: type[D], args: tuple[Any, ...], name: str) -> D | None:
    """A signal's argument read as ``model``; None (logged, the reason only) when it cannot be."""
    try:
        return read_argument(model, args)
    except ValueError as err:
        workflow.logger.warning("signal %s dropped: %s", name, err)
        return None


def details_of(answer: Answer, kind: type[D]) -> D:
    """An answer's details as the payload its step asked for (checked when it was accepted)."""
    if not isinstance(answer.details, kind):
        raise TypeError(f"{answer.decision!r} by {answer.person_id} carries no {kind.__name__}")
    return answer.details


class Withdrawn(Exception):
    """Raised out of ``run_step`` when HR withdrew the process while the step was open."""


class HumanSteps:
    """Base class of a workflow with human steps. Call ``_init_steps`` from ``__init__``."""

    COALESCED = False
    """True: under the patches ``ONE_UPSERT`` and ``STEP_RECORDS``, at most one search-attribute
    upsert per workflow task and one local activity per step moment. Only a process whose every
    long wait goes through ``run_step``, ``run_activity`` or ``_flush_visibility`` sets it."""

    def _init_steps(self, hr_staff: set[str] | None = None) -> None:
        self._steps: dict[str, StepState] = {}
        self._stage = "started"
        self._hr_staff: set[str] = set(hr_staff or ())
        self._withdrawal: WithdrawInput | None = None
        self._visible: dict[str, object] = {}
        self._visibility_due = False
        self._attributes_due: dict[str, SearchAttributeUpdate[Any]] = {}
        self._records_running = 0

    # ----- the generic decision -----------------------------------------------------------------

    @workflow.update(name=DECIDE)
    async def decide(self, *args: Any) -> DecisionReceipt:
        """Records a decision sent by ``hr decide``; the validator has already checked it."""
        inp = update_arg(DecisionInput, args)
        state, answer = self._accept(DECIDE, inp, source="update")
        try:
            await self._record_answer(state, answer)
        finally:
            self._flush_visibility()
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
    def _validate_decide(self, *args: Any) -> None:
        inp = update_arg(DecisionInput, args)
        self._checked(DECIDE, inp)

    @workflow.signal(name=DECIDE)
    async def decide_signal(self, *args: Any) -> None:
        """The same decision as a plain signal, of any shape: one that cannot be read or is
        refused is logged (the reason, never the input) and changes nothing."""
        inp = read_signal_or_log(DecisionInput, args, DECIDE)
        if inp is None:
            return
        try:
            state, answer = self._accept(DECIDE, inp, source="signal")
        except ApplicationError as err:
            workflow.logger.warning("decision refused: %s", err.message)
            return
        try:
            await self._record_answer(state, answer)
        finally:
            self._flush_visibility()

    # ----- the one check, and taking an answer ---------------------------------------------------

    def _checked(self, way: str, inp: DecisionInput) -> tuple[StepState, str, DecisionDetails | None]:
        """The step an answer sent by ``way`` is for, the participant and the typed details.

        The one check of every answer (right step, right way, right person, well-formed), plus
        the process's own (``_check_answer_extra``). Raises ``refused(...)``.
        """
        try:
            credential = call_credential()
            state = select_step(self._steps, inp, way)
            person_id, details = check_answer(state, inp, way)
            if credential is not None:
                check_signer(state, inp, person_id, credential)
            self._check_answer_extra(state, inp, details)
        except (DecisionRefused, CredentialRefused) as err:
            observability.decision_refused(str(err))  # a metric: skipped on replay
            raise refused(str(err)) from None
        return state, person_id, details

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        """A process's own checks of an answer (raise ``DecisionRefused``); none by default."""

    def _accept(self, way: str, inp: DecisionInput, source: str = "update") -> tuple[StepState, Answer]:
        """Checks an answer again and takes it into workflow state, before any await.

        A validator and its handler can be a moment apart (another answer in the same
        activation), so a handler checks again; a refusal then fails only this Update.
        """
        state, person_id, details = self._checked(way, inp)
        return state, self._take(state, person_id, inp, details, source)

    def _take(
        self,
        state: StepState,
        person_id: str,
        inp: DecisionInput,
        details: DecisionDetails | None = None,
        source: str = "update",
    ) -> Answer:
        """Takes an answer ``_checked`` has passed into the step (a dedicated Update whose input
        comes in parts, such as scores, takes it once the last part is in). The actor on record
        is the person the credential names (a delegate signing for the actor named)."""
        try:
            credential = call_credential()
        except CredentialRefused:
            credential = None  # not in a handler (a default, a part-by-part answer): as checked
        answer = Answer(
            person_id=person_id,
            actor_id=credential.person_id if credential else inp.actor_id,
            token_id=credential.token_id if credential else None,
            decision=inp.decision,
            comment=inp.comment,
            details=details,
            at=workflow.now(),
            source=source,  # type: ignore[arg-type]
        )
        state.answers[person_id] = answer
        self._refresh_visibility()
        return answer

    # ----- HR's commands on any process -----------------------------------------------------------

    @workflow.update
    async def extend_due(self, *args: Any) -> StepSnapshot:
        """HR moves an open step's due date; reminders and escalation follow the new date."""
        inp = update_arg(ExtendDueInput, args)
        state = self._steps[inp.step_id]
        state.spec.due_at = inp.new_due_at
        now = workflow.now()
        for event in self._events(state):
            if event.at <= now and event.key not in state.fired:
                state.fired.append(event.key)
        state.revision += 1
        self._refresh_visibility()
        row = audit_row(
            state.spec.step_id, inp.actor_id, "due_extended", inp.reason, event=f"extend:{state.revision}"
        )
        try:
            if self._one_step_record():
                await self._record_step(StepRecords(audits=[row]))
            else:
                await run_activity(RecordActivities.record_audit, row)
        finally:
            self._flush_visibility()
        return self._snapshot(state)

    @extend_due.validator
    def _validate_extend_due(self, *args: Any) -> None:
        inp = update_arg(ExtendDueInput, args)
        self._require_hr(inp.actor_id, "extend a due date")
        state = self._steps.get(inp.step_id)
        if state is None:
            raise refused(f"unknown step {inp.step_id!r}")
        if state.closed:
            raise refused(f"step {inp.step_id} is closed")
        if inp.new_due_at <= workflow.now():
            raise refused("the new due date must be in the future")
        if inp.new_due_at > workflow.now() + MAX_EXTENSION:
            raise refused(f"the new due date must be within {MAX_EXTENSION.days} days from now")
        if not inp.reason.strip():
            raise refused("a reason is required")

    @workflow.update
    async def withdraw(self, *args: Any) -> str:
        """HR ends the process; the open step closes and the outcome is recorded as withdrawn."""
        inp = update_arg(WithdrawInput, args)
        self._withdrawal = inp
        row = audit_row("process", inp.actor_id, "withdrawn", inp.reason, event="withdraw")
        try:
            if self._one_step_record():
                await self._record_step(StepRecords(audits=[row]))
            else:
                await run_activity(RecordActivities.record_audit, row)
        finally:
            self._flush_visibility()
        return "withdrawn"

    @withdraw.validator
    def _validate_withdraw(self, *args: Any) -> None:
        inp = update_arg(WithdrawInput, args)
        self._require_hr(inp.actor_id, "withdraw this process")
        if self._withdrawal is not None or self._finished():
            raise refused("the process has already ended")
        if not inp.reason.strip():
            raise refused("a reason is required")

    def _require_hr(self, actor_id: str, what: str) -> None:
        require_hr(self._hr_staff, actor_id, what)

    def _finished(self) -> bool:
        """Overridden by processes that know when they are over."""
        return False

    def _check_reassign(
        self, step_id: str, from_id: str, to_id: str, actor_id: str, reason: str
    ) -> StepState:
        """HR may hand a participant's part of an open step to someone else, with a reason."""
        self._require_hr(actor_id, "reassign a step")
        state = self._steps.get(step_id)
        if state is None or state.closed:
            raise refused(f"step {step_id} is not open")
        people = [p.person_id for p in state.spec.participants]
        if from_id not in people:
            raise refused(f"{from_id} is not a participant of step {step_id}")
        if from_id not in pending(state.spec, state.answers):
            raise refused(f"{from_id} has already answered step {step_id}")
        if to_id in people:
            raise refused(f"{to_id} already takes part in step {step_id}; name someone else")
        if not reason.strip():
            raise refused("a reassignment needs a reason")
        return state

    async def _reassign(self, state: StepState, from_id: str, to_id: str, actor_id: str, reason: str) -> None:
        """Hands ``from_id``'s part of an open step to ``to_id`` (checked by ``_check_reassign``)."""
        old = next(p for p in state.spec.participants if p.person_id == from_id)
        state.spec.participants = [p for p in state.spec.participants if p.person_id != from_id]
        state.spec.participants.append(old.model_copy(update={"person_id": to_id}))
        self._refresh_visibility()
        row = audit_row(
            state.spec.step_id,
            actor_id,
            REASSIGNED,
            f"{from_id} to {to_id}: {reason}",
            event=f"reassigned:{from_id}",
        )
        if self._one_step_record():
            notice = self._notice(state, "step_opened", [to_id], f"reassigned:{to_id}")
            await self._record_step(StepRecords(audits=[row], notices=[notice]))
            return
        await run_activity(RecordActivities.record_audit, row)
        await self._notify(state, "step_opened", [to_id], f"reassigned:{to_id}")

    # ----- the step itself --------------------------------------------------------------------

    def _due_policy(self) -> DuePolicy:
        """The process's reminder and escalation policy; overridden to name its fallback."""
        return DuePolicy()

    def _step(
        self,
        step_id: str,
        title: str,
        participants: list[Participant],
        allowed: list[str],
        due_at: datetime,
        *,
        answer_with: AnswerWay | None = None,
        comment_required: Iterable[str] = (),
        details: dict[str, str] | None = None,
        mode: str = "all",
        policy: DuePolicy | None = None,
        requester_id: str | None = None,
    ) -> StepSpec:
        """A step's specification, with the process's due policy unless ``policy`` is given."""
        return StepSpec(
            step_id=step_id,
            title=title,
            participants=participants,
            allowed=allowed,
            answer_with=answer_with or AnswerWay(),
            comment_required=list(comment_required),
            details=details or {},
            mode=mode,  # type: ignore[arg-type]
            due_at=due_at,
            policy=policy or self._due_policy(),
            requester_id=requester_id,
        )

    async def run_step(self, spec: StepSpec) -> StepState:
        """Opens a step, notifies its people, and waits until it is complete.

        The delegations in force are looked up as the step opens (DESIGN section 4). Reminders,
        escalation and default answers happen on the step's schedule; a due date moved by
        ``extend_due`` reschedules them. Raises ``Withdrawn`` if HR withdrew.
        """
        query = DelegationQuery(person_ids=[p.person_id for p in spec.participants], on=workflow.now().date())
        if self._one_step_record():
            # One write: who answers for whom, the "opened" row and the invitation; the step is
            # open (and can be answered) once they are on record.
            state = StepState(spec=spec, opened_at=workflow.now())
            invited = pending(spec, state.answers)
            written = await self._record_step(
                StepRecords(
                    audits=[audit_row(spec.step_id, SYSTEM_ACTOR, "opened", spec.title)],
                    notices=[self._notice(state, "step_opened", invited, "opened")] if invited else [],
                    delegations=query,
                )
            )
            spec.delegates = written.delegates
            self._steps[spec.step_id] = state
            observability.step_opened(spec.step_id)
            self._refresh_visibility()
        else:
            spec.delegates = await run_activity(DirectoryActivities.active_delegations, query)
            state = StepState(spec=spec, opened_at=workflow.now())
            self._steps[spec.step_id] = state
            observability.step_opened(spec.step_id)
            self._refresh_visibility()
            invited = pending(spec, state.answers)  # before any await: someone may answer at once
            await asyncio.gather(
                audit(spec.step_id, SYSTEM_ACTOR, "opened", spec.title),
                self._notify(state, "step_opened", invited, "opened"),
            )
        while not self._step_done(state):
            waiting = [e for e in self._events(state) if e.key not in state.fired]
            condition = self._until_done_or_changed(state)
            self._flush_visibility()  # the task ends here: people are waited for
            if not waiting:
                await workflow.wait_condition(condition)
                continue
            event = waiting[0]
            delay = (event.at - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(
                        condition,
                        timeout=delay,
                        timeout_summary=observability.timer_summary(event.kind, spec.step_id),
                    )
                    continue
                except asyncio.TimeoutError:
                    pass
            state.fired.append(event.key)
            await self._on_event(state, event)
        state.closed = True
        observability.step_closed(spec.step_id)
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
        observability.step_event(state.spec.step_id, event.kind)
        waiting = pending(state.spec, state.answers)
        if event.kind == REMINDER:
            await self._notify(state, "reminder", waiting, event.key)
        elif event.kind == OVERDUE_REMINDER:
            await self._notify(state, "overdue", waiting, event.key)
        elif event.kind == ESCALATE:
            await self._escalate(state, waiting, event)
        elif event.kind == DEFAULT:
            await self._apply_defaults(state)

    async def _escalate(self, state: StepState, waiting: list[str], event: StepEvent) -> None:
        if self._one_step_record():
            records = StepRecords()
            for target, overdue in escalation_targets(state.spec, waiting).items():
                state.escalated_to.append(target)
                records.audits.append(
                    audit_row(
                        state.spec.step_id,
                        SYSTEM_ACTOR,
                        "escalated",
                        f"to {target}: overdue {', '.join(overdue)}",
                        event=f"escalated:{target}:{event.key}",
                    )
                )
                records.notices.append(
                    self._notice(
                        state,
                        "escalation",
                        [target],
                        f"{event.key}:{target}",
                        {"overdue": ", ".join(overdue)},
                    )
                )
            if waiting:
                records.notices.append(self._notice(state, "overdue", waiting, event.key))
            if records.audits or records.notices:
                await self._record_step(records)
            return
        for target, overdue in escalation_targets(state.spec, waiting).items():
            state.escalated_to.append(target)
            await audit(
                state.spec.step_id,
                SYSTEM_ACTOR,
                "escalated",
                f"to {target}: overdue {', '.join(overdue)}",
                event=f"escalated:{target}:{event.key}",
            )
            await self._notify(
                state, "escalation", [target], f"{event.key}:{target}", extra={"overdue": ", ".join(overdue)}
            )
        await self._notify(state, "overdue", waiting, event.key)

    async def _apply_defaults(self, state: StepState) -> None:
        """Records the default answer of each participant who has still not answered.

        Checked person by person at the moment of writing: an answer accepted while an earlier
        default was being recorded stands.
        """
        for participant in state.spec.participants:
            if participant.person_id in state.answers or not participant.default_decision:
                continue
            answer = Answer(
                person_id=participant.person_id,
                actor_id=SYSTEM_ACTOR,
                decision=participant.default_decision,
                comment="no answer by the deadline, after reminders and escalation",
                at=workflow.now(),
                source="default",
            )
            state.answers[participant.person_id] = answer
            self._refresh_visibility()
            await self._record_answer(state, answer)

    # ----- records, notifications, visibility --------------------------------------------------

    async def _record_answer(self, state: StepState, answer: Answer) -> None:
        row = audit_row(
            state.spec.step_id,
            answer.actor_id,
            answer.decision,
            answer.comment,
            on_behalf_of=answer.person_id if answer.person_id != answer.actor_id else None,
            event=f"answer:{answer.person_id}",
            at=answer.at,
            token_id=answer.token_id,
        )
        told = answer.source != "default" and answer.person_id != answer.actor_id
        if self._one_step_record():
            notices = []
            if told:
                notices.append(
                    self._notice(
                        state,
                        "decision_recorded",
                        [answer.person_id],
                        f"answer:{answer.person_id}",
                        {"decision": answer.decision},
                    )
                )
            await self._record_step(StepRecords(audits=[row], notices=notices))
            return
        await run_activity(RecordActivities.record_audit, row)
        if told:
            await self._notify(
                state,
                "decision_recorded",
                [answer.person_id],
                f"answer:{answer.person_id}",
                extra={"decision": answer.decision},
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
        if self._one_step_record():
            await self._record_step(
                StepRecords(notices=[self._notice(state, template, recipients, key, extra)])
            )
            return
        await run_activity(
            NotificationActivities.notify,
            self._notice(state, template, recipients, key, extra),
            **NOTICE_OPTIONS,
        )

    def _notice(
        self,
        state: StepState | None,
        template: str,
        recipients: list[str],
        key: str,
        extra: dict[str, str] | None = None,
    ) -> NotifyInput:
        """The notice ``_notify`` queues: keyed by run, step, template and ``key``; its parameters
        name the step, its due date, the allowed answers and the command that gives them."""
        info = workflow.info()
        params = {"workflow_id": info.workflow_id, "stage": self._stage}
        if state is not None:
            params |= {
                "step_id": state.spec.step_id,
                "step_title": state.spec.title,
                "due_at": state.spec.due_at.strftime("%Y-%m-%d %H:%M UTC"),
                "allowed": ", ".join(state.spec.allowed),
                "command": state.spec.answer_with.command,
            }
        params |= extra or {}
        step = state.spec.step_id if state else "process"
        return NotifyInput(
            key=run_key(step, template, key),
            workflow_id=info.workflow_id,
            run_id=info.first_execution_run_id,
            recipient_ids=sorted(set(recipients)),
            template=template,
            params=params,
        )

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        self._refresh_visibility()

    def _open_steps(self) -> list[StepState]:
        return [s for s in self._steps.values() if not s.closed]

    def _one_step_record(self) -> bool:
        """Whether this run writes a step's records of one moment as one local activity."""
        return self.COALESCED and workflow.patched(STEP_RECORDS)

    def _one_upsert(self) -> bool:
        """Whether this run writes visibility once per workflow task (``_flush_visibility``)."""
        return self.COALESCED and workflow.patched(ONE_UPSERT)

    async def _record_step(self, records: StepRecords) -> StepRecordsWritten:
        """Writes a step's records of one moment (``record_step``) as a local activity: one
        marker in the workflow task that asked for it, not three events and a task of its own.
        While one runs, visibility waits (``_flush_visibility``): the workflow task goes on."""
        self._records_running += 1
        try:
            written: StepRecordsWritten = await workflow.execute_local_activity_method(
                NotificationActivities.record_step,
                records,
                summary=observability.step_records_summary(records),  # the UI's timeline label
                **ACTIVITY_OPTIONS,
            )
        finally:
            self._records_running -= 1
        return written

    async def _activity(self, method: Callable[..., Any], arg: Any, **options: Any) -> Any:
        """``run_activity``, after writing visibility that changed (the task may end here)."""
        self._flush_visibility()
        return await run_activity(method, arg, **options)

    def _set_attributes(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        """Sets a process's own search attributes: at once, or with the next flush (``ONE_UPSERT``)."""
        if not self._one_upsert():
            workflow.upsert_search_attributes(updates)
            return
        for update in updates:
            self._attributes_due[update.key.name] = update
        self._visibility_due = True

    def _flush_visibility(self) -> None:
        """Writes visibility that changed, as one upsert, where the workflow task may end: before
        a wait for people, a timer or an activity, and as a handler or the run ends. While a
        local activity of this run is running the task goes on, and whoever awaits it flushes."""
        if not self._visibility_due or self._records_running:
            return
        self._visibility_due = False
        self._write_visibility()

    def _refresh_visibility(self) -> None:
        """Keeps ``HrStage``, ``HrPendingApprovers``, ``HrDueAt`` and the UI details current
        (under ``ONE_UPSERT``: marks them for ``_flush_visibility``)."""
        if self._one_upsert():
            self._visibility_due = True
            return
        self._write_visibility()

    def _write_employee_visibility(
        self, action_type: str, employee_id: str, department: str | None, *, due_of_waiting_only: bool = False
    ) -> None:
        """An employee's process (benefits enrollment, death claim): ``HrActionType``,
        ``HrEmployeeId``, ``HrDepartment`` (once known), ``HrStage``, ``HrPendingApprovers`` and
        ``HrDueAt`` in one upsert when any changed, then the UI's details (``_details``).
        ``due_of_waiting_only``: the due date of open steps that still wait for someone."""
        open_steps = self._open_steps()
        waiting = sorted({p for s in open_steps for p in pending(s.spec, s.answers)})
        due = min(
            (s.spec.due_at for s in open_steps if not due_of_waiting_only or pending(s.spec, s.answers)),
            default=None,
        )
        wanted: dict[str, object] = {
            "stage": self._stage,
            "pending": waiting,
            "due": due,
            "facts": department is not None,
        }
        if wanted != self._visible:
            updates: list[SearchAttributeUpdate[Any]] = [
                HR_ACTION_TYPE.value_set(action_type),
                HR_EMPLOYEE_ID.value_set(employee_id),
                HR_STAGE.value_set(self._stage),
                HR_PENDING_APPROVERS.value_set(waiting) if waiting else HR_PENDING_APPROVERS.value_unset(),
                HR_DUE_AT.value_set(due) if due else HR_DUE_AT.value_unset(),
            ]
            if department is not None:
                updates.append(HR_DEPARTMENT.value_set(department))
            workflow.upsert_search_attributes(updates)
            self._visible = wanted
        workflow.set_current_details(self._details())

    def _write_visibility(self) -> None:
        open_steps = self._open_steps()
        waiting = sorted({p for s in open_steps for p in pending(s.spec, s.answers)})
        due = min((s.spec.due_at for s in open_steps), default=None)
        wanted: dict[str, object] = {"stage": self._stage, "pending": waiting, "due": due}
        extra = list(self._attributes_due.values())
        self._attributes_due = {}
        if wanted != self._visible or extra:
            updates: list[SearchAttributeUpdate[Any]] = [*extra, HR_STAGE.value_set(self._stage)]
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
            answer_with=state.spec.answer_with.command,
            due_at=state.spec.due_at,
            pending=pending(state.spec, state.answers),
            answers=list(state.answers.values()),
            closed=state.closed,
        )
