"""A new employee's onboarding, then their probation (DESIGN section 5; seeds 000, 004).

Started by a recruitment's hire (which does not wait for it) or by HR for a direct appointment
(``hr onboarding start``). The tasks that depend on no other open together as human steps, each
owned by a role or a person with a due date counted from the start date: the payroll appointment
(payroll), four IT work orders (the IT service desk: account, desktop, voice and data, phone
number and directory entry), the new-employee and benefits orientations (HR schedules each, the
employee is told the date; the attendance, confirmed by HR, opens once the date is set), the
policy acknowledgements (the employee) and, where the position needs one, the driver's licence
check (HR). One of a role's members completes a task (``hr onboarding done``); anyone else is
refused by the shared check. A task done after its due date is recorded late; HR may re-open a
done task with a reason (``reopen_task``). Reminders and escalation follow the human step's
policy, with one timer for all the tasks.

Then the onboarding starts ``Probation`` (``probation-<employee>-<start yyyymmdd>``) and waits
for it; its outcome (``permanent`` or ``released``) is the onboarding's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
    is_cancelled_exception,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from schemas import onboarding as ob
    from schemas.benefits import BENEFITS_WORKFLOW, NEW_HIRE, EnrollmentInput, enrollment_workflow_id
    from schemas.decision_details import DecisionDetails, OrientationDate
    from schemas.employment import (
        ON_PROBATION,
        PROBATION_WORKFLOW,
        EmployeeFacts,
        OnboardingInput,
        ProbationInput,
        probation_workflow_id,
    )
    from schemas.human_step import (
        Answer,
        AnswerWay,
        DecisionInput,
        DelegationQuery,
        Participant,
        StepSpec,
        StepState,
    )

from workflows.employment_steps import EmploymentSteps
from workflows.human_step import SYSTEM_ACTOR, Withdrawn, audit_row, details_of, refused, run_key, update_arg
from workflows.rules import onboarding as rules
from workflows.rules.deadlines import StepEvent
from workflows.rules.human_step import DecisionRefused, is_complete

DONE_COMMAND = "hr onboarding done"
SCHEDULED_DATE_KIND = "orientation_date"
BENEFITS_PATCH = "onboarding-starts-new-hire-benefits-enrollment"
"""Runs started before this change replay without the new-hire enrollment (issue 10)."""
ORIENTATION_NAMES = {ob.ORIENTATION: "new-employee orientation", ob.BENEFITS: "benefits orientation"}


@workflow.defn(name="Onboarding")
class Onboarding(EmploymentSteps):
    ACTION_TYPE = "onboarding"

    @workflow.init
    def __init__(self, inp: OnboardingInput) -> None:
        self._inp = inp
        self._init_employment(inp.employee_id)
        self._stage = ob.TASKS
        self._templates: dict[str, rules.TaskTemplate] = {}
        self._tasks: dict[str, ob.TaskView] = {}
        self._scheduled: dict[str, Any] = {}
        """Orientation task -> the date HR scheduled (a ``date``)."""
        self._probation: ob.ProbationLink | None = None
        self._outcome: str | None = None

    @workflow.run
    async def run(self, inp: OnboardingInput) -> ob.OnboardingResult:
        watcher: asyncio.Future[None] | None = None
        try:
            facts = await self._resolve(inp.requested_by, "onboarding")
            templates = rules.onboarding_tasks(facts.requires_driver_license)
            self._templates = {t.task: t for t in templates}
            self._tasks = {t.task: self._waiting(t, facts) for t in templates}
            await self._open(rules.first_tasks(templates), base=inp.starts_on)
            if workflow.patched(BENEFITS_PATCH):
                await self._start_benefits_enrollment()
            watcher = asyncio.ensure_future(self._watch_due_dates())
            await self._until(self._all_done)
            self._set_stage(ob.PROBATION)
            self._outcome = await self._serve_probation()
            if self._outcome == ob.PERMANENT:
                await self._until(self._all_done)  # tasks HR re-opened during the probation
            else:
                await self._close_unfinished(f"the probation ended {self._outcome}")
        except Withdrawn:
            self._outcome = ob.WITHDRAWN
            await self._close_unfinished("the onboarding was withdrawn")
        except (asyncio.CancelledError, ActivityError, ChildWorkflowError) as err:
            if not is_cancelled_exception(err):
                raise
            self._outcome = ob.CANCELLED
            self._set_stage(ob.CANCELLED)
            await self._close_unfinished("the onboarding was cancelled")
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
        self._set_stage(self._outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        views = list(self._tasks.values())
        return ob.OnboardingResult(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            outcome=self._outcome,
            tasks_done=sum(1 for v in views if v.state == ob.COMPLETED),
            tasks_late=[v.task for v in views if v.late],
            tasks_reopened=[v.task for v in views if v.times_reopened],
            probation_workflow_id=self._probation.workflow_id if self._probation else None,
        )

    @workflow.query
    def status(self) -> ob.OnboardingStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        facts = self._facts
        return ob.OnboardingStatus(
            workflow_id=workflow.info().workflow_id,
            employee_id=self._inp.employee_id,
            starts_on=self._inp.starts_on,
            requested_by=self._inp.requested_by,
            stage=self._stage,
            department_code=facts.department_code if facts else None,
            class_code=facts.class_code if facts else None,
            position_id=facts.position_id if facts else None,
            supervisor_id=facts.supervisor_id if facts else None,
            tasks=list(self._tasks.values()),
            probation=self._probation,
            outcome=self._outcome,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _finished(self) -> bool:
        return self._outcome is not None

    # ----- the tasks ---------------------------------------------------------------------------

    def _owner_ids(self, owner: str, facts: EmployeeFacts) -> list[str]:
        if owner == ob.PAYROLL_ROLE:
            return list(facts.payroll_ids)
        if owner == ob.IT_SERVICE_DESK_ROLE:
            return list(facts.it_service_desk_ids)
        if owner == ob.EMPLOYEE_OWNER:
            return [facts.employee_id]
        return list(dict.fromkeys([self._inp.requested_by, facts.hr_supervisor_id]))

    def _participants(self, owner: str) -> list[Participant]:
        facts = self._require_facts()
        if owner == ob.EMPLOYEE_OWNER:
            boss = facts.supervisor_id or facts.hr_supervisor_id
            return [Participant(person_id=facts.employee_id, role="employee", escalate_to=boss)]
        role = {ob.HR_OWNER: "hr"}.get(owner, owner)
        return [
            Participant(person_id=p, role="hr_supervisor" if p == facts.hr_supervisor_id else role)
            for p in self._owner_ids(owner, facts)
        ]

    def _waiting(self, t: rules.TaskTemplate, facts: EmployeeFacts) -> ob.TaskView:
        return ob.TaskView(
            task=t.task,
            title=t.title,
            owner=t.owner,
            owner_ids=self._owner_ids(t.owner, facts),
            decision=t.decision,
            due_at=None,
            state=ob.WAITING,
            work_order=t.work_order,
        )

    def _task_spec(self, t: rules.TaskTemplate, step_id: str, due_at: Any) -> StepSpec:
        return self._step(
            step_id,
            t.title,
            self._participants(t.owner),
            [t.decision],
            due_at,
            answer_with=AnswerWay(command=DONE_COMMAND),
            details={t.decision: t.details} if t.details else None,
            mode="any",
        )

    def _task_row(self, view: ob.TaskView) -> ob.TaskRecord:
        assert view.due_at is not None
        return ob.TaskRecord(
            key=run_key(view.task, "task"),
            task=view.task,
            owner=view.owner,
            due_at=view.due_at,
            status=view.state,
            completed_by=view.completed_by,
            completed_at=view.completed_at,
            late=view.late,
            times_reopened=view.times_reopened,
            detail=view.detail,
        )

    def _work_order_row(self, view: ob.TaskView, opened_at: Any) -> ob.WorkOrderRecord:
        assert view.work_order is not None
        done = view.state == ob.COMPLETED
        return ob.WorkOrderRecord(
            key=run_key(view.task, "work-order"),
            kind=view.work_order,
            status="done" if done else "open",
            opened_at=opened_at,
            done_at=view.completed_at if done else None,
            done_by=view.completed_by if done else None,
            note=view.detail if done else None,
        )

    async def _open(
        self,
        templates: list[rules.TaskTemplate],
        *,
        base: Any,
        records: dict[str, Any] | None = None,
        due_at: Any = None,
    ) -> None:
        """Opens the tasks' steps together: their rows, work orders, audit rows and notices in
        one write, which also looks up the delegations in force; ``records`` are written with them."""
        now = workflow.now()
        parts: dict[str, Any] = {"tasks": [], "work_orders": [], "audits": [], "notices": []}
        for key, value in (records or {}).items():
            if isinstance(value, list):
                parts.setdefault(key, []).extend(value)
            else:
                parts[key] = value
        states: list[StepState] = []
        for t in templates:
            view = self._tasks[t.task]
            round_ = view.times_reopened + 1
            due = due_at or rules.task_due_at(base, t.due_days, now)
            spec = self._task_spec(t, rules.step_id_for(t.task, round_), due)
            state = StepState(spec=spec, opened_at=now)
            view.step_id, view.due_at = spec.step_id, due
            view.state = ob.REOPENED if view.times_reopened else ob.OPEN
            view.completed_by = view.completed_at = view.detail = None
            view.late = False
            parts["tasks"].append(self._task_row(view))
            if view.work_order:
                parts["work_orders"].append(self._work_order_row(view, now))
            parts["audits"].append(audit_row(spec.step_id, SYSTEM_ACTOR, "opened", spec.title))
            invited = [p.person_id for p in spec.participants]
            parts["notices"].append(self._notice(state, "step_opened", invited, "opened"))
            states.append(state)
        people = sorted({p.person_id for s in states for p in s.spec.participants})
        written = await self._write(
            self._records(**parts, delegations=DelegationQuery(person_ids=people, on=now.date()))
        )
        for state in states:
            state.spec.delegates = {
                d: sorted(set(of) & {p.person_id for p in state.spec.participants})
                for d, of in written.delegates.items()
                if set(of) & {p.person_id for p in state.spec.participants}
            }
            self._steps[state.spec.step_id] = state
        self._refresh_visibility()

    def _task_of(self, state: StepState) -> ob.TaskView | None:
        view = self._tasks.get(state.spec.step_id.split(".")[0])
        return view if view is not None and view.step_id == state.spec.step_id else None

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        """An orientation date not in the past nor too late; attendance from that date on."""
        view = self._task_of(state)
        if view is None:
            return
        today = workflow.now().date()
        if isinstance(details, OrientationDate):
            problem = rules.orientation_date_problem(details.on, today, self._inp.starts_on)
            if problem:
                raise DecisionRefused(problem)
        after = self._templates[view.task].after
        if after is not None and (on := self._scheduled.get(after)) is not None:
            problem = rules.attendance_problem(today, on)
            if problem:
                raise DecisionRefused(problem)

    async def _record_answer(self, state: StepState, answer: Answer) -> None:
        """A task's answer: the task done (late if after its due date), its work order done, the
        audit rows, the payroll appointment's records, the employee told an orientation's date,
        and the tasks that follow opened, in one write."""
        view = self._task_of(state)
        if view is None:
            await super()._record_answer(state, answer)
            return
        template = self._templates[view.task]
        facts = self._require_facts()
        view.due_at = state.spec.due_at  # HR may have moved it (extend_due)
        late = rules.is_late(answer.at, state.spec.due_at)
        detail = answer.comment
        notices = []
        if template.details == SCHEDULED_DATE_KIND:
            on = details_of(answer, OrientationDate).on
            self._scheduled[view.task] = on
            detail = on.isoformat()
            notices.append(
                self._notice(
                    state,
                    "orientation_scheduled",
                    [facts.employee_id],
                    f"scheduled:{on.isoformat()}",
                    {
                        "orientation": ORIENTATION_NAMES[view.task],
                        "on": on.isoformat(),
                        "starts_on": self._inp.starts_on.isoformat(),
                    },
                )
            )
        done = view.model_copy(
            update={
                "state": ob.COMPLETED,
                "completed_by": answer.actor_id,
                "completed_at": answer.at,
                "late": late,
                "detail": detail,
            }
        )
        on_behalf = answer.person_id if answer.person_id != answer.actor_id else None
        audits = [
            audit_row(
                state.spec.step_id,
                answer.actor_id,
                answer.decision,
                answer.comment,
                event=f"answer:{answer.person_id}",
                on_behalf_of=on_behalf,
                at=answer.at,
            )
        ]
        if late:
            audits.append(
                audit_row(
                    state.spec.step_id,
                    SYSTEM_ACTOR,
                    "done_late",
                    f"due {state.spec.due_at:%Y-%m-%d %H:%M} UTC, done {answer.at:%Y-%m-%d %H:%M} UTC",
                    at=answer.at,
                )
            )
        if on_behalf:
            notices.append(
                self._notice(
                    state,
                    "decision_recorded",
                    [answer.person_id],
                    f"answer:{answer.person_id}",
                    {"decision": answer.decision},
                )
            )
        records: dict[str, Any] = {"tasks": [self._task_row(done)], "audits": audits, "notices": notices}
        if done.work_order:
            records["work_orders"] = [self._work_order_row(done, state.opened_at)]
        if view.task == ob.PAYROLL:
            records |= self._appointment(answer)
        follow = rules.follow_ups(list(self._templates.values()), view.task)
        follow = [t for t in follow if self._tasks[t.task].state == ob.WAITING]
        if follow:
            await self._open(follow, base=self._scheduled[view.task], records=records)
        else:
            await self._write(self._records(**records))
        self._tasks[view.task] = done
        state.closed = True
        self._refresh_visibility()

    def _appointment(self, answer: Answer) -> dict[str, Any]:
        """Payroll entered the appointment: the payroll change, the history's ``appointed`` event
        (effective on the start date) and the employee's status: on probation."""
        facts = self._require_facts()
        return {
            "payroll": [
                ob.PayrollRecord(
                    key=run_key(ob.PAYROLL, "payroll-change"),
                    kind="appointment",
                    effective_on=self._inp.starts_on,
                    class_code=facts.class_code,
                    position_id=facts.position_id,
                    details={"source": self._inp.source or "direct appointment"},
                    at=answer.at,
                )
            ],
            "events": [
                ob.EventRecord(
                    key=run_key(ob.PAYROLL, "appointed"),
                    kind="appointed",
                    effective_on=self._inp.starts_on,
                    class_code=facts.class_code,
                    position_id=facts.position_id,
                    comment=answer.comment,
                    recorded_by=answer.actor_id,
                    at=answer.at,
                )
            ],
            "employment_status": ON_PROBATION,
        }

    def _all_done(self) -> bool:
        return all(v.state == ob.COMPLETED for v in self._tasks.values())

    async def _until(self, condition: Any) -> None:
        await workflow.wait_condition(lambda: condition() or self._withdrawal is not None)
        if self._withdrawal is not None:
            raise Withdrawn()

    async def _close_unfinished(self, why: str) -> None:
        """Tasks still open when the onboarding ends are closed and recorded as such."""
        unfinished = [v for v in self._tasks.values() if v.state in (ob.OPEN, ob.REOPENED)]
        if not unfinished:
            return
        rows, audits = [], []
        for view in unfinished:
            view.state = ob.CLOSED_UNFINISHED
            if view.step_id in self._steps:
                self._steps[view.step_id].closed = True
            rows.append(self._task_row(view))
            audits.append(audit_row(view.step_id or view.task, SYSTEM_ACTOR, "closed_unfinished", why))
        self._refresh_visibility()
        await self._write(self._records(tasks=rows, audits=audits))

    # ----- HR re-opens a task ------------------------------------------------------------------

    @workflow.update(name=ob.REOPEN_TASK)
    async def reopen_task(self, *args: Any) -> ob.TaskView:
        """HR re-opens a done task with a reason: a new round of its step, owned as before."""
        inp = update_arg(ob.ReopenTaskInput, args)
        self._check_reopen(inp)
        view = self._tasks[inp.task]
        template = self._templates[inp.task]
        now = workflow.now()
        view.times_reopened += 1
        view.state = ob.REOPENED  # before any await: a second re-opening is refused
        step_id = rules.step_id_for(inp.task, view.times_reopened + 1)
        reopened = audit_row(step_id, inp.actor_id, "reopened", inp.reason, at=now)
        await self._open(
            [template],
            base=self._inp.starts_on,
            records={"audits": [reopened]},
            due_at=rules.reopened_due_at(now, inp.due_on),
        )
        return self._tasks[inp.task]

    @reopen_task.validator
    def _validate_reopen(self, *args: Any) -> None:
        self._check_reopen(update_arg(ob.ReopenTaskInput, args))

    def _check_reopen(self, inp: ob.ReopenTaskInput) -> None:
        self._require_hr(inp.actor_id, "re-open a task")
        if self._outcome is not None or self._withdrawal is not None:
            raise refused("the onboarding has ended")
        view = self._tasks.get(inp.task)
        if view is None:
            raise refused(f"unknown task {inp.task!r} (tasks: {', '.join(self._tasks)})")
        if view.state != ob.COMPLETED:
            raise refused(f"task {inp.task} is {view.state}, not done; only a done task can be re-opened")
        if not inp.reason.strip():
            raise refused("a re-opening needs a reason")
        if inp.due_on is not None:
            due = rules.end_of_day(inp.due_on)
            if due <= workflow.now():
                raise refused("the new due date must be in the future")

    # ----- the clock: one timer for all the tasks ----------------------------------------------

    def _schedule_version(self) -> tuple[int, int]:
        """Changes when a step opens or HR moves a due date, not when one is answered."""
        return len(self._steps), sum(s.revision for s in self._steps.values())

    def _nothing_due(self) -> bool:
        return all(s.closed or is_complete(s.spec, s.answers) for s in self._steps.values())

    async def _watch_due_dates(self) -> None:
        """Reminders and escalation of every open task, on one timer at a time."""
        while True:
            version = self._schedule_version()

            def changed(version: tuple[int, int] = version) -> bool:
                return self._schedule_version() != version

            upcoming: list[tuple[StepEvent, StepState]] = [
                (e, s)
                for s in self._open_steps()
                if not is_complete(s.spec, s.answers)
                for e in self._events(s)
                if e.key not in s.fired
            ]
            if not upcoming:
                await workflow.wait_condition(changed)
                continue
            event, state = min(upcoming, key=lambda es: (es[0].at, es[1].spec.step_id))
            delay = (event.at - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(lambda: changed() or self._nothing_due(), timeout=delay)
                    continue
                except asyncio.TimeoutError:
                    pass
            state.fired.append(event.key)
            if not state.closed and not is_complete(state.spec, state.answers):
                await self._on_event(state, event)

    # ----- benefits ----------------------------------------------------------------------------

    async def _start_benefits_enrollment(self) -> None:
        """The new-hire benefits enrollment, a child workflow the onboarding does not wait for
        (its window runs from the start date; it outlives the onboarding if need be)."""
        inp = self._inp
        try:
            await workflow.start_child_workflow(
                BENEFITS_WORKFLOW,
                EnrollmentInput(
                    employee_id=inp.employee_id,
                    event=NEW_HIRE,
                    event_on=inp.starts_on,
                    requested_by=inp.requested_by,
                ),
                id=enrollment_workflow_id(inp.employee_id, NEW_HIRE, inp.starts_on),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"New-hire benefits enrollment of {inp.employee_id} from {inp.starts_on}",
            )
        except WorkflowAlreadyStartedError:
            pass

    # ----- probation ---------------------------------------------------------------------------

    async def _serve_probation(self) -> str:
        """Starts the probation and waits for its outcome (HR withdrawing the onboarding cancels it)."""
        inp = self._inp
        workflow_id = probation_workflow_id(inp.employee_id, inp.starts_on)
        self._probation = ob.ProbationLink(workflow_id=workflow_id)
        self._refresh_visibility()
        handle = await workflow.start_child_workflow(
            PROBATION_WORKFLOW,
            ProbationInput(
                employee_id=inp.employee_id,
                starts_on=inp.starts_on,
                requested_by=inp.requested_by,
                length=inp.probation,
            ),
            id=workflow_id,
            result_type=ob.ProbationResult,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"Probation of {inp.employee_id} from {inp.starts_on}",
        )
        await workflow.wait_condition(lambda: handle.done() or self._withdrawal is not None)
        if not handle.done():
            handle.cancel()
            try:
                await handle
            except (asyncio.CancelledError, ChildWorkflowError):
                pass
            raise Withdrawn()
        result: ob.ProbationResult = handle.result()
        self._probation = self._probation.model_copy(update={"outcome": result.outcome})
        self._refresh_visibility()
        return result.outcome

    # ----- visibility --------------------------------------------------------------------------

    def _details(self) -> str:
        """The UI's current details: every task with its owner, due date and state (ids only)."""
        inp = self._inp
        facts = self._facts
        where = (
            f" · {facts.department_code} · {facts.class_code or '-'} · {facts.position_id or '-'}"
            if facts
            else ""
        )
        lines = [
            f"**Stage:** {self._stage}",
            f"**Employee:** {inp.employee_id} starts {inp.starts_on}{where}",
        ]
        for view in self._tasks.values():
            due = f"due {view.due_at:%Y-%m-%d}" if view.due_at else "not open yet"
            state = view.state
            if view.state == ob.COMPLETED:
                state = (
                    f"done by {view.completed_by} {view.completed_at:%Y-%m-%d}"
                    if view.completed_at
                    else state
                )
                state += " (late)" if view.late else ""
            if view.times_reopened:
                state += f", re-opened {view.times_reopened}x"
            owner = ", ".join(view.owner_ids)
            lines.append(f"- {view.task} ({view.owner}: {owner}): {due}; {state}")
        if self._probation is not None:
            lines.append(
                f"**Probation:** {self._probation.workflow_id} {self._probation.outcome or 'running'}"
            )
        return "\n".join(lines)
