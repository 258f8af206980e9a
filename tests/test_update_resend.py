"""An Update refused because the run's workflow task is failed is sent again, with the same id.

Under load a workflow task can run past its timeout (a step's records held up by the store, a
saturated worker); until the next attempt of the task starts, the server refuses every Update
with FAILED_PRECONDITION "Workflow Task in failed state". The signing client's outbound interceptor
(every client of the service: CLI, web application, demo) sends the same Update again after a
pause instead of showing that to the person; the id stays the same, so the server takes it once.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import OutboundInterceptor, StartWorkflowUpdateInput, WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode

import service.signing as signing

NOT_READY = "Unable to perform workflow execution update due to Workflow Task in failed state."


class _Server(OutboundInterceptor):
    """The next interceptor: refuses the first ``refusals`` sends with ``error``."""

    def __init__(self, refusals: int, error: RPCError) -> None:  # noqa: D107 (no next: it answers)
        self.refusals = refusals
        self.error = error
        self.sent: list[StartWorkflowUpdateInput] = []

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        self.sent.append(input)
        if len(self.sent) <= self.refusals:
            raise self.error
        return "accepted"


def _update() -> StartWorkflowUpdateInput:
    return StartWorkflowUpdateInput(
        id="jd-review-1821-x",
        run_id=None,
        first_execution_run_id=None,
        update_id=None,
        update="decide",
        args=[{"actor_id": "E1005", "decision": "approve", "step_id": "review-1"}],
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        headers={},
        ret_type=None,
        rpc_metadata={},
        rpc_timeout=None,
    )


@pytest.fixture(autouse=True)
def _short_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "NOT_READY_PAUSE", 0.01)
    monkeypatch.setattr(signing, "NOT_READY_PATIENCE", 0.05)


async def test_an_update_refused_while_the_task_is_failed_is_sent_again_with_the_same_id():
    server = _Server(2, RPCError(NOT_READY, RPCStatusCode.FAILED_PRECONDITION, b""))
    outbound = signing._Outbound(server, lambda actor: f"token-of-{actor}")
    assert await outbound.start_workflow_update(_update()) == "accepted"
    assert len(server.sent) == 3
    ids = {sent.update_id for sent in server.sent}
    assert len(ids) == 1 and None not in ids
    assert all(signing.HEADER in sent.headers for sent in server.sent)


async def test_it_gives_up_after_its_patience_and_other_refusals_are_not_sent_again():
    server = _Server(100, RPCError(NOT_READY, RPCStatusCode.FAILED_PRECONDITION, b""))
    with pytest.raises(RPCError, match="Workflow Task in failed state"):
        await signing._Outbound(server, lambda actor: None).start_workflow_update(_update())
    assert 2 <= len(server.sent) <= 7  # 0.05 s of patience in 0.01 s pauses

    for error in (
        RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b""),
        RPCError("some other precondition", RPCStatusCode.FAILED_PRECONDITION, b""),
    ):
        server = _Server(1, error)
        with pytest.raises(RPCError):
            await signing._Outbound(server, lambda actor: None).start_workflow_update(_update())
        assert len(server.sent) == 1
