"""The credential of an Update or signal, read and checked inside the workflow.

``CredentialInterceptor`` (installed on every worker and replayer, ``worker.WORKFLOW_INTERCEPTORS``)
takes the ``hr_credential`` header of each Update and signal and hands it to the handler
(``schemas.credentials.CALL``); the human step's one answer check (``HumanSteps._checked``) and
HR's commands (``_require_hr``) call ``call_credential``, which decides whether it is good:

- **Update validator** (never replayed): the signature, audience, expiry and workflow are checked
  now, with the public keys this worker holds (``activities.identity``). A token signed by a key
  of the identity provider the worker has not fetched yet is refused for now, and the worker
  fetches the provider's keys in a thread of its own (``ask_for_newer_keys``), never here.
- **Update handler**: the validator has checked the signature; the handler reads the claims
  (pure), so a replay takes the same answer whatever keys the worker holds by then.
  A token of the city's identity provider (OIDC) names the person in the claim the settings
  say (``HR_OIDC_PERSON_CLAIM``, by issuer: ``worker_person_claims``), read as the validator
  read it.
- **Signal** (handlers do run on replay): the interceptor checks the credential in a local
  activity (``verify_credential``) before the handler runs; its verdict is recorded in history
  and a replay reads it from there.

Handlers do all this only under ``workflow.patched("signed-answers")``: a run under way before
signed answers existed replays its history as recorded.

**Starts** (``execute_workflow``, under ``workflow.patched("signed-starts")``): before the process
does anything, an activity (``verify_start``) checks the start's credential (good, and the
person the input names as its starter) and that this person may start this process
(``workflows/rules/starts.py``: HR staff, or an employee for what they may start for
themself). Its verdict is recorded in history, so a replay decides the same whatever keys the
worker holds by then. A refused start fails the run (``StartRefused``, the reason) with nothing
done. Exempt, as started by the service itself: a child (its parent was checked), a run
continued as new (or retried) from a checked one, and a run started by a schedule.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from activities.identity import ask_for_newer_keys, worker_person_claims, worker_public_keys
    from schemas.credentials import (
        CALL,
        HEADER,
        NO_CREDENTIAL,
        SIGNED_ANSWERS,
        SIGNED_STARTS,
        START_REFUSED,
        CallCredential,
        Credential,
        CredentialCheck,
        CredentialRefused,
        CredentialVerdict,
        StartCheck,
        StartVerdict,
        read_claims,
        verify_token,
    )

from workflows.rules.starts import START_RULES, started_by_service_schedule, starter_of, subject_of

VERIFY_TIMEOUT = timedelta(seconds=10)
SERVICE_SCHEDULES_ONLY = "service-schedules-only"
"""``workflow.patched`` id: only the service's own schedules start a process unchecked."""
SCHEDULED_BY = "TemporalScheduledById"
"""The search attribute Temporal sets on a run a schedule started."""
KEYS_BEING_FETCHED = (
    "the credential is signed by a key of the identity provider this worker has not fetched yet;"
    " it is fetching the provider's keys now: send the answer again in a moment"
)


def header_token(headers: Any) -> str | None:
    """The credential in an ``hr_credential`` header (a JSON string), or None."""
    payload: Payload | None = headers.get(HEADER) if headers else None
    if payload is None:
        return None
    try:
        value = json.loads(payload.data) if payload.data else None
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 4096 else None


def _check(token: str | None) -> CredentialCheck:
    info = workflow.info()
    return CredentialCheck(
        token=token, audience=info.namespace, workflow_id=info.workflow_id, at=workflow.now()
    )


