"""How a recruitment asks its eligibility register: Updates sent through the Temporal client.

A workflow cannot send an Update to another workflow, so these activities do it for the
recruitment. The register owns the ranking, the certifications and who is on the list; its
answer comes back as the activity's result. Each request carries an id (or, for ``certify``, is
one), so a retried activity gets the answer the first attempt got.

A refusal by the register, or a register that has closed, will not change on retry: it fails
the activity as non-retryable (``RegisterRefused``, ``RegisterClosed``) with the reason, and the
recruitment records it and shows it in its status. Anything else (the server unreachable) is
retried.
"""

from __future__ import annotations

from typing import Any, TypeVar

import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from schemas.eligibility_register import Certification, RegisterCall, RegisterEntry

T = TypeVar("T")


class RegisterActivities:
    """Asks a register workflow for its standing, a certification, a removal or a fill."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="register_standing")
    async def standing(self, call: RegisterCall) -> list[RegisterEntry]:
        return await self._ask(call, "standing", None, list[RegisterEntry])

    @activity.defn(name="register_certify")
    async def certify(self, call: RegisterCall) -> Certification:
        return await self._ask(call, "certify", call.certify, Certification)

    @activity.defn(name="register_remove")
    async def remove(self, call: RegisterCall) -> RegisterEntry:
        return await self._ask(call, "remove", call.remove, RegisterEntry)

    @activity.defn(name="register_fill")
    async def fill(self, call: RegisterCall) -> RegisterEntry:
        return await self._ask(call, "fill", call.fill, RegisterEntry)

    async def _ask(self, call: RegisterCall, update: str, arg: Any, result_type: type[T]) -> T:
        handle = self.client.get_workflow_handle(call.register_workflow_id)
        args = [] if arg is None else [arg]
        log = structlog.get_logger("hr.register").bind(register=call.register_workflow_id, update=update)
        try:
            return await handle.execute_update(update, args=args, result_type=result_type)
        except WorkflowUpdateFailedError as err:
            reason = getattr(err.cause, "message", None) or str(err.cause)
            log.warning("register refused")
            raise ApplicationError(reason, type="RegisterRefused", non_retryable=True) from None
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            log.warning("register closed")
            raise ApplicationError(
                f"the register {call.register_workflow_id} has closed",
                type="RegisterClosed",
                non_retryable=True,
            ) from None
