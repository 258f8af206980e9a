"""A workflow that writes one audit row with the text it is given, for the test that data the
database can never store fails the activity for good (``activities.store.Unstorable``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.human_step import AuditInput


@workflow.defn(name="StoreOneAuditRow")
class StoreOneAuditRow:
    @workflow.run
    async def run(self, comment: str) -> int:
        info = workflow.info()
        return await workflow.execute_activity(
            "record_audit",
            AuditInput(
                key=f"{info.workflow_id}:{info.run_id}",
                workflow_id=info.workflow_id,
                step_id="store",
                actor_id="system",
                action="stored",
                comment=comment,
                at=workflow.now(),
            ),
            result_type=int,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1)),
        )