def call_credential() -> Credential | None:
    """The verified credential of the Update or signal being handled.

    Returns None for a run recorded before signed answers (handlers only; validators always
    check). Raises ``CredentialRefused`` with the reason when it is missing or not good.
    """
    call = CALL.get()
    if workflow.unsafe.is_read_only():  # an Update's validator: never replayed, checks the signature
        check = _check(call.token if call else None)
        try:
            return verify_token(
                check.token,
                worker_public_keys(),
                audience=check.audience,
                at=check.at,
                workflow_id=check.workflow_id,
            )
        except CredentialRefused:
            # A key of the identity provider this worker has not fetched: fetched in the
            # background (never here, in workflow code); the answer is refused for now.
            if ask_for_newer_keys(check.token):
                raise CredentialRefused(KEYS_BEING_FETCHED) from None
            raise
    if not workflow.patched(SIGNED_ANSWERS):
        return None
    if call is None or call.kind == "validator":
        raise CredentialRefused(NO_CREDENTIAL)
    if call.kind == "signal":
        verdict = call.verdict or CredentialVerdict(reason=NO_CREDENTIAL)
        if verdict.credential is None:
            raise CredentialRefused(verdict.reason or NO_CREDENTIAL)
        return verdict.credential
    # An Update's handler: its validator checked the signature.
    return read_claims(call.token, worker_person_claims())


def current_token_id() -> str | None:
    """The id of the credential the Update or signal being handled carried (for its audit row);
    read from the recorded header or verdict only, so the same on replay."""
    call = CALL.get()
    if call is None:
        return None
    if call.kind == "signal":
        return call.verdict.credential.token_id if call.verdict and call.verdict.credential else None
    try:
        return read_claims(call.token, worker_person_claims()).token_id
    except CredentialRefused:
        return None


def started_by_the_service() -> bool:
    """A run the service started itself: a child, a run continued as new (or retried) from
    another, or a run of one of the service's own schedules for the process it starts
    (``rules.starts.SERVICE_SCHEDULES``). Its start carries no person's credential. A run of any
    other schedule is checked like any start (patch ``SERVICE_SCHEDULES_ONLY``; before it, a run
    of any schedule was taken)."""
    info = workflow.info()
    if info.parent is not None or info.continued_run_id is not None:
        return True
    scheduled_by = next(
        (pair.value for pair in info.typed_search_attributes if pair.key.name == SCHEDULED_BY), None
    )
    if scheduled_by is None:
        return False
    if started_by_service_schedule(str(scheduled_by), info.workflow_type):
        return True
    return not workflow.patched(SERVICE_SCHEDULES_ONLY)


async def check_start(input: ExecuteWorkflowInput) -> None:
    """Refuses a start whose credential is missing or not good, is not the starter's, or whose
    starter may not start this process (see the module); the verdict is recorded in history."""
    info = workflow.info()
    # An activity, not a local one: it ends the first workflow task, so the process's own first
    # commands (and their patch markers) all fall in the next task, as they did before the check.
    verdict = await workflow.execute_activity(
        "verify_start",
        StartCheck(
            token=header_token(input.headers),
            audience=info.namespace,
            workflow_id=info.workflow_id,
            workflow_type=info.workflow_type,
            at=workflow.now(),
            starter=starter_of(info.workflow_type, input.args),
            subject=subject_of(input.args[0]) if input.args else {},
        ),
        result_type=StartVerdict,
        start_to_close_timeout=VERIFY_TIMEOUT,
        summary="check the start's credential",
    )
    if verdict.reason is not None:
        raise ApplicationError(f"start refused: {verdict.reason}", type=START_REFUSED, non_retryable=True)


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        checked = workflow.info().workflow_type in START_RULES  # the service's processes
        if checked and not started_by_the_service() and workflow.patched(SIGNED_STARTS):
            await check_start(input)
        return await self.next.execute_workflow(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        reset = CALL.set(CallCredential("validator", header_token(input.headers)))
        try:
            self.next.handle_update_validator(input)
        finally:
            CALL.reset(reset)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        CALL.set(CallCredential("update", header_token(input.headers)))  # this handler's task only
        return await self.next.handle_update_handler(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        token = header_token(input.headers)
        verdict: CredentialVerdict | None = None
        if token is not None and workflow.patched(SIGNED_ANSWERS):
            verdict = await workflow.execute_local_activity(
                "verify_credential",
                _check(token),
                result_type=CredentialVerdict,
                start_to_close_timeout=VERIFY_TIMEOUT,
            )
        CALL.set(CallCredential("signal", token, verdict))  # this handler's task only
        await self.next.handle_signal(input)


class CredentialInterceptor(Interceptor):
    """Hands each Update's and signal's credential to its handler (see the module)."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[_Inbound]:
        return _Inbound
